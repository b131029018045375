"""Order operations (seed 002, CS 화면): one function each, one transaction each.

Every operation is declared once in ``OPERATIONS`` with its fields; the htmx dialog, the bulk
action and the JSON API all go through ``perform`` / ``perform_bulk``, which parse the input,
check the state machine, save with an optimistic lock on ``Order.version`` and write the CS
history line in the same transaction. Nothing is changed when anything is refused.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from peewee import Case, IntegrityError, JOIN, fn

from engine import clock, events, history
from engine.errors import ConflictError, NotFound, StateError, ValidationError
from engine.models import (
    CancelReason, Channel, ChannelGroup, Courier, HandlingStatus, Order, OrderLine,
    PaymentMethod, PaymentStatus, ProductOption, Product, User, db,
)
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

RECEIVED, INVOICED, SHIPPED = "접수", "송장", "배송"
STATES = (RECEIVED, INVOICED, SHIPPED)
NORMAL, CANCELLED = "정상", "취소"
CS_STATES = (NORMAL, CANCELLED)
STATE_LABELS = {RECEIVED: N_("Received"), INVOICED: N_("Invoiced"), SHIPPED: N_("Shipped")}
CS_STATE_LABELS = {NORMAL: N_("Normal"), CANCELLED: N_("Cancelled")}

CS_TEXT = Field("cs_text", N_("CS text"), kind="textarea", max_length=2000)


@dataclass
class Context:
    """Who acts, when, and in which zone: passed in, never read from globals."""

    actor: User | None
    now: dt.datetime
    tz: object = None

    def __post_init__(self):
        self.tz = self.tz or clock.zone()


def _courier_choices():
    return [(c.name, c.name) for c in Courier.ordered().where(Courier.active == True)]  # noqa: E712


def _reason_choices():
    return [(r.name, r.name) for r in
            CancelReason.ordered().where(CancelReason.active == True)]  # noqa: E712


def _status_choices():
    return [("", N_("(none)"))] + [(str(s.id), s.name) for s in
                                  HandlingStatus.ordered().where(HandlingStatus.active == True)]  # noqa: E712


# --- the state machine ------------------------------------------------------------------
# Each check returns None when the operation is allowed, or the refusal message.

def _check_hold(o: Order):
    if o.hold:
        return N_("The order is already on hold.")
    if o.state == SHIPPED:
        return N_("A shipped order cannot be put on hold.")


def _check_release(o: Order):
    if not o.hold:
        return N_("The order is not on hold.")


def _check_change_shipping(o: Order):
    if o.state == SHIPPED:
        return N_("The order is already shipped; its shipping info cannot change.")


def _check_invoice(o: Order):
    if o.cs_state == CANCELLED:
        return N_("A cancelled order cannot be invoiced.")
    if o.state != RECEIVED:
        return N_("Only a received order can be invoiced (this one is %(state)s).")
    if o.hold:
        return N_("A held order cannot be invoiced; release the hold first.")


def _check_delete_invoice(o: Order):
    if o.state != INVOICED:
        return N_("Only an invoiced order has an invoice to delete (this one is %(state)s).")


def _check_ship(o: Order):
    if o.state != INVOICED:
        return N_("Only an invoiced order can be shipped (this one is %(state)s).")
    if o.cs_state == CANCELLED:
        return N_("A cancelled order cannot be shipped.")
    if o.hold:
        return N_("A held order cannot be shipped; release the hold first.")


def _check_unship(o: Order):
    if o.state != SHIPPED:
        return N_("Only a shipped order can have its shipping cancelled (this one is %(state)s).")


def _check_cancel(o: Order):
    if o.cs_state == CANCELLED:
        return N_("The order is already cancelled.")
    if o.state == INVOICED:
        return N_("An invoiced order cannot be cancelled; delete the invoice first.")


def _check_restore(o: Order):
    if o.cs_state != CANCELLED:
        return N_("Only a cancelled order can be restored.")


def _check_any(o: Order):
    return None


# --- what each operation changes ----------------------------------------------------------
# Each apply mutates the (unsaved) order and returns the history detail text.

def _apply_hold(o: Order, v: dict, ctx: Context) -> str:
    o.hold = True
    o.hold_alarm_at = v.get("alarm_at")
    if o.hold_alarm_at:
        return "[알람 : %s]" % clock.to_local(o.hold_alarm_at, ctx.tz).strftime("%Y-%m-%d %H:%M")
    return ""


def _apply_release(o: Order, v: dict, ctx: Context) -> str:
    o.hold = False
    o.hold_alarm_at = None
    return ""


SHIPPING_FIELD_LABELS = {
    "recipient_name": "수령자", "recipient_phone": "수령자 전화", "recipient_mobile": "핸드폰",
    "zip_code": "우편번호", "address": "주소", "ship_memo": "배송메모",
}


def _apply_change_shipping(o: Order, v: dict, ctx: Context) -> str:
    changes = []
    for name, label in SHIPPING_FIELD_LABELS.items():
        new = v.get(name) or ""
        old = getattr(o, name) or ""
        if new != old:
            changes.append("[%s 변경 : %s -> %s]" % (label, old, new))
            setattr(o, name, new)
    if not changes:
        raise ValidationError(N_("Nothing was changed."), "recipient_name")
    return " ".join(changes)


def _apply_invoice(o: Order, v: dict, ctx: Context) -> str:
    clash = (Order.select(Order.id)
             .where((Order.courier == v["courier"]) & (Order.tracking_no == v["tracking_no"])
                    & (Order.id != o.id)).first())
    if clash is not None:
        raise ValidationError(N_("Tracking number %(no)s is already used by order %(id)s."),
                              "tracking_no", no=v["tracking_no"], id=clash.id)
    o.courier, o.tracking_no = v["courier"], v["tracking_no"]
    o.state, o.invoiced_at = INVOICED, ctx.now
    return "[택배사 : %s, 송장번호 : %s]" % (o.courier, o.tracking_no)


def _apply_delete_invoice(o: Order, v: dict, ctx: Context) -> str:
    detail = "[택배사 : %s, 송장번호 : %s]" % (o.courier, o.tracking_no)
    o.courier = o.tracking_no = o.invoiced_at = None
    o.state = RECEIVED
    return detail


def _apply_ship(o: Order, v: dict, ctx: Context) -> str:
    o.state, o.shipped_at = SHIPPED, ctx.now
    return "[택배사 : %s, 송장번호 : %s]" % (o.courier, o.tracking_no)


def _apply_unship(o: Order, v: dict, ctx: Context) -> str:
    o.state, o.shipped_at = INVOICED, None
    return ""


def _apply_cancel(o: Order, v: dict, ctx: Context) -> str:
    o.cs_state, o.cancel_reason = CANCELLED, v["reason"]
    return "[취소사유 : %s]" % v["reason"]


def _apply_restore(o: Order, v: dict, ctx: Context) -> str:
    """전체정상복귀: back to 정상 *and* 접수, so the order is worked again from the start."""
    detail = "[취소사유 : %s]" % (o.cancel_reason or "")
    o.cs_state, o.cancel_reason = NORMAL, None
    o.state = RECEIVED
    o.courier = o.tracking_no = o.invoiced_at = o.shipped_at = None
    return detail


def _apply_set_handling_status(o: Order, v: dict, ctx: Context) -> str:
    old = o.handling_status.name if o.handling_status_id else "-"
    status = HandlingStatus.get_by_id(int(v["handling_status"])) if v["handling_status"] else None
    if (status.id if status else None) == o.handling_status_id:
        raise ValidationError(N_("The order already has this handling status."),
                              "handling_status")
    o.handling_status = status
    return "[처리상태 : %s -> %s]" % (old, status.name if status else "-")


def _payment_status_choices():
    return [(p.name, p.name) for p in
            PaymentStatus.ordered().where(PaymentStatus.active == True)]  # noqa: E712


def _payment_method_choices():
    return [(p.name, p.name) for p in
            PaymentMethod.ordered().where(PaymentMethod.active == True)]  # noqa: E712


def _check_not_cancelled(o: Order):
    if o.cs_state == CANCELLED:
        return N_("The order is cancelled.")


def _check_export(o: Order):
    if o.shipping_list_exported:
        return N_("The shipping list of this order was exported already.")
    return _check_not_cancelled(o)


def _check_delivery_date(o: Order):
    if o.state != SHIPPED:
        return N_("Only a shipped order has a delivery date (this one is %(state)s).")


def _apply_set_payment_status(o: Order, v: dict, ctx: Context) -> str:
    if v["payment_status"] == (o.payment_status or ""):
        raise ValidationError(N_("The order already has this payment status."), "payment_status")
    detail = "[결제상태 : %s -> %s]" % (o.payment_status or "-", v["payment_status"])
    o.payment_status = v["payment_status"]
    return detail


def _apply_set_payment_method(o: Order, v: dict, ctx: Context) -> str:
    if v["payment_method"] == (o.payment_method or ""):
        raise ValidationError(N_("The order already has this payment method."), "payment_method")
    detail = "[결제수단 : %s -> %s]" % (o.payment_method or "-", v["payment_method"])
    o.payment_method = v["payment_method"]
    return detail


def _apply_export(o: Order, v: dict, ctx: Context) -> str:
    o.shipping_list_exported = True
    return "[출고리스트 출력]"


def _apply_delivery_date(o: Order, v: dict, ctx: Context) -> str:
    o.delivery_date = v["delivery_date"]
    return "[배송완료일 : %s]" % o.delivery_date.isoformat()


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    fields: list
    check: Callable
    apply: Callable
    bulk: bool = False
    danger: bool = False
    group: str = "cs"     # "cs" (seed 002 operations) or "payment" (payments & fulfilment dates)


OPERATIONS: dict[str, Operation] = {op.name: op for op in [
    Operation("hold", N_("Hold"), [
        Field("alarm_at", N_("Alarm time"), kind="datetime"),
    ], _check_hold, _apply_hold, bulk=True),
    Operation("release", N_("Release hold"), [], _check_release, _apply_release, bulk=True),
    Operation("change_shipping", N_("Change shipping info"), [
        Field("recipient_name", N_("Recipient"), required=True, max_length=100),
        Field("recipient_phone", N_("Recipient phone"), kind="phone"),
        Field("recipient_mobile", N_("Recipient mobile"), kind="phone"),
        Field("zip_code", N_("Zip code"), kind="digits", max_length=7),
        Field("address", N_("Address"), required=True, max_length=300),
        Field("ship_memo", N_("Delivery memo"), max_length=300),
    ], _check_change_shipping, _apply_change_shipping),
    Operation("invoice", N_("Enter invoice"), [
        Field("courier", N_("Courier"), kind="choice", required=True, choices=_courier_choices),
        Field("tracking_no", N_("Tracking number"), kind="digits", required=True, max_length=30),
    ], _check_invoice, _apply_invoice),
    Operation("delete_invoice", N_("Delete invoice"), [], _check_delete_invoice,
              _apply_delete_invoice, danger=True),
    Operation("ship", N_("Ship"), [], _check_ship, _apply_ship, bulk=True),
    Operation("unship", N_("Cancel shipping"), [], _check_unship, _apply_unship, danger=True),
    Operation("cancel", N_("Cancel order"), [
        Field("reason", N_("Cancel reason"), kind="choice", required=True,
              choices=_reason_choices),
    ], _check_cancel, _apply_cancel, danger=True),
    Operation("restore", N_("Restore order"), [], _check_restore, _apply_restore),
    Operation("set_handling_status", N_("Change handling status"), [
        Field("handling_status", N_("Handling status"), kind="choice", choices=_status_choices),
    ], _check_any, _apply_set_handling_status, bulk=True),
    Operation("set_payment_status", N_("Change payment status"), [
        Field("payment_status", N_("Payment status"), kind="choice", required=True,
              choices=_payment_status_choices),
    ], _check_any, _apply_set_payment_status, bulk=True, group="payment"),
    Operation("set_payment_method", N_("Change payment method"), [
        Field("payment_method", N_("Payment method"), kind="choice", required=True,
              choices=_payment_method_choices),
    ], _check_not_cancelled, _apply_set_payment_method, group="payment"),
    Operation("mark_shipping_list_exported", N_("Mark shipping list exported"), [],
              _check_export, _apply_export, bulk=True, group="payment"),
    Operation("set_delivery_date", N_("Set delivery date"), [
        Field("delivery_date", N_("Delivery date"), kind="date", required=True),
    ], _check_delivery_date, _apply_delivery_date, group="payment"),
]}

ORDER_COLUMNS = ("channel", "order_no", "received_at", "buyer_name", "buyer_phone",
                 "buyer_mobile", "recipient_name", "recipient_phone", "recipient_mobile",
                 "zip_code", "address", "ship_memo", "shipping_fee", "state", "cs_state",
                 "cancel_reason", "hold", "hold_alarm_at", "handling_status", "courier",
                 "tracking_no", "invoiced_at", "shipped_at", "payment_status",
                 "payment_method", "shipping_list_exported", "delivery_date", "subscription")


def _require_operator(ctx: Context) -> None:
    """People need the "operate" capability; the system itself (actor None) always may."""
    if ctx.actor is not None:
        require(ctx.actor, "operate")


def get(order_id) -> Order:
    order = (Order.select(Order, Channel).join(Channel).where(Order.id == int(order_id)).first()
             if str(order_id).isdigit() and 0 < int(order_id) < 2**31 else None)
    if order is None:
        raise NotFound(N_("Order %(id)s does not exist."), id=order_id)
    return order


def refusal(op: Operation, order: Order) -> StateError | None:
    """The error saying why ``op`` is refused for ``order`` now, or None if it is allowed."""
    message = op.check(order)
    return StateError(message, state=STATE_LABELS[order.state]) if message else None


def _save(order: Order, ctx: Context, read_version: int) -> None:
    """Write the order if nobody saved it since ``read_version``; bump the version."""
    values = _snapshot(order)  # raw column values: no lazy loads of related rows
    values.update(version=read_version + 1, updated_at=ctx.now, updated_by=ctx.actor)
    try:
        with db.atomic():
            done = (Order.update(**values)
                    .where((Order.id == order.id) & (Order.version == read_version)).execute())
    except IntegrityError:
        raise ValidationError(N_("Tracking number %(no)s is already used by another order."),
                              "tracking_no", no=order.tracking_no)
    if done != 1:
        raise _conflict(order.id, ctx)
    order.version = read_version + 1
    order.updated_at, order.updated_by = ctx.now, ctx.actor


def _conflict(order_id: int, ctx: Context) -> ConflictError:
    current = Order.get_by_id(order_id)
    who = current.updated_by.display_name if current.updated_by_id else "-"
    when = clock.to_local(current.updated_at, ctx.tz).strftime("%Y-%m-%d %H:%M:%S")
    return ConflictError(N_("This order was changed by %(who)s at %(when)s; reload it and try "
                            "again."), who=who, when=when)


def perform(name: str, order_id, raw: dict, ctx: Context,
            expected_version: int | None = None) -> Order:
    """Run operation ``name`` on one order with the raw fields (form or JSON)."""
    op = OPERATIONS.get(name)
    if op is None:
        raise NotFound(N_("Unknown operation %(name)s."), name=name)
    _require_operator(ctx)
    values = parse(op.fields + [CS_TEXT], raw, ctx.tz)
    with events.collecting(), db.atomic():
        order = get(order_id)
        if expected_version is not None and order.version != expected_version:
            raise _conflict(order.id, ctx)
        _run(op, order, values, ctx)
    return get(order.id)  # as it is now, after the rules its change set off


def _snapshot(order: Order) -> dict:
    """The stored values of the order's columns (foreign keys as ids)."""
    return {name: order.__data__.get(name) for name in ORDER_COLUMNS}


