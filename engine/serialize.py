"""Orders as plain dicts (the JSON API's shape), built with a fixed number of queries.

The API lists up to 200 orders at once, so nothing here follows a foreign key per row:
channels, groups and handling statuses are read once per call, lines in one query for all
orders (or taken from ``page_lines`` when ``orders.paginate`` already loaded them), and the
history only when asked for. Datetimes leave as ISO 8601 in the configured zone.
"""
from __future__ import annotations

from engine import clock, history, pickups
from engine.models import (
    Channel, ChannelGroup, CsHistory, HandlingStatus, Order, OrderLine, Pickup,
)


def line_dict(line: OrderLine) -> dict:
    """``quantity`` as ordered, ``cancelled_qty`` of it cancelled (개별취소); the amount is
    what is left × the price."""
    return {"id": line.id, "product_code": line.product_code, "product": line.product_name,
            "option_code": line.option_code, "option": line.option_name,
            "quantity": line.quantity, "cancelled_qty": line.cancelled_qty,
            "active_qty": line.active_qty, "price": line.unit_price, "amount": line.amount}


def history_dict(entry: CsHistory, tz) -> dict:
    """One CS history line; ``entry`` comes from ``history.for_order`` (operator joined)."""
    return {"id": entry.id, "at": clock.iso(entry.created_at, tz),
            "operator": entry.operator.display_name if entry.operator_id else None,
            "operation": entry.operation, "detail": entry.detail, "text": entry.text,
            "processed": entry.processed}


def _lines_by_order(orders: list[Order]) -> dict[int, list[OrderLine]]:
    """Every order's lines, in entry order: ``page_lines`` when loaded, else one query."""
    by_order = {o.id: o.page_lines for o in orders if hasattr(o, "page_lines")}
    missing = [o.id for o in orders if o.id not in by_order]
    if missing:
        for line in OrderLine.select().where(OrderLine.order.in_(missing)):
            by_order.setdefault(line.order_id, []).append(line)
    return {order_id: sorted(lines, key=lambda line: line.id)
            for order_id, lines in by_order.items()}


def orders_dicts(orders: list[Order], tz, with_history: bool = False) -> list[dict]:
    """The API dicts of ``orders``; ``with_history`` adds each order's CS history (newest first)."""
    if not orders:
        return []
    channels = {c.id: c for c in
                Channel.select().where(Channel.id.in_({o.channel_id for o in orders}))}
    groups = {g.id: g.name for g in ChannelGroup.select()}
    statuses = {s.id: s.name for s in HandlingStatus.select()}
    lines = _lines_by_order(orders)
    order_pickups: dict[int, list] = {}
    for p in (Pickup.select().where(Pickup.order.in_([o.id for o in orders]))
              .order_by(Pickup.id)):
        order_pickups.setdefault(p.order_id, []).append(p)
    result = []
    for o in orders:
        channel = channels[o.channel_id]
        order_lines = lines.get(o.id, [])
        item = {
            "id": o.id, "order_no": o.order_no, "channel": channel.name, "channel_id": channel.id,
            "channel_group": groups.get(channel.group_id),
            "received_at": clock.iso(o.received_at, tz),
            "state": o.state, "cs_state": o.cs_state, "cancel_reason": o.cancel_reason,
            "hold": o.hold, "hold_alarm_at": clock.iso(o.hold_alarm_at, tz),
            "handling_status": statuses.get(o.handling_status_id),
            "buyer": {"name": o.buyer_name, "phone": o.buyer_phone, "mobile": o.buyer_mobile},
            "recipient": {"name": o.recipient_name, "phone": o.recipient_phone,
                          "mobile": o.recipient_mobile, "zip_code": o.zip_code,
                          "address": o.address, "memo": o.ship_memo},
            "courier": o.courier, "tracking_no": o.tracking_no,
            "invoiced_at": clock.iso(o.invoiced_at, tz), "shipped_at": clock.iso(o.shipped_at, tz),
            "payment_status": o.payment_status, "payment_method": o.payment_method,
            "shipping_list_exported": o.shipping_list_exported,
            "delivery_date": o.delivery_date.isoformat() if o.delivery_date else None,
            "subscription_id": o.subscription_id, "buyer_email": o.buyer_email,
            "shipping_fee": o.shipping_fee,
            # Order.total would query the lines again; the same sum over the loaded ones
            "total": sum(line.amount for line in order_lines) + o.shipping_fee,
            "combine_group": o.combine_group, "combine_forbidden": o.combine_forbidden,
            "priority": o.priority, "return_expected": o.return_expected,
            "exchange_expected": o.exchange_expected, "exchange_type": o.exchange_type,
            "deleted": o.deleted, "deleted_at": clock.iso(o.deleted_at, tz),
            "version": o.version, "updated_at": clock.iso(o.updated_at, tz),
            "lines": [line_dict(line) for line in order_lines],
            "pickups": [pickups.as_dict(p, tz) for p in order_pickups.get(o.id, [])],
        }
        if with_history:
            item["history"] = [history_dict(h, tz) for h in history.for_order(o.id)]
        result.append(item)
    return result


def order_dict(order: Order, tz) -> dict:
    """One order with its lines and its CS history."""
    return orders_dicts([order], tz, with_history=True)[0]
