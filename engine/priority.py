"""Print priority (seed 002: 우선순위 설정): bigger numbers print first.

The received orders that have a priority form one ranking; placing an order ("top",
"bottom" — still before every unprioritised order — or "after #N") inserts it into that
ranking and renumbers it from len(ranking) down to 1, so the numbers stay small and dense.
The other orders' numbers are written directly (``priority`` is not among the columns an
operation saves, so a stale save elsewhere never overwrites a new ranking). Only orders that
share a product with the order are offered for "after" (seed: 동일 상품의 주문에 대해서만
우선순위를 보여줍니다), and only those are accepted.
"""
from __future__ import annotations

from peewee import JOIN

from engine.errors import ValidationError
from engine.models import Channel, Order, OrderLine, User
from engine.order_core import CANCELLED, RECEIVED, Context, Operation
from engine.schema import Field
from engine.text import N_

TOP, BOTTOM, AFTER, NONE = "top", "bottom", "after", "none"
POSITIONS = [(TOP, N_("Top (prints first)")),
             (BOTTOM, N_("Bottom (still before orders without priority)")),
             (AFTER, N_("Right after order No.")),
             (NONE, N_("No priority"))]


def _waiting():
    """Received orders still to print."""
    return ((Order.state == RECEIVED) & (Order.deleted == False)  # noqa: E712
            & (Order.cs_state != CANCELLED))


def ranking(exclude: int | None = None) -> list[int]:
    """Ids of the prioritised received orders, first to print first."""
    query = Order.select(Order.id).where(_waiting() & (Order.priority > 0))
    if exclude:
        query = query.where(Order.id != exclude)
    return [o.id for o in query.order_by(Order.priority.desc(), Order.id)]


def _products(order_id: int) -> set:
    """What identifies the order's products: option ids, or product codes of lines whose
    option is gone."""
    keys = set()
    for line in OrderLine.select(OrderLine.option, OrderLine.product_code).where(
            OrderLine.order == order_id):
        keys.add(("o", line.option_id) if line.option_id else ("c", line.product_code))
    return keys


def _sharing(order: Order):
    keys = _products(order.id)
    options = [k for kind, k in keys if kind == "o"]
    codes = [k for kind, k in keys if kind == "c"]
    clause = None
    if options:
        clause = OrderLine.option.in_(options)
    if codes:
        more = OrderLine.product_code.in_(codes)
        clause = more if clause is None else clause | more
    if clause is None:
        return None
    return OrderLine.select(OrderLine.order).where(clause)


def peers(order: Order, limit: int = 50) -> list[Order]:
    """Received orders with one of ``order``'s products: prioritised first, in print order."""
    sharing = _sharing(order)
    if sharing is None:
        return []
    setter = User.alias()
    return list(Order.select(Order, Channel, setter).join(Channel).switch(Order)
                .join(setter, on=(Order.priority_set_by == setter.id), join_type=JOIN.LEFT_OUTER)
                .where(_waiting() & (Order.id != order.id) & Order.id.in_(sharing))
                .order_by(Order.priority.desc(), Order.received_at, Order.id)
                .limit(limit))


def _check(o: Order):
    if o.state != RECEIVED:
        return N_("Only a received order can get a print priority (this one is %(state)s).")
    if o.cs_state == CANCELLED:
        return N_("The order is cancelled.")


def _apply(o: Order, v: dict, ctx: Context) -> str:
    position = v["position"]
    ranked = ranking(exclude=o.id)
    if position == AFTER:
        after = v.get("after")
        if not after:
            raise ValidationError(N_("Enter the order No. to place it after."), "after")
        if after == o.id or after not in ranked:
            raise ValidationError(N_("Order %(id)s has no print priority to place this order "
                                     "after."), "after", id=after)
        sharing = _sharing(o)
        if sharing is None or not Order.select().where(
                (Order.id == after) & Order.id.in_(sharing)).exists():
            raise ValidationError(N_("Order %(id)s has none of this order's products."),
                                  "after", id=after)
        ranked.insert(ranked.index(after) + 1, o.id)
    elif position == TOP:
        ranked.insert(0, o.id)
    elif position == BOTTOM:
        ranked.append(o.id)
    numbers = {order_id: len(ranked) - index for index, order_id in enumerate(ranked)}
    numbers.setdefault(o.id, 0)
    current = dict(Order.select(Order.id, Order.priority)
                   .where(Order.id.in_(list(numbers))).tuples())
    for order_id, number in numbers.items():
        if current.get(order_id) != number:
            Order.update(priority=number).where(Order.id == order_id).execute()
    o.priority = numbers[o.id]
    if position == NONE:
        o.priority_set_at = o.priority_set_by = None
        return "[우선순위 해제]"
    o.priority_set_at, o.priority_set_by = ctx.now, ctx.actor
    where = {TOP: "최상", BOTTOM: "최하"}.get(position) or "%s 다음" % v.get("after")
    return "[우선순위 : %s (%d)]" % (where, o.priority)


OPERATIONS = [
    Operation("set_priority", N_("Set print priority"), [
        Field("position", N_("Position"), kind="choice", required=True,
              choices=lambda: POSITIONS),
        Field("after", N_("After order No."), kind="ref", max=2**31 - 1),
    ], _check, _apply, group="order"),
]


def order_by_priority():
    """The console's "print priority" sort: prioritised first, biggest first, then oldest."""
    return [Order.priority.desc(), Order.received_at, Order.id]