def _event_value(name: str, value):
    """Rules speak of a handling status by its name, not its id."""
    if name == "handling_status" and value is not None:
        status = HandlingStatus.get_or_none(HandlingStatus.id == value)
        return status.name if status else None
    return value


def _run(op: Operation, order: Order, values: dict, ctx: Context) -> None:
    refused = refusal(op, order)
    if refused:
        raise refused
    read_version = order.version
    before = _snapshot(order)
    detail = op.apply(order, values, ctx)
    _save(order, ctx, read_version)
    history.record(order, op.name, ctx.actor, ctx.now, detail, values.get("cs_text"))
    after = _snapshot(order)
    changes = {name: (_event_value(name, before[name]), _event_value(name, after[name]))
               for name in ORDER_COLUMNS if before[name] != after[name]}
    if changes:
        events.raise_event(events.Event("order", order.id, events.CHANGED, ctx.now,
                                        ctx.actor.id if ctx.actor else None, changes,
                                        key=f"v{order.version}"))


def perform_bulk(name: str, order_ids: list, raw: dict, ctx: Context) -> list[Order]:
    """Run a bulk-capable operation on every selected order, all or nothing."""
    op = OPERATIONS.get(name)
    if op is None or not op.bulk:
        raise NotFound(N_("Unknown bulk operation %(name)s."), name=name)
    _require_operator(ctx)
    if isinstance(order_ids, (str, bytes)) or not hasattr(order_ids, "__iter__"):
        raise ValidationError(N_("Select at least one order."), "ids")
    ids = sorted({int(i) for i in order_ids if str(i).isdigit()})
    if not ids:
        raise ValidationError(N_("Select at least one order."), "ids")
    values = parse(op.fields + [CS_TEXT], raw, ctx.tz)
    with events.collecting(), db.atomic():
        found = {o.id: o for o in Order.select().where(Order.id.in_(ids))}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(N_("Order %(id)s does not exist."), id=missing[0])
        refused = [(i, refusal(op, found[i])) for i in ids]
        refused = [(i, err) for i, err in refused if err]
        if refused:
            error = StateError(N_("%(n)d of the selected orders cannot be changed, so none was."),
                               n=len(refused))
            error.details = refused
            raise error
        for i in ids:
            _run(op, found[i], values, ctx)
    fresh = {o.id: o for o in Order.select().where(Order.id.in_(ids))}
    return [fresh[i] for i in ids]


