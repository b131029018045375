"""Operations on an order's lines (seed 002: 개별취소, 개별정상복귀, 상품변경, 상품추가).

Cancelling works by quantity per line: ``OrderLine.cancelled_qty`` is the part of the
ordered quantity that was cancelled, and a line's amount is what is left × its price. The
order's CS state follows from its lines: nothing cancelled = 정상, everything = 취소, some =
부분취소. A full cancel (전체취소) cancels every line's whole quantity, a full restore puts
it all back, so both ways of cancelling always agree.
"""
from __future__ import annotations

from engine import combining
from engine.errors import ValidationError
from engine.models import Order, OrderLine
from engine.order_core import (
    CANCELLED, INVOICED, NORMAL, PARTIAL, RECEIVED, Context, Operation, line_of, option_for,
    reason_choices,
)
from engine.schema import Field
from engine.text import N_

LINE = Field("line_id", N_("Order line"), kind="ref", required=True, max=2**31 - 1)
QUANTITY = Field("quantity", N_("Quantity"), kind="int", required=True, min=1, max=9999)


def lines(order: Order) -> list[OrderLine]:
    return list(OrderLine.select().where(OrderLine.order == order.id).order_by(OrderLine.id))


def settle_cs_state(o: Order, reason: str | None, ctx: Context, cs_text: str) -> str:
    """Set the CS state from the lines; a received order cancelled in full leaves its
    combined shipment. Returns extra history detail."""
    all_lines = lines(o)
    cancelled = sum(line.cancelled_qty for line in all_lines)
    if cancelled == 0:
        o.cs_state, o.cancel_reason = NORMAL, None
    elif all(line.active_qty == 0 for line in all_lines):
        o.cs_state, o.cancel_reason = CANCELLED, reason or o.cancel_reason
    else:
        o.cs_state, o.cancel_reason = PARTIAL, reason or o.cancel_reason
    if o.cs_state == CANCELLED and o.state == RECEIVED and o.combine_group:
        return combining.leave_group(o, ctx, "uncombine", cs_text)
    return ""


def cancel_all(o: Order) -> None:
    """전체취소: every line's whole quantity is cancelled."""
    OrderLine.update(cancelled_qty=OrderLine.quantity).where(OrderLine.order == o.id).execute()


def restore_all(o: Order) -> None:
    """전체정상복귀: nothing is cancelled any more."""
    OrderLine.update(cancelled_qty=0).where(OrderLine.order == o.id).execute()


def _line_text(line: OrderLine) -> str:
    return "%s %s %s" % (line.option_code or line.product_code, line.product_name,
                         line.option_name)


# --- checks ---------------------------------------------------------------------------------

def _check_partial_cancel(o: Order):
    if o.cs_state == CANCELLED:
        return N_("The order is already cancelled.")
    if o.state == INVOICED:
        return N_("An invoiced order cannot be cancelled; delete the invoice first.")


def _check_partial_restore(o: Order):
    if o.cs_state == NORMAL:
        return N_("Nothing is cancelled on this order.")
    if o.state == INVOICED:
        return N_("An invoiced order cannot be changed; delete the invoice first.")


def _check_products(o: Order):
    if o.state != RECEIVED:
        return N_("Products can only change while the order is received (this one is "
                  "%(state)s).")
    if o.cs_state == CANCELLED:
        return N_("The order is cancelled.")


# --- applies --------------------------------------------------------------------------------

def _apply_partial_cancel(o: Order, v: dict, ctx: Context) -> str:
    line = line_of(o, v["line_id"])
    if v["quantity"] > line.active_qty:
        raise ValidationError(N_("Only %(n)d left to cancel on this line."), "quantity",
                              n=line.active_qty)
    line.cancelled_qty += v["quantity"]
    OrderLine.update(cancelled_qty=line.cancelled_qty).where(OrderLine.id == line.id).execute()
    extra = settle_cs_state(o, v["reason"], ctx, v.get("cs_text"))
    return "[상품코드 : %s, 수량 : %d, 취소사유 : %s]%s" % (
        line.option_code or line.product_code, v["quantity"], v["reason"], extra)


def _apply_partial_restore(o: Order, v: dict, ctx: Context) -> str:
    line = line_of(o, v["line_id"])
    if v["quantity"] > line.cancelled_qty:
        raise ValidationError(N_("Only %(n)d cancelled on this line."), "quantity",
                              n=line.cancelled_qty)
    line.cancelled_qty -= v["quantity"]
    OrderLine.update(cancelled_qty=line.cancelled_qty).where(OrderLine.id == line.id).execute()
    settle_cs_state(o, None, ctx, v.get("cs_text"))
    return "[상품코드 : %s, 수량 : %d]" % (line.option_code or line.product_code, v["quantity"])


def _apply_change_product(o: Order, v: dict, ctx: Context) -> str:
    line = line_of(o, v["line_id"])
    option = option_for(v["option_id"])
    if option.id == line.option_id:
        raise ValidationError(N_("The line already has this product."), "option_id")
    before = _line_text(line)
    line.option = option
    line.product_code, line.product_name = option.product.code, option.product.name
    line.option_code, line.option_name = option.code, option.name
    if v.get("price") is not None:
        line.unit_price = v["price"]
    line.save()
    return "[상품변경 : %s -> %s]" % (before, _line_text(line))


def _apply_add_product(o: Order, v: dict, ctx: Context) -> str:
    option = option_for(v["option_id"])
    price = v["price"] if v.get("price") is not None else option.price_a
    line = OrderLine.create(order=o, option=option, product_code=option.product.code,
                            product_name=option.product.name, option_code=option.code,
                            option_name=option.name, quantity=v["quantity"], unit_price=price)
    return "[상품추가 : %s × %d]" % (_line_text(line), v["quantity"])


PRODUCT = Field("option_id", N_("Product"), kind="ref", required=True, max=2**31 - 1)
KEEP_PRICE = Field("price", N_("Price"), kind="int", min=0, max=100_000_000,
                   placeholder=N_("Empty: the line keeps its price"))
OPTION_PRICE = Field("price", N_("Price"), kind="int", min=0, max=100_000_000,
                     placeholder=N_("Empty: the product's price A"))

OPERATIONS = [
    Operation("partial_cancel", N_("Cancel part"), [
        LINE, QUANTITY,
        Field("reason", N_("Cancel reason"), kind="choice", required=True,
              choices=reason_choices),
    ], _check_partial_cancel, _apply_partial_cancel, danger=True, group="cancel"),
    Operation("partial_restore", N_("Restore part"), [LINE, QUANTITY],
              _check_partial_restore, _apply_partial_restore, group="cancel"),
    Operation("change_product", N_("Change product"), [LINE, PRODUCT, KEEP_PRICE],
              _check_products, _apply_change_product, group="products"),
    Operation("add_product", N_("Add product"), [PRODUCT, QUANTITY, OPTION_PRICE],
              _check_products, _apply_add_product, group="products"),
]
