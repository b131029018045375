"""합포 combined shipments (seed 002: 합포추가 / 합포제외 / 합포금지 / 합포삭제).

Orders to the same recipient (name, address and phone) that are received, not held, not
cancelled and not locked out (합포금지) are *proposed* for combining. A combined group is
identified by the id of its first order (``Order.combine_group``, the group's lead) and ships
with ONE tracking number: ``engine.orders`` invoices, ships, un-ships and deletes the invoice
of every member together (see ``members``), and the unique index on (courier, tracking_no)
only holds the lead and orders shipped alone.
"""
from __future__ import annotations

import re

from peewee import fn

from engine.errors import StateError, ValidationError
from engine.models import Channel, Order
from engine.order_core import (
    CANCELLED, RECEIVED, STATE_LABELS, Context, Operation, change_other, get,
)
from engine.schema import Field
from engine.text import N_

IDS = re.compile(r"\d+")
MAX_WITH = 50


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def not_combinable(o: Order) -> str | None:
    """Why ``o`` cannot join a combined shipment now, or None."""
    if o.deleted:
        return N_("Order %(id)s was deleted.")
    if o.combine_forbidden:
        return N_("Order %(id)s must not be combined (combining is forbidden for it).")
    if o.state != RECEIVED:
        return N_("Order %(id)s is not received any more (it is %(state)s).")
    if o.hold:
        return N_("Order %(id)s is on hold.")
    if o.cs_state == CANCELLED:
        return N_("Order %(id)s is cancelled.")
    return None


def members(order: Order) -> list[Order]:
    """Every order of ``order``'s group, lead first (just ``[order]`` when alone)."""
    if not order.combine_group:
        return [order]
    found = list(Order.select().where(Order.combine_group == order.combine_group)
                 .order_by(Order.id))
    return [order if m.id == order.id else m for m in found] or [order]


def others(order: Order) -> list[Order]:
    return [m for m in members(order) if m.id != order.id]


def _same_recipient(query, order: Order, with_phone: bool):
    query = query.where(
        (fn.REPLACE(Order.recipient_name, " ", "") == _squeeze(order.recipient_name).replace(" ", ""))
        & (fn.REPLACE(Order.address, " ", "") == _squeeze(order.address)))
    if with_phone:
        query = query.where((Order.recipient_mobile == order.recipient_mobile)
                            & (Order.recipient_phone == order.recipient_phone))
    return query


def proposals(order: Order, limit: int = MAX_WITH) -> list[Order]:
    """Orders that could ship together with ``order`` (same name, address and phone), not yet
    in its group; empty when ``order`` itself cannot be combined."""
    if not_combinable(order):
        return []
    query = (Order.select(Order, Channel).join(Channel)
             .where((Order.id != order.id) & (Order.state == RECEIVED)
                    & (Order.hold == False) & (Order.combine_forbidden == False)  # noqa: E712
                    & (Order.deleted == False) & (Order.cs_state != CANCELLED)))  # noqa: E712
    if order.combine_group:
        query = query.where(Order.combine_group.is_null()
                            | (Order.combine_group != order.combine_group))
    return list(_same_recipient(query, order, with_phone=True).order_by(Order.id).limit(limit))


def _refuse(template: str, o: Order, field_name: str = "with"):
    raise ValidationError(template, field_name, id=o.id, state=STATE_LABELS[o.state])


def _check_combine(o: Order):
    reason = not_combinable(o)
    if reason:
        return reason


def _check_uncombine(o: Order):
    if not o.combine_group:
        return N_("The order is not combined with other orders.")
    if o.state != RECEIVED:
        return N_("Only a received order can leave its combined shipment (this one is "
                  "%(state)s); delete the invoice first.")


def _check_forbid(o: Order):
    if o.combine_forbidden:
        return N_("Combining is already forbidden for this order.")
    if o.combine_group:
        return N_("The order is combined; take it out of its group first.")


def _check_allow(o: Order):
    if not o.combine_forbidden:
        return N_("Combining is not forbidden for this order.")


def _set_group(group: int | None):
    def change(o: Order) -> None:
        o.combine_group = group
    return change