# --- manual order creation (seed: 주문생성) -------------------------------------------------

def _channel_choices():
    return [(str(c.id), c.name) for c in Channel.active_ones()]


ORDER_FIELDS = [
    Field("channel", N_("Channel"), kind="choice", required=True, choices=_channel_choices),
    Field("order_no", N_("Order number"), max_length=60),
    Field("shipping_fee", N_("Shipping fee"), kind="int", min=0, max=10_000_000),
    Field("buyer_name", N_("Buyer"), required=True, max_length=100),
    Field("buyer_phone", N_("Buyer phone"), kind="phone"),
    Field("buyer_mobile", N_("Buyer mobile"), kind="phone"),
    Field("recipient_name", N_("Recipient"), required=True, max_length=100),
    Field("recipient_phone", N_("Recipient phone"), kind="phone"),
    Field("recipient_mobile", N_("Recipient mobile"), kind="phone"),
    Field("zip_code", N_("Zip code"), kind="digits", max_length=7),
    Field("address", N_("Address"), required=True, max_length=300),
    Field("ship_memo", N_("Delivery memo"), max_length=300),
    CS_TEXT,
]

LINE_FIELDS = [
    Field("option_id", N_("Product"), kind="ref", required=True),
    Field("quantity", N_("Quantity"), kind="int", required=True, min=1, max=9999),
    Field("price", N_("Price"), kind="int", min=0, max=100_000_000),
]


