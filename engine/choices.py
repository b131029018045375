"""The configurable lists the order dialogs use: handling statuses, couriers, cancel reasons,
payment statuses and payment methods.

One generic implementation, parametrised by a ``ChoiceList`` (model + field schema), so the
three lists add, rename, recolour, reorder and deactivate the same way. Names are unique per
list; orders keep the courier / cancel reason *name* they were given (a snapshot), while a
handling status is referenced, so renaming it shows everywhere at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from peewee import ForeignKeyField, IntegrityError, fn

from engine.catalog import as_id, require_settings
from engine.errors import NotFound, ValidationError
from engine.models import (
    CancelReason, Courier, HandlingStatus, Order, PaymentMethod, PaymentStatus, db,
)
from engine.schema import Field, parse
from engine.text import N_

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#6b7280"

NAME = Field("name", N_("Name"), required=True, max_length=60)
ACTIVE = Field("active", N_("Active"), kind="bool")
COLOR_FIELD = Field("color", N_("Colour"), required=True, max_length=7, placeholder="#2563eb")


@dataclass(frozen=True)
class ChoiceList:
    key: str            # URL and API name
    model: type
    label: str          # the list, e.g. "Handling statuses"
    item_label: str     # one entry, e.g. "Handling status"
    fields: tuple       # the Field schema of one entry
    order_field: str    # the Order column that holds an entry (a reference or a name)
    help: str = ""

    @property
    def has_color(self) -> bool:
        return any(f.name == "color" for f in self.fields)


LISTS: dict[str, ChoiceList] = {c.key: c for c in [
    ChoiceList("statuses", HandlingStatus, N_("Handling statuses"), N_("Handling status"),
               (NAME, COLOR_FIELD, ACTIVE), "handling_status",
               N_("Your own handling statuses, shown beside the fulfilment state. Renaming one "
                  "renames it on every order that has it.")),
    ChoiceList("couriers", Courier, N_("Couriers"), N_("Courier"), (NAME, ACTIVE), "courier",
               N_("The couriers offered when an invoice is entered. Orders keep the courier "
                  "name they were invoiced with.")),
    ChoiceList("cancel_reasons", CancelReason, N_("Cancel reasons"), N_("Cancel reason"),
               (NAME, ACTIVE), "cancel_reason",
               N_("The reasons offered when an order is cancelled. Cancelled orders keep the "
                  "reason they were given.")),
    ChoiceList("payment_statuses", PaymentStatus, N_("Payment statuses"), N_("Payment status"),
               (NAME, ACTIVE), "payment_status",
               N_("The payment statuses (決済状況) a gateway or a person can set; rules can "
                  "react when an order's payment status becomes one of them.")),
    ChoiceList("payment_methods", PaymentMethod, N_("Payment methods"), N_("Payment method"),
               (NAME, ACTIVE), "payment_method",
               N_("The payment methods an order can have (e.g. 代金引換 for cash on delivery).")),
]}


def get_list(key: str) -> ChoiceList:
    choice_list = LISTS.get(key)
    if choice_list is None:
        raise NotFound(N_("Unknown list %(key)s."), key=key)
    return choice_list


def items(key: str) -> list:
    """Every entry of the list, active or not, in display order."""
    return list(get_list(key).model.ordered())


def usage(key: str) -> dict[int, int]:
    """{entry id: number of orders that carry it} for every entry of the list."""
    choice_list = get_list(key)
    column = getattr(Order, choice_list.order_field)
    counts = dict(Order.select(column, fn.COUNT(Order.id)).where(column.is_null(False))
                  .group_by(column).tuples())
    if isinstance(column, ForeignKeyField):
        return {entry.id: counts.get(entry.id, 0) for entry in choice_list.model.select()}
    return {entry.id: counts.get(entry.name, 0) for entry in choice_list.model.select()}


def get_item(key: str, item_id):
    choice_list = get_list(key)
    item = choice_list.model.get_or_none(choice_list.model.id == as_id(item_id))
    if item is None:
        raise NotFound(N_("%(what)s %(id)s does not exist."), what=choice_list.item_label,
                       id=item_id)
    return item


def _values(choice_list: ChoiceList, raw: dict) -> dict:
    values = parse(list(choice_list.fields), raw)
    if choice_list.has_color:
        if not COLOR.match(values["color"]):
            raise ValidationError(N_("The colour must look like #2563eb (# and six hex digits)."),
                                  "color")
        values["color"] = values["color"].lower()
    return values


def _check_unique(choice_list: ChoiceList, name: str, item_id: int | None = None) -> None:
    model = choice_list.model
    query = model.select().where(fn.LOWER(model.name) == name.lower())
    if item_id is not None:
        query = query.where(model.id != item_id)
    if query.exists():
        raise ValidationError(N_("%(name)s is already in the list."), "name", name=name)


def _save(choice_list: ChoiceList, work):
    """Run ``work`` in one transaction; a unique clash from a concurrent save is a field error."""
    try:
        with db.atomic():
            return work()
    except IntegrityError:
        raise ValidationError(N_("This name is already in the list."), "name")


def add(actor, key: str, raw: dict):
    """Add an entry at the end of the list; new entries are active unless told otherwise."""
    require_settings(actor)
    choice_list = get_list(key)
    raw = dict(raw)
    raw.setdefault("active", True)
    if choice_list.has_color and not raw.get("color"):
        raw["color"] = DEFAULT_COLOR
    values = _values(choice_list, raw)
    model = choice_list.model

    def work():
        _check_unique(choice_list, values["name"])
        last = model.select(fn.MAX(model.sort_order)).scalar()
        return model.create(sort_order=(last if last is not None else -1) + 1, **values)
    return _save(choice_list, work)


def update(actor, key: str, item_id, raw: dict):
    """Rename, recolour, (de)activate one entry."""
    require_settings(actor)
    choice_list = get_list(key)
    values = _values(choice_list, raw)

    def work():
        item = get_item(key, item_id)
        _check_unique(choice_list, values["name"], item.id)
        for name, value in values.items():
            setattr(item, name, value)
        item.save()
        return item
    return _save(choice_list, work)


def set_active(actor, key: str, item_id, active: bool):
    require_settings(actor)
    choice_list = get_list(key)
    with db.atomic():
        item = get_item(key, item_id)
        choice_list.model.update(active=bool(active)).where(
            choice_list.model.id == item.id).execute()
        item.active = bool(active)
    return item


def move(actor, key: str, item_id, direction: str):
    """Move one entry up or down; the list is renumbered 0, 1, 2… on the way."""
    require_settings(actor)
    if direction not in ("up", "down"):
        raise ValidationError(N_("Move up or down."), "direction")
    choice_list = get_list(key)
    model = choice_list.model
    with db.atomic():
        item = get_item(key, item_id)
        ordered = [entry.id for entry in model.ordered()]
        at = ordered.index(item.id)
        to = at - 1 if direction == "up" else at + 1
        if 0 <= to < len(ordered):
            ordered[at], ordered[to] = ordered[to], ordered[at]
        for position, entry_id in enumerate(ordered):
            model.update(sort_order=position).where(
                (model.id == entry_id) & (model.sort_order != position)).execute()
    return get_item(key, item_id)
