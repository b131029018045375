"""Pickups for returns and exchanges (seed 002: 회수, 반품예정, 반품관리, 반품통계).

A pickup (회수) of a shipped order goes 요청 (requested) → 접수 (accepted by the courier) →
완료 (completed). With "register inbound" the goods coming back become expected inbound
stock: one ``InboundExpectation`` per order line, at most once per line (the seed warns that
a second pickup of the same order must not register them again, so it is refused).

What comes back per line: the cancelled quantity when the order has cancelled quantities
(a return that was cancelled), otherwise the whole quantity (an exchange, or a return not
yet cancelled).

A pickup carries the expected and arrived refund amounts per payment channel (site payment,
card, bank transfer); 미수 = expected − arrived. 반품예정 / 교환예정 are marks on the order.
"""
from __future__ import annotations

import datetime as dt
import io

from peewee import fn

from engine import clock, paging
from engine.errors import ValidationError
from engine.models import (
    CancelReason, Channel, ChannelGroup, InboundExpectation, Order, OrderLine, Pickup, Product,
    ProductOption, Supplier,
)
from engine.order_core import SHIPPED, Context, Operation, courier_choices, reason_choices
from engine.schema import Field, parse
from engine.text import N_

REQUESTED, ACCEPTED, COMPLETED = "요청", "접수", "완료"
STATUSES = (REQUESTED, ACCEPTED, COMPLETED)
STATUS_LABELS = {REQUESTED: N_("Requested"), ACCEPTED: N_("Accepted"),
                 COMPLETED: N_("Completed")}
EXCHANGE_TYPES = ["단순교환", "불량교환", "오배송교환", "품질교환", "상품교환"]
PAYMENT_CHANNELS = (("site", N_("Site payment")), ("card", N_("Card")),
                    ("bank", N_("Bank transfer")))
MAX_AMOUNT = 1_000_000_000


def exchange_choices():
    return [(name, name) for name in EXCHANGE_TYPES]


def pickup_reason_choices():
    """The cancel reasons, then the exchange types."""
    return reason_choices() + exchange_choices()


def _amount(name: str, label: str) -> Field:
    return Field(name, label, kind="int", min=0, max=MAX_AMOUNT)


EXPECTED_FIELDS = [_amount("expected_" + key, label) for key, label in (
    ("site", N_("Expected: site payment")), ("card", N_("Expected: card")),
    ("bank", N_("Expected: bank transfer")))]
ARRIVED_FIELDS = [_amount("arrived_" + key, label) for key, label in (
    ("site", N_("Arrived: site payment")), ("card", N_("Arrived: card")),
    ("bank", N_("Arrived: bank transfer")))]
AMOUNT_COLUMNS = [f.name for f in EXPECTED_FIELDS + ARRIVED_FIELDS]


# --- reading ---------------------------------------------------------------------------------

def for_order(order_id: int) -> list[Pickup]:
    return list(Pickup.select().where(Pickup.order == order_id).order_by(Pickup.id))


def open_pickup(order_id: int, statuses=(REQUESTED, ACCEPTED)) -> Pickup | None:
    return (Pickup.select().where((Pickup.order == order_id) & Pickup.status.in_(statuses))
            .order_by(Pickup.id).first())


def registered_inbound(order_id: int) -> InboundExpectation | None:
    """The expected inbound row of one of the order's lines, if any was registered."""
    return (InboundExpectation.select().join(OrderLine)
            .where(OrderLine.order == order_id).first())


def _coming_back(order: Order) -> list[tuple[OrderLine, int]]:
    lines = list(OrderLine.select().where(OrderLine.order == order.id).order_by(OrderLine.id))
    if any(line.cancelled_qty for line in lines):
        return [(line, line.cancelled_qty) for line in lines if line.cancelled_qty]
    return [(line, line.quantity) for line in lines]


# --- checks --------------------------------------------------------------------------------

def _check_pickup(o: Order):
    if o.state != SHIPPED:
        return N_("Only a shipped order can be picked up for a return (this one is "
                  "%(state)s).")


def _check_receive(o: Order):
    if open_pickup(o.id, (REQUESTED,)) is None:
        return N_("The order has no requested pickup.")


def _check_complete(o: Order):
    if open_pickup(o.id) is None:
        return N_("The order has no open pickup.")


def _flag_check(name: str, on: bool):
    def check(o: Order):
        if bool(getattr(o, name)) == on:
            return (N_("The order is already marked.") if on
                    else N_("The order is not marked."))
    return check


# --- applies -------------------------------------------------------------------------------