def _parse_lines(raw_lines, tz) -> list[tuple[ProductOption, int, int]]:
    if not raw_lines:
        raise ValidationError(N_("Add at least one product."), "lines")
    parsed, errors = [], {}
    for index, raw in enumerate(raw_lines):
        try:
            values = parse(LINE_FIELDS, raw if isinstance(raw, dict) else {}, tz)
        except ValidationError as exc:
            for name, err in exc.errors.items():
                errors[f"lines-{index}-{name}"] = err
            continue
        option = (ProductOption.select(ProductOption, Product).join(Product)
                  .where(ProductOption.id == values["option_id"]).first())
        if option is None:
            errors[f"lines-{index}-option_id"] = ValidationError(
                N_("Line %(n)d: unknown product."), f"lines-{index}-option_id", n=index + 1)
            continue
        price = values["price"] if values.get("price") is not None else option.price_a
        parsed.append((option, values["quantity"], price))
    if errors:
        field_name, first = next(iter(errors.items()))
        raise ValidationError(first.message, field_name, errors=errors, **first.params)
    return parsed


def _generate_order_no(channel_id: int, ctx: Context) -> str:
    """M + local date + sequence, unique within the channel (seed: 미입력 시 자동생성)."""
    prefix = "M%s-" % clock.to_local(ctx.now, ctx.tz).strftime("%Y%m%d")
    taken = (Order.select(fn.COUNT(Order.id))
             .where((Order.channel == channel_id) & (Order.order_no.startswith(prefix))).scalar())
    n = taken + 1
    while Order.select().where((Order.channel == channel_id)
                               & (Order.order_no == f"{prefix}{n:04d}")).exists():
        n += 1
    return f"{prefix}{n:04d}"