def _apply_combine(o: Order, v: dict, ctx: Context) -> str:
    ids = []
    for found in IDS.findall(str(v.get("with") or "")):
        if int(found) not in ids and int(found) != o.id:
            ids.append(int(found))
    if not ids:
        raise ValidationError(N_("Enter the number (No.) of another order."), "with")
    if len(ids) > MAX_WITH:
        raise ValidationError(N_("At most %(n)d orders can be combined at once."), "with",
                              n=MAX_WITH)
    joining = []
    for order_id in ids:
        other = Order.get_or_none(Order.id == order_id) if order_id < 2**31 else None
        if other is None:
            raise ValidationError(N_("Order %(id)s does not exist."), "with", id=order_id)
        reason = not_combinable(other)
        if reason:
            _refuse(reason, other)
        if (_squeeze(other.recipient_name) != _squeeze(o.recipient_name)
                or _squeeze(other.address) != _squeeze(o.address)):
            _refuse(N_("Order %(id)s ships to another recipient or address; change its "
                       "shipping info first."), other)
        joining.append(other)
    group = {m.id: m for m in members(o)}
    before = set(group)
    for other in joining:
        for m in members(other):
            group.setdefault(m.id, m)
    if set(group) == before:
        raise ValidationError(N_("These orders are already combined with this one."), "with")
    lead = min(group)
    for m in group.values():
        if m.id != o.id and m.combine_group != lead:
            change_other(m, ctx, "combine", "[합포추가 : %s]" % o.id, v.get("cs_text"),
                         _set_group(lead))
    o.combine_group = lead
    return "[합포추가 : %s]" % ", ".join(str(i) for i in sorted(group) if i != o.id)


def _apply_uncombine(o: Order, v: dict, ctx: Context) -> str:
    rest = others(o)
    new_lead = min(m.id for m in rest) if len(rest) > 1 else None
    for m in rest:
        if m.combine_group != new_lead:
            change_other(m, ctx, "uncombine", "[합포제외 : %s]" % o.id, v.get("cs_text"),
                         _set_group(new_lead))
    group = o.combine_group
    o.combine_group = None
    return "[합포제외 : 그룹 %s]" % group


def dissolve(o: Order, ctx: Context, operation: str, cs_text: str) -> str:
    """합포삭제: every member ships alone again; returns the detail for ``o``'s line."""
    group = o.combine_group
    for m in others(o):
        change_other(m, ctx, operation, "[합포삭제 : 그룹 %s]" % group, cs_text,
                     _set_group(None))
    o.combine_group = None
    return "[합포삭제 : 그룹 %s]" % group


def leave_group(o: Order, ctx: Context, operation: str, cs_text: str) -> str:
    """Take ``o`` out of its group (a cancelled or restored order ships on its own)."""
    if not o.combine_group:
        return ""
    return " " + _apply_uncombine(o, {"cs_text": cs_text}, ctx)


def _apply_delete_combine(o: Order, v: dict, ctx: Context) -> str:
    return dissolve(o, ctx, "delete_combine", v.get("cs_text"))


def _apply_forbid(o: Order, v: dict, ctx: Context) -> str:
    o.combine_forbidden = True
    return "[합포금지]"


def _apply_allow(o: Order, v: dict, ctx: Context) -> str:
    o.combine_forbidden = False
    return "[합포금지 해제]"


def check_group(o: Order, state: str, hold: bool = True, cancelled: bool = True) -> None:
    """Refuse a group action (invoice, ship…) when another member is not in ``state``, is
    held (``hold``) or cancelled (``cancelled``): the group ships as one parcel."""
    for m in others(o):
        if m.state != state:
            message = N_("Order %(id)s of the combined shipment is %(state)s, unlike this one.")
        elif hold and m.hold:
            message = N_("Order %(id)s of the combined shipment is on hold; release it first.")
        elif cancelled and m.cs_state == CANCELLED:
            message = N_("Order %(id)s of the combined shipment is cancelled; take it out of "
                         "the group first.")
        else:
            continue
        raise StateError(message, id=m.id, state=STATE_LABELS[m.state])


OPERATIONS = [
    Operation("combine", N_("Combine"), [
        Field("with", N_("Combine with order No."), required=True, max_length=400,
              placeholder=N_("e.g. 101204 or 101204, 101205")),
    ], _check_combine, _apply_combine, group="combine"),
    Operation("uncombine", N_("Leave combined shipment"), [], _check_uncombine,
              _apply_uncombine, group="combine"),
    Operation("delete_combine", N_("Dissolve combined shipment"), [], _check_uncombine,
              _apply_delete_combine, danger=True, group="combine"),
    Operation("forbid_combine", N_("Forbid combining"), [], _check_forbid,
              _apply_forbid, group="combine"),
    Operation("allow_combine", N_("Allow combining"), [], _check_allow, _apply_allow,
              group="combine"),
]


def auto_combine(order: Order, ctx: Context | None = None) -> list[int]:
    """Combine a freshly imported order with its proposals when its channel says so.

    Called by the import for each new order; returns the ids it was combined with (empty
    when the channel does not combine automatically or nothing matches).
    """
    from engine import orders  # the registry imports this module
    from engine.models import utcnow

    order = get(order.id)
    if not order.channel.auto_combine:
        return []
    found = proposals(order)
    if not found:
        return []
    ctx = ctx or Context(None, utcnow())
    orders.perform("combine", order.id,
                   {"with": ",".join(str(o.id) for o in found), "cs_text": "[자동합포]"}, ctx)
    return [o.id for o in found]
