"""Sales channels (판매처) and their groups (판매처 그룹).

Seed 002: search by group / 사용여부 (active) / name, add and edit channels, manage groups.
A channel is never deleted here (orders point at it); it is deactivated instead, which takes it
out of the new-order form. A group is deleted only when no channel is in it.
"""
from __future__ import annotations

from peewee import IntegrityError, JOIN, fn

from engine.catalog import as_id, require_settings
from engine.errors import NotFound, StateError, ValidationError
from engine.models import Channel, ChannelGroup, Order, db
from engine.schema import Field, parse
from engine.text import N_

NO_GROUP = "none"


def _group_choices():
    return [(str(g.id), g.name) for g in ChannelGroup.select().order_by(ChannelGroup.name)]


def _group_filter_choices():
    return _group_choices() + [(NO_GROUP, N_("(no group)"))]


def _active_choices():
    return [("1", N_("In use")), ("0", N_("Not in use"))]


GROUP_FIELDS = [
    Field("name", N_("Group name"), required=True, max_length=100),
]

CHANNEL_FIELDS = [
    Field("name", N_("Channel name"), required=True, max_length=100),
    Field("group", N_("Channel group"), kind="choice", choices=_group_choices),
    Field("active", N_("In use"), kind="bool"),
    Field("auto_combine", N_("Combine imported orders for one recipient automatically (합포)"),
          kind="bool"),
]

SEARCH_FIELDS = [
    Field("group", N_("Channel group"), kind="choice", choices=_group_filter_choices),
    Field("active", N_("In use"), kind="choice", choices=_active_choices),
    Field("q", N_("Channel name"), max_length=100),
]


# --- reading --------------------------------------------------------------------------------

def parse_search(raw: dict) -> dict:
    """Parse the list filters; empty values mean "any"."""
    return parse(SEARCH_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")})


def search(filters: dict):
    """Channels matching parsed ``filters``, by group then name, each with its order count."""
    orders = (Order.select(fn.COUNT(Order.id)).where(Order.channel == Channel.id))
    query = (Channel.select(Channel, ChannelGroup, orders.alias("order_count"))
             .join(ChannelGroup, JOIN.LEFT_OUTER)
             .order_by(ChannelGroup.id.is_null(), ChannelGroup.name, Channel.name))
    group = filters.get("group")
    if group == NO_GROUP:
        query = query.where(Channel.group.is_null())
    elif group:
        query = query.where(Channel.group == int(group))
    if filters.get("active"):
        query = query.where(Channel.active == (filters["active"] == "1"))
    for word in (filters.get("q") or "").split():
        query = query.where(Channel.name ** f"%{word}%")
    return query


def groups():
    """Every group with the number of channels in it, by name."""
    count = fn.COUNT(Channel.id)
    return (ChannelGroup.select(ChannelGroup, count.alias("channel_count"))
            .join(Channel, JOIN.LEFT_OUTER).group_by(ChannelGroup.id)
            .order_by(ChannelGroup.name))


def get(channel_id) -> Channel:
    channel = Channel.get_or_none(Channel.id == as_id(channel_id))
    if channel is None:
        raise NotFound(N_("Channel %(id)s does not exist."), id=channel_id)
    return channel


def get_group(group_id) -> ChannelGroup:
    group = ChannelGroup.get_or_none(ChannelGroup.id == as_id(group_id))
    if group is None:
        raise NotFound(N_("Channel group %(id)s does not exist."), id=group_id)
    return group


# --- channels -------------------------------------------------------------------------------

def _channel_values(raw: dict) -> dict:
    values = parse(CHANNEL_FIELDS, raw)
    values["group"] = int(values["group"]) if values["group"] else None
    return values


def _check_channel_name(name: str, channel_id: int | None = None) -> None:
    query = Channel.select().where(fn.LOWER(Channel.name) == name.lower())
    if channel_id is not None:
        query = query.where(Channel.id != channel_id)
    if query.exists():
        raise ValidationError(N_("A channel named %(name)s already exists."), "name", name=name)


def create_channel(actor, raw: dict) -> Channel:
    require_settings(actor)
    values = _channel_values(raw)
    try:
        with db.atomic():
            _check_channel_name(values["name"])
            return Channel.create(**values)
    except IntegrityError:
        raise ValidationError(N_("A channel named %(name)s already exists."), "name",
                              name=values["name"])


def update_channel(actor, channel_id, raw: dict) -> Channel:
    """Rename, regroup or (de)activate a channel; its orders follow it."""
    require_settings(actor)
    values = _channel_values(raw)
    try:
        with db.atomic():
            channel = get(channel_id)
            _check_channel_name(values["name"], channel.id)
            for name, value in values.items():
                setattr(channel, name, value)
            channel.save()
            return channel
    except IntegrityError:
        raise ValidationError(N_("A channel named %(name)s already exists."), "name",
                              name=values["name"])


# --- groups ---------------------------------------------------------------------------------

def _check_group_name(name: str, group_id: int | None = None) -> None:
    query = ChannelGroup.select().where(fn.LOWER(ChannelGroup.name) == name.lower())
    if group_id is not None:
        query = query.where(ChannelGroup.id != group_id)
    if query.exists():
        raise ValidationError(N_("A group named %(name)s already exists."), "name", name=name)


def create_group(actor, raw: dict) -> ChannelGroup:
    require_settings(actor)
    values = parse(GROUP_FIELDS, raw)
    try:
        with db.atomic():
            _check_group_name(values["name"])
            return ChannelGroup.create(**values)
    except IntegrityError:
        raise ValidationError(N_("A group named %(name)s already exists."), "name",
                              name=values["name"])


def rename_group(actor, group_id, raw: dict) -> ChannelGroup:
    require_settings(actor)
    values = parse(GROUP_FIELDS, raw)
    try:
        with db.atomic():
            group = get_group(group_id)
            _check_group_name(values["name"], group.id)
            group.name = values["name"]
            group.save()
            return group
    except IntegrityError:
        raise ValidationError(N_("A group named %(name)s already exists."), "name",
                              name=values["name"])


def delete_group(actor, group_id) -> str:
    """Delete an empty group; return its name. A group with channels is refused."""
    require_settings(actor)
    with db.atomic():
        group = get_group(group_id)
        count = Channel.select().where(Channel.group == group.id).count()
        if count:
            raise StateError(N_("The group %(name)s still has %(n)d channels; move them to "
                                "another group first."), name=group.name, n=count)
        group.delete_instance()
        return group.name