def create_order(raw: dict, ctx: Context) -> Order:
    """Create an order by hand (or from the API) with its lines, in one transaction."""
    _require_operator(ctx)
    errors = {}
    try:
        values = parse(ORDER_FIELDS, raw, ctx.tz)
    except ValidationError as exc:
        values, errors = None, dict(exc.errors)
    try:
        lines = _parse_lines(raw.get("lines"), ctx.tz)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        field_name, first = next(iter(errors.items()))
        raise ValidationError(first.message, field_name, errors=errors, **first.params)
    channel_id = int(values.pop("channel"))
    cs_text = values.pop("cs_text")
    with events.collecting(), db.atomic():
        order_no = values.pop("order_no") or _generate_order_no(channel_id, ctx)
        if Order.select().where((Order.channel == channel_id)
                                & (Order.order_no == order_no)).exists():
            raise ValidationError(N_("Order number %(no)s already exists in this channel."),
                                  "order_no", no=order_no)
        values["shipping_fee"] = values.get("shipping_fee") or 0
        order = Order.create(channel=channel_id, order_no=order_no, received_at=ctx.now,
                             created_at=ctx.now, updated_at=ctx.now, updated_by=ctx.actor,
                             **values)
        for option, quantity, price in lines:
            OrderLine.create(order=order, option=option, product_code=option.product.code,
                             product_name=option.product.name, option_code=option.code,
                             option_name=option.name, quantity=quantity, unit_price=price)
        history.record(order, "create", ctx.actor, ctx.now, "[주문생성 : %s]" % order_no, cs_text)
        events.raise_event(events.Event("order", order.id, events.CREATED, ctx.now,
                                        ctx.actor.id if ctx.actor else None, key="v1"))
    return get(order.id)