def _apply_pickup(o: Order, v: dict, ctx: Context) -> str:
    if v["register_inbound"]:
        done = registered_inbound(o.id)
        if done is not None:
            raise ValidationError(
                N_("The goods of this order were registered as expected inbound stock with "
                   "pickup #%(id)s already; untick “register inbound” for another pickup."),
                "register_inbound", id=done.pickup_id)
    pickup = Pickup.create(order=o, courier=v["courier"],
                           return_tracking_no=v.get("return_tracking_no") or "",
                           reason=v["reason"], register_inbound=v["register_inbound"],
                           requested_at=ctx.now, requested_by=ctx.actor,
                           **{f.name: v.get(f.name) or 0 for f in EXPECTED_FIELDS})
    detail = "[회수요청 #%d : %s %s, 사유 : %s]" % (pickup.id, pickup.courier,
                                              pickup.return_tracking_no or "-", pickup.reason)
    if v["register_inbound"]:
        for line, quantity in _coming_back(o):
            InboundExpectation.create(pickup=pickup, order_line=line, option=line.option_id,
                                      product_code=line.option_code or line.product_code,
                                      product_name=line.product_name,
                                      option_name=line.option_name, quantity=quantity,
                                      created_at=ctx.now)
        detail += " [입고예정 등록]"
    return detail


def _pickup_of(o: Order, pickup_id, statuses) -> Pickup:
    if pickup_id:
        pickup = Pickup.get_or_none((Pickup.id == pickup_id) & (Pickup.order == o.id))
        if pickup is None or pickup.status not in statuses:
            raise ValidationError(N_("Pickup #%(id)s is not an open pickup of this order."),
                                  "pickup_id", id=pickup_id)
        return pickup
    return open_pickup(o.id, statuses)


def _apply_receive(o: Order, v: dict, ctx: Context) -> str:
    pickup = _pickup_of(o, v.get("pickup_id"), (REQUESTED,))
    pickup.status, pickup.received_at = ACCEPTED, ctx.now
    if v.get("return_tracking_no"):
        pickup.return_tracking_no = v["return_tracking_no"]
    pickup.save()
    return "[회수접수 #%d : %s %s]" % (pickup.id, pickup.courier, pickup.return_tracking_no or "-")


def _apply_complete(o: Order, v: dict, ctx: Context) -> str:
    pickup = _pickup_of(o, v.get("pickup_id"), (REQUESTED, ACCEPTED))
    for name in AMOUNT_COLUMNS:
        if v.get(name) is not None:
            setattr(pickup, name, v[name])
    pickup.status, pickup.completed_at = COMPLETED, ctx.now
    pickup.save()
    (InboundExpectation.update(arrived_at=ctx.now)
     .where(InboundExpectation.pickup == pickup.id).execute())
    return "[회수완료 #%d : 예정 %s, 도착 %s, 미수 %s]" % (
        pickup.id, f"{pickup.expected_total:,}", f"{pickup.arrived_total:,}",
        f"{pickup.outstanding:,}")


def _set(name: str, value, detail: str, extra=None):
    def apply(o: Order, v: dict, ctx: Context) -> str:
        setattr(o, name, value)
        if extra:
            return extra(o, v)
        return detail
    return apply


def _mark_exchange(o: Order, v: dict) -> str:
    o.exchange_type = v["exchange_type"]
    return "[교환예정 : %s]" % v["exchange_type"]


def _unmark_exchange(o: Order, v: dict) -> str:
    o.exchange_type = None
    return "[교환예정 해제]"


PICKUP_ID = Field("pickup_id", N_("Pickup"), kind="ref", max=2**31 - 1)

OPERATIONS = [
    Operation("pickup", N_("Request pickup"), [
        Field("courier", N_("Courier"), kind="choice", required=True, choices=courier_choices),
        Field("return_tracking_no", N_("Return tracking number"), kind="digits", max_length=30),
        Field("reason", N_("Reason"), kind="choice", required=True,
              choices=pickup_reason_choices),
        Field("register_inbound", N_("Register the goods as expected inbound stock"),
              kind="bool"),
        *EXPECTED_FIELDS,
    ], _check_pickup, _apply_pickup, group="returns"),
    Operation("pickup_receive", N_("Pickup accepted"), [
        PICKUP_ID,
        Field("return_tracking_no", N_("Return tracking number"), kind="digits", max_length=30),
    ], _check_receive, _apply_receive, group="returns"),
    Operation("pickup_complete", N_("Complete pickup"), [PICKUP_ID, *EXPECTED_FIELDS,
                                                        *ARRIVED_FIELDS],
              _check_complete, _apply_complete, group="returns"),
    Operation("mark_return_expected", N_("Mark return expected"), [],
              _flag_check("return_expected", True),
              _set("return_expected", True, "[반품예정]"), bulk=True, group="returns"),
    Operation("unmark_return_expected", N_("Unmark return expected"), [],
              _flag_check("return_expected", False),
              _set("return_expected", False, "[반품예정 해제]"), group="returns"),
    Operation("mark_exchange_expected", N_("Mark exchange expected"), [
        Field("exchange_type", N_("Exchange type"), kind="choice", required=True,
              choices=exchange_choices),
    ], _flag_check("exchange_expected", True),
        _set("exchange_expected", True, "", _mark_exchange), bulk=True, group="returns"),
    Operation("unmark_exchange_expected", N_("Unmark exchange expected"), [],
              _flag_check("exchange_expected", False),
              _set("exchange_expected", False, "", _unmark_exchange), group="returns"),
]


