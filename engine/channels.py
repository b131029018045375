"""Sales channels (판매처) and their groups (판매처 그룹).

Seed 002: search by group / 사용여부 (active) / name, add and edit channels, manage groups.
A channel is never deleted here (orders point at it); it is deactivated instead, which takes it
out of the new-order form. A group is deleted only when no channel is in it.
"""
from __future__ import annotations

from peewee import IntegrityError, JOIN, fn

from engine.catalog import as_id, require_settings
from engine.errors import EngineError, NotFound, StateError, ValidationError
from engine.models import Channel, ChannelGroup, Order, db
from engine.schema import Field, parse
from engine.text import N_

NO_GROUP = "none"


def _group_choices():
    return [(str(g.id), g.name) for g in ChannelGroup.select().order_by(ChannelGroup.name)]


def _group_filter_choices():
    return _group_choices() + [(NO_GROUP, N_("(no group)"))]


def _connector_choices():
    from engine import connectors
    return connectors.type_choices()


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
    Field("connector", N_("Marketplace connector"), kind="choice", choices=_connector_choices),
]
SETTING, SECRET = "setting_", "secret_"

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

def _channel_values(raw: dict, channel: Channel | None = None) -> dict:
    """The channel's columns from the form or API; the connector's only when it is sent."""
    fields = CHANNEL_FIELDS if "connector" in raw else \
        [f for f in CHANNEL_FIELDS if f.name != "connector"]
    errors = {}
    try:
        values = parse(fields, raw)
    except ValidationError as exc:
        errors.update(exc.errors)
        values = {}
    if "connector" in raw and "connector" not in errors:
        try:
            values.update(connector_values(values.get("connector") or None, raw, channel))
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        first_name, first = next(iter(errors.items()))
        raise ValidationError(first.message, first_name, errors=errors, **first.params)
    values["group"] = int(values["group"]) if values["group"] else None
    return values


def connector_type(name: str | None):
    from engine import connectors
    return connectors.TYPES.get(name) if name else None


def connector_values(type_name: str | None, raw: dict, channel: Channel | None) -> dict:
    """A connector's columns, validated by its one schema: ``setting_<name>`` fields are
    plain, ``secret_<name>`` fields are encrypted; an empty secret keeps the stored one (the
    form never shows it back), unless the connector type changed."""
    from engine import credentials

    cls = connector_type(type_name)
    if cls is None:   # no connector: settings and secrets go with it
        return {"connector": None, "connector_settings": {}, "credentials": ""}
    same_type = channel is not None and channel.connector == type_name
    stored = credentials.decrypt(channel.credentials or "") if same_type else {}
    errors, settings, secrets = {}, {}, {}
    try:
        settings = parse(cls.setting_fields, {f.name: raw.get(SETTING + f.name)
                                              for f in cls.setting_fields})
    except ValidationError as exc:
        errors.update({SETTING + name: err for name, err in exc.errors.items()})
    submitted = {}
    for f in cls.credential_fields:
        value = raw.get(SECRET + f.name)
        blank = value is None or (isinstance(value, str) and not value.strip())
        submitted[f.name] = stored.get(f.name) if blank else value
    try:
        secrets = parse(cls.credential_fields, submitted)
    except ValidationError as exc:
        errors.update({SECRET + name: err for name, err in exc.errors.items()})
    if errors:
        first_name, first = next(iter(errors.items()))
        raise ValidationError(first.message, first_name, errors=errors, **first.params)
    return {"connector": type_name,
            "connector_settings": {k: v for k, v in settings.items() if v not in (None, "")},
            "credentials": credentials.encrypt(secrets)}


def connector_form_values(channel: Channel | None) -> dict:
    """What the form shows of a channel's connector: its type and settings, every secret
    field empty with a mask of the stored value beside it."""
    from engine import credentials

    values = {"connector": (channel.connector or "") if channel else "", "masked": {}}
    cls = connector_type(channel.connector if channel else None)
    if cls is None:
        return values
    settings = channel.connector_settings or {}
    for f in cls.setting_fields:
        values[SETTING + f.name] = settings.get(f.name, "")
    try:
        stored = credentials.decrypt(channel.credentials or "")
    except EngineError:
        stored = {}
    for f in cls.credential_fields:
        values[SECRET + f.name] = ""
        values["masked"][f.name] = credentials.mask(stored.get(f.name))
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
    values = _channel_values(raw, get(channel_id))
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