# --- search (seed: CS 화면 검색영역) --------------------------------------------------------

def _group_choices():
    return [(str(g.id), g.name) for g in ChannelGroup.select().order_by(ChannelGroup.name)]


def _all_channel_choices():
    return [(str(c.id), c.name) for c in Channel.select().order_by(Channel.name)]


def _hold_choices():
    return [("1", N_("Held")), ("0", N_("Not held"))]


def _status_filter_choices():
    return [("none", N_("(none)"))] + [(str(s.id), s.name) for s in HandlingStatus.ordered()]


SEARCH_FIELDS = [
    Field("date_from", N_("Received from"), kind="date"),
    Field("date_to", N_("Received to"), kind="date"),
    Field("group", N_("Channel group"), kind="choice", choices=_group_choices),
    Field("channel", N_("Channel"), kind="choice", choices=_all_channel_choices),
    Field("state", N_("State"), kind="choice",
          choices=lambda: [(s, STATE_LABELS[s]) for s in STATES]),
    Field("cs_state", N_("CS state"), kind="choice",
          choices=lambda: [(s, CS_STATE_LABELS[s]) for s in CS_STATES]),
    Field("hold", N_("On hold"), kind="choice", choices=_hold_choices),
    Field("handling_status", N_("Handling status"), kind="choice",
          choices=_status_filter_choices),
    Field("q", N_("Keyword"), max_length=100,
          placeholder=N_("Order no., our order no., buyer, recipient, phone, address")),
]