# --- the returns page (반품관리) --------------------------------------------------------------

def _group_choices():
    return [(str(g.id), g.name) for g in ChannelGroup.select().order_by(ChannelGroup.name)]


def _channel_choices():
    return [(str(c.id), c.name) for c in Channel.select().order_by(Channel.name)]


def _supplier_choices():
    return [(str(s.id), s.name) for s in Supplier.select().order_by(Supplier.name)]


SEARCH_FIELDS = [
    Field("date_from", N_("Requested from"), kind="date"),
    Field("date_to", N_("Requested to"), kind="date"),
    Field("group", N_("Channel group"), kind="choice", choices=_group_choices),
    Field("channel", N_("Channel"), kind="choice", choices=_channel_choices),
    Field("supplier", N_("Supplier"), kind="choice", choices=_supplier_choices),
    Field("status", N_("Status"), kind="choice",
          choices=lambda: [(s, STATUS_LABELS[s]) for s in STATUSES]),
    Field("q", N_("Recipient"), max_length=100, placeholder=N_("Recipient, phone or order No.")),
]


def parse_search(raw: dict, tz) -> dict:
    return parse(SEARCH_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")}, tz)


def search(filters: dict, tz):
    """Pickups matching ``filters`` (request date, channel/group, supplier, status,
    recipient), newest request first, with their order and channel."""
    query = (Pickup.select(Pickup, Order, Channel).join(Order).join(Channel))
    if filters.get("date_from"):
        query = query.where(Pickup.requested_at
                            >= clock.local_day_bounds(filters["date_from"], tz)[0])
    if filters.get("date_to"):
        query = query.where(Pickup.requested_at
                            < clock.local_day_bounds(filters["date_to"], tz)[1])
    if filters.get("group"):
        query = query.where(Channel.group == int(filters["group"]))
    if filters.get("channel"):
        query = query.where(Order.channel == int(filters["channel"]))
    if filters.get("status"):
        query = query.where(Pickup.status == filters["status"])
    if filters.get("supplier"):
        supplied = (OrderLine.select(OrderLine.order).join(ProductOption)
                    .join(Product).where(Product.supplier == int(filters["supplier"])))
        query = query.where(Order.id.in_(supplied))
    keyword = (filters.get("q") or "").strip()
    if keyword:
        clause = Order.recipient_name ** f"%{keyword}%"
        digits = keyword.replace("-", "").replace(" ", "")
        if digits.isdigit():
            clause |= fn.REPLACE(Order.recipient_mobile, "-", "") ** f"%{digits}%"
            if len(digits) <= 9:
                clause |= Order.id == int(digits)
        query = query.where(clause)
    return query.order_by(Pickup.requested_at.desc(), Pickup.id.desc())


def attach_lines(pickups: list[Pickup]) -> list[Pickup]:
    """Give each pickup ``lines`` (its order's lines) with one query."""
    by_order: dict[int, list] = {}
    ids = {p.order_id for p in pickups}
    if ids:
        for line in (OrderLine.select().where(OrderLine.order.in_(ids))
                     .order_by(OrderLine.id)):
            by_order.setdefault(line.order_id, []).append(line)
    for p in pickups:
        p.lines = by_order.get(p.order_id, [])
    return pickups


def page(query, number: int, per_page: int):
    rows, total, number, pages = paging.paginate(query, number, per_page)
    return attach_lines(rows), total, number, pages


def totals(query) -> dict:
    """The sums of the amount columns over every pickup of the search."""
    sums = [fn.COALESCE(fn.SUM(getattr(Pickup, name)), 0).alias(name) for name in AMOUNT_COLUMNS]
    row = query.clone().order_by().select(*sums).dicts().first() or {}
    result = {name: int(row.get(name) or 0) for name in AMOUNT_COLUMNS}
    result["outstanding"] = (sum(result["expected_" + k] for k, _ in PAYMENT_CHANNELS)
                             - sum(result["arrived_" + k] for k, _ in PAYMENT_CHANNELS))
    return result


def complete_selected(pickup_ids, ctx: Context) -> list[Pickup]:
    """Complete every selected open pickup (반품선택완료), all or nothing, with the amounts
    they have; one CS history line on each order."""
    from engine import orders  # the registry imports this module

    ids = sorted({int(i) for i in pickup_ids or [] if str(i).isdigit() and int(i) < 2**31})
    if not ids:
        raise ValidationError(N_("Select at least one pickup."), "ids")
    found = {p.id: p for p in Pickup.select().where(Pickup.id.in_(ids))}
    items = []
    for pickup_id in ids:
        pickup = found.get(pickup_id)
        if pickup is None or pickup.status == COMPLETED:
            raise ValidationError(N_("Pickup #%(id)s is not an open pickup of this order."),
                                  "ids", id=pickup_id)
        items.append((pickup.order_id, {"pickup_id": pickup_id}))
    orders.perform_each("pickup_complete", items, ctx)
    return list(Pickup.select().where(Pickup.id.in_(ids)).order_by(Pickup.id))


def as_dict(p: Pickup, tz) -> dict:
    """A pickup as the API shows it inside an order (no further queries)."""
    return {
        "id": p.id, "order_id": p.order_id, "status": p.status, "courier": p.courier,
        "return_tracking_no": p.return_tracking_no, "reason": p.reason,
        "register_inbound": p.register_inbound,
        "requested_at": clock.iso(p.requested_at, tz), "received_at": clock.iso(p.received_at, tz),
        "completed_at": clock.iso(p.completed_at, tz),
        **{name: getattr(p, name) for name in AMOUNT_COLUMNS},
        "outstanding": p.outstanding,
    }


def row_dict(p: Pickup, tz) -> dict:
    """A row of the returns list (order, channel and lines loaded by ``search`` and
    ``attach_lines``)."""
    item = as_dict(p, tz)
    item.update({
        "channel": p.order.channel.name, "recipient": p.order.recipient_name,
        "shipped_at": clock.iso(p.order.shipped_at, tz),
        "lines": [{"product_code": line.option_code or line.product_code,
                   "product": line.product_name, "option": line.option_name,
                   "quantity": line.quantity, "cancelled_qty": line.cancelled_qty}
                  for line in getattr(p, "lines", [])],
    })
    return item


# --- download (xlsx) -------------------------------------------------------------------------

def xlsx(query, tz, headers: list[str], status_label) -> bytes:
    """The search as an .xlsx file (openpyxl write-only: rows are streamed, not held)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("반품관리")
    sheet.append(headers)
    batch = 500
    offset = 0
    while True:
        rows = attach_lines(list(query.clone().limit(batch).offset(offset)))
        if not rows:
            break
        for p in rows:
            first = p.lines[0] if p.lines else None
            shipped = clock.to_local(p.order.shipped_at, tz)
            completed = clock.to_local(p.completed_at, tz)
            requested = clock.to_local(p.requested_at, tz)
            sheet.append([
                p.id, p.order_id, p.order.channel.name, requested.strftime("%Y-%m-%d %H:%M"),
                shipped.strftime("%Y-%m-%d %H:%M") if shipped else "",
                completed.strftime("%Y-%m-%d %H:%M") if completed else "",
                p.order.recipient_name, first.product_name if first else "",
                first.option_name if first else "", status_label(p.status), p.reason,
                p.courier, p.return_tracking_no,
                *[getattr(p, name) for name in ("expected_site", "arrived_site", "expected_card",
                                                "arrived_card", "expected_bank",
                                                "arrived_bank")],
                p.outstanding])
        offset += batch
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- statistics (반품통계) ------------------------------------------------------------------

def stats(date_from: dt.date, date_to: dt.date, tz) -> dict:
    """Pickups per request day and reason: ``{"days": [...], "reasons": [...],
    "counts": {(day, reason): n}, "per_day": {day: n}, "per_reason": {reason: n}}``.

    The reasons are the cancel reasons and the exchange types (seed's columns), plus any
    other reason a pickup was given.
    """
    start = clock.local_day_bounds(date_from, tz)[0]
    end = clock.local_day_bounds(date_to, tz)[1]
    days = [date_from + dt.timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    cancel = [r.name for r in CancelReason.ordered()]
    counts: dict = {}
    others = []
    for requested_at, reason in (Pickup.select(Pickup.requested_at, Pickup.reason)
                                 .where((Pickup.requested_at >= start)
                                        & (Pickup.requested_at < end)).tuples()):
        day = clock.to_local(requested_at, tz).date()
        counts[(day, reason)] = counts.get((day, reason), 0) + 1
        if reason not in cancel and reason not in EXCHANGE_TYPES and reason not in others:
            others.append(reason)
    reasons = cancel + EXCHANGE_TYPES + sorted(others)
    return {"days": days, "reasons": reasons, "cancel_reasons": cancel,
            "exchange_types": EXCHANGE_TYPES, "other_reasons": sorted(others),
            "counts": counts,
            "per_day": {d: sum(counts.get((d, r), 0) for r in reasons) for d in days},
            "per_reason": {r: sum(counts.get((d, r), 0) for d in days) for r in reasons},
            "total": sum(counts.values())}

