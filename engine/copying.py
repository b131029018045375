"""Copying orders (seed 002: 주문복사, 주문전체복사).

주문복사 makes a new order for the same buyer and recipient with one (other) product — a
re-shipment, so its price is 0 unless one is given, as in the seed's dialog. 주문전체복사
copies the whole order as it was ordered (every line, price and shipping fee), optionally
into another channel. Both write a history line on the old and on the new order, and
``perform`` returns the NEW order (``Operation.returns_new``).
"""
from __future__ import annotations

from engine import events, history
from engine.models import Order, OrderLine
from engine.order_core import Context, Operation, channel_choices, generate_order_no, option_for
from engine.schema import Field
from engine.text import N_

COPIED_FIELDS = ("buyer_name", "buyer_phone", "buyer_mobile", "buyer_email", "recipient_name",
                 "recipient_phone", "recipient_mobile", "zip_code", "address", "ship_memo")


def _check_copy(o: Order):
    return None


def _new_order(o: Order, channel_id: int, ctx: Context, **extra) -> Order:
    values = {name: getattr(o, name) for name in COPIED_FIELDS}
    values.update(extra)
    return Order.create(channel=channel_id, order_no=generate_order_no(channel_id, ctx),
                        received_at=ctx.now, created_at=ctx.now, updated_at=ctx.now,
                        updated_by=ctx.actor, **values)


def _finish(o: Order, new: Order, tag: str, ctx: Context, cs_text: str) -> str:
    history.record(new, "copy" if tag == "주문복사" else "copy_all", ctx.actor, ctx.now,
                   "[%s] <이전 주문 관리번호 : %s>" % (tag, o.id), cs_text)
    events.raise_event(events.Event("order", new.id, events.CREATED, ctx.now,
                                    ctx.actor.id if ctx.actor else None, key="v1"))
    ctx.result_id = new.id
    return "[%s] <새 주문 관리번호 : %s>" % (tag, new.id)


def _apply_copy(o: Order, v: dict, ctx: Context) -> str:
    first = (OrderLine.select().where(OrderLine.order == o.id).order_by(OrderLine.id).first())
    option_id = v.get("option_id") or (first.option_id if first else None)
    option = option_for(option_id)
    quantity = v.get("quantity") or (first.quantity if first else 1)
    new = _new_order(o, o.channel_id, ctx)
    OrderLine.create(order=new, option=option, product_code=option.product.code,
                     product_name=option.product.name, option_code=option.code,
                     option_name=option.name, quantity=quantity,
                     unit_price=v["price"] if v.get("price") is not None else 0)
    return _finish(o, new, "주문복사", ctx, v.get("cs_text"))


def _apply_copy_all(o: Order, v: dict, ctx: Context) -> str:
    channel_id = int(v["channel"]) if v.get("channel") else o.channel_id  # an active one
    new = _new_order(o, channel_id, ctx, shipping_fee=o.shipping_fee,
                     payment_method=o.payment_method)
    for line in OrderLine.select().where(OrderLine.order == o.id).order_by(OrderLine.id):
        OrderLine.create(order=new, option=line.option_id, product_code=line.product_code,
                         product_name=line.product_name, option_code=line.option_code,
                         option_name=line.option_name, quantity=line.quantity,
                         unit_price=line.unit_price)
    return _finish(o, new, "주문전체복사", ctx, v.get("cs_text"))


OPERATIONS = [
    Operation("copy", N_("Copy with another product"), [
        Field("option_id", N_("Product"), kind="ref", max=2**31 - 1),
        Field("quantity", N_("Quantity"), kind="int", min=1, max=9999),
        Field("price", N_("Price"), kind="int", min=0, max=100_000_000,
              placeholder=N_("Empty: 0, a re-shipment")),
    ], _check_copy, _apply_copy, group="order", returns_new=True),
    Operation("copy_all", N_("Copy whole order"), [
        Field("channel", N_("Channel of the copy"), kind="choice", choices=channel_choices),
    ], _check_copy, _apply_copy_all, group="order", returns_new=True),
]