def parse_search(raw: dict, tz) -> dict:
    """Parse console/API filters; empty values mean "any"."""
    return parse(SEARCH_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")}, tz)


def search(filters: dict, tz):
    """Return the query of orders matching parsed ``filters``, newest first."""
    query = (Order.select(Order, Channel, HandlingStatus)
             .join(Channel).switch(Order)
             .join(HandlingStatus, JOIN.LEFT_OUTER))
    if filters.get("date_from"):
        query = query.where(Order.received_at >= clock.local_day_bounds(filters["date_from"], tz)[0])
    if filters.get("date_to"):
        query = query.where(Order.received_at < clock.local_day_bounds(filters["date_to"], tz)[1])
    if filters.get("group"):
        query = query.where(Channel.group == int(filters["group"]))
    if filters.get("channel"):
        query = query.where(Order.channel == int(filters["channel"]))
    if filters.get("state"):
        query = query.where(Order.state == filters["state"])
    if filters.get("cs_state"):
        query = query.where(Order.cs_state == filters["cs_state"])
    if filters.get("hold"):
        query = query.where(Order.hold == (filters["hold"] == "1"))
    status = filters.get("handling_status")
    if status == "none":
        query = query.where(Order.handling_status.is_null())
    elif status:
        query = query.where(Order.handling_status == int(status))
    keyword = (filters.get("q") or "").strip()
    first = []
    if keyword:
        like = f"%{keyword}%"
        digits = keyword.replace("-", "").replace(" ", "")
        clause = ((Order.order_no ** like) | (Order.buyer_name ** like)
                  | (Order.recipient_name ** like) | (Order.address ** like))
        if digits.isdigit():
            phone_like = f"%{digits}%"
            for column in (Order.buyer_phone, Order.buyer_mobile, Order.recipient_phone,
                           Order.recipient_mobile):
                clause |= fn.REPLACE(column, "-", "") ** phone_like
            if len(digits) <= 12:
                clause |= Order.id == int(digits)
                first = [Case(None, [(Order.id == int(digits), 0)], 1)]  # 관리번호 hit on top
        query = query.where(clause)
    return query.order_by(*first, Order.received_at.desc(), Order.id.desc())


def paginate(query, page: int, per_page: int):
    """Return (rows, total, pages) for 1-based ``page``."""
    total = query.count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = list(query.paginate(page, per_page))
    if rows:  # load all lines of the page in one query, not one per row
        by_order = {}
        for line in OrderLine.select().where(OrderLine.order.in_([o.id for o in rows])):
            by_order.setdefault(line.order_id, []).append(line)
        for o in rows:
            o.page_lines = by_order.get(o.id, [])
    return rows, total, page, pages
