"""Order operations (seed 002, CS 화면): one function each, one transaction each.

Every operation is declared once in ``OPERATIONS`` with its fields; the htmx dialog, the bulk
action and the JSON API all go through ``perform`` / ``perform_bulk``, which parse the input,
check the state machine, save with an optimistic lock on ``Order.version`` and write the CS
history line in the same transaction. Nothing is changed when anything is refused.

The CS operations of the other concepts (합포, 개별취소, 상품변경, 주문복사, 우선순위, 회수)
are declared in their own modules on top of ``engine.order_core`` and registered here, so
``OPERATIONS`` stays the one registry.
"""
from __future__ import annotations

from peewee import Case, JOIN, fn

from engine import (
    clock, combining, copying, events, history, order_lines, paging, pickups, priority,
)
from engine.errors import NotFound, StateError, ValidationError
from engine.models import (
    Channel, ChannelGroup, HandlingStatus, Order, OrderLine, PaymentMethod, PaymentStatus,
    ProductOption, Product, db,
)
from engine.order_core import (  # noqa: F401  (re-exported: orders.Context, orders.get…)
    CANCELLED, CS_STATE_LABELS, CS_STATES, CS_TEXT, INVOICED, NORMAL, ORDER_COLUMNS, PARTIAL,
    RECEIVED, SHIPPED, STATE_LABELS, STATES, Context, Operation, change_other, commit,
    conflict as _conflict, courier_choices as _courier_choices, get,
    generate_order_no as _generate_order_no, reason_choices as _reason_choices, refusal,
    require_operator as _require_operator, save as _save, snapshot as _snapshot,
)
from engine.schema import Field, parse
from engine.text import N_

auto_combine = combining.auto_combine  # what imports call for each new order
MAX_ID = 2**31 - 1


def _status_choices():
    return [("", N_("(none)"))] + [(str(s.id), s.name) for s in
                                  HandlingStatus.ordered().where(HandlingStatus.active == True)]  # noqa: E712


# --- the state machine ------------------------------------------------------------------
# Each check returns None when the operation is allowed, or the refusal message.

def _check_hold(o: Order):
    """A shipped order may be held too: the hold then flags it (a late cancel, a return)."""
    if o.hold:
        return N_("The order is already on hold.")


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
    if o.cs_state == NORMAL:
        return N_("Only a cancelled order can be restored.")


def _check_delete(o: Order):
    if o.state != RECEIVED:
        return N_("Only a received order can be deleted (this one is %(state)s).")


def _check_any(o: Order):
    return None


# --- what each operation changes ----------------------------------------------------------
# Each apply mutates the (unsaved) order and returns the history detail text. A combined
# shipment (합포) is invoiced, shipped, un-shipped and un-invoiced as one: the apply changes
# the other members too (``change_other``), each with its own history line.

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


def _group_detail(detail: str, o: Order) -> str:
    group = combining.others(o)
    if not group:
        return detail
    return "%s [합포 : %s]" % (detail, ", ".join(str(m.id) for m in group))


def _apply_invoice(o: Order, v: dict, ctx: Context) -> str:
    combining.check_group(o, RECEIVED)
    group_ids = [m.id for m in combining.members(o)]
    clash = (Order.select(Order.id)
             .where((Order.courier == v["courier"]) & (Order.tracking_no == v["tracking_no"])
                    & Order.id.not_in(group_ids)).first())
    if clash is not None:
        raise ValidationError(N_("Tracking number %(no)s is already used by order %(id)s."),
                              "tracking_no", no=v["tracking_no"], id=clash.id)
    detail = "[택배사 : %s, 송장번호 : %s]" % (v["courier"], v["tracking_no"])

    def invoice(m: Order) -> None:
        m.courier, m.tracking_no = v["courier"], v["tracking_no"]
        m.state, m.invoiced_at = INVOICED, ctx.now
    for m in combining.others(o):
        change_other(m, ctx, "invoice", detail + " [합포 : %s]" % o.id, v.get("cs_text"),
                     invoice)
    invoice(o)
    return _group_detail(detail, o)


def _apply_delete_invoice(o: Order, v: dict, ctx: Context) -> str:
    combining.check_group(o, INVOICED, hold=False, cancelled=False)
    detail = "[택배사 : %s, 송장번호 : %s]" % (o.courier, o.tracking_no)

    def delete_invoice(m: Order) -> None:
        m.courier = m.tracking_no = m.invoiced_at = None
        m.state = RECEIVED
    for m in combining.others(o):
        change_other(m, ctx, "delete_invoice", detail + " [합포 : %s]" % o.id,
                     v.get("cs_text"), delete_invoice)
    delete_invoice(o)
    return _group_detail(detail, o)


def _apply_ship(o: Order, v: dict, ctx: Context) -> str:
    combining.check_group(o, INVOICED)
    detail = "[택배사 : %s, 송장번호 : %s]" % (o.courier, o.tracking_no)

    def ship(m: Order) -> None:
        m.state, m.shipped_at = SHIPPED, ctx.now
    for m in combining.others(o):
        change_other(m, ctx, "ship", detail + " [합포 : %s]" % o.id, v.get("cs_text"), ship)
    ship(o)
    return _group_detail(detail, o)


def _apply_unship(o: Order, v: dict, ctx: Context) -> str:
    combining.check_group(o, SHIPPED, hold=False, cancelled=False)

    def unship(m: Order) -> None:
        m.state, m.shipped_at = INVOICED, None
    for m in combining.others(o):
        change_other(m, ctx, "unship", "[합포 : %s]" % o.id, v.get("cs_text"), unship)
    unship(o)
    return _group_detail("", o).strip()


def _apply_cancel(o: Order, v: dict, ctx: Context) -> str:
    """전체취소: every line's whole quantity; a received combined order leaves its group."""
    order_lines.cancel_all(o)
    extra = order_lines.settle_cs_state(o, v["reason"], ctx, v.get("cs_text"))
    o.cs_state, o.cancel_reason = CANCELLED, v["reason"]
    return "[취소사유 : %s]%s" % (v["reason"], extra)


def _apply_restore(o: Order, v: dict, ctx: Context) -> str:
    """전체정상복귀: back to 정상 *and* 접수, so the order is worked again from the start (on
    its own: a combined order leaves its group)."""
    detail = "[취소사유 : %s]" % (o.cancel_reason or "")
    order_lines.restore_all(o)
    if o.combine_group:
        # its number goes first, or a member left alone with it would clash in the unique
        # index (the version check at the end still guards the whole change)
        Order.update(courier=None, tracking_no=None).where(Order.id == o.id).execute()
        detail += combining.leave_group(o, ctx, "uncombine", v.get("cs_text"))
    o.cs_state, o.cancel_reason = NORMAL, None
    o.state = RECEIVED
    o.courier = o.tracking_no = o.invoiced_at = o.shipped_at = None
    return detail


def _apply_delete(o: Order, v: dict, ctx: Context) -> str:
    """주문삭제 (soft): the order is marked deleted, hidden from the console search and
    refused by every operation; its CS history stays searchable. A combined order's
    group is dissolved first (합포삭제)."""
    detail = "[주문삭제]"
    if o.combine_group:
        detail = combining.dissolve(o, ctx, "delete_combine", v.get("cs_text")) + " " + detail
    o.deleted, o.deleted_at = True, ctx.now
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


# The panel shows the operations by group, in this order (seed 002's names in brackets).
GROUPS = [
    ("shipping", N_("Shipping")),          # 보류, 배송정보변경, 송장, 배송
    ("cancel", N_("Cancel")),              # 전체취소/정상복귀, 개별취소/정상복귀
    ("products", N_("Products")),          # 상품변경, 상품추가
    ("combine", N_("Combined shipment")),  # 합포추가/제외/삭제/금지
    ("returns", N_("Returns")),            # 회수, 반품예정, 교환예정
    ("order", N_("Order")),                # 처리상태, 우선순위, 주문복사, 주문삭제
    ("payment", N_("Payment and delivery")),
]

_CORE = [
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
    ], _check_cancel, _apply_cancel, danger=True, group="cancel"),
    Operation("restore", N_("Restore order"), [], _check_restore, _apply_restore,
              group="cancel"),
    Operation("set_handling_status", N_("Change handling status"), [
        Field("handling_status", N_("Handling status"), kind="choice", choices=_status_choices),
    ], _check_any, _apply_set_handling_status, bulk=True, group="order"),
    Operation("delete", N_("Delete order"), [], _check_delete, _apply_delete, danger=True,
              group="order"),
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
]

# The one registry: the dialogs, bulk actions, rules and the API all look operations up here.
OPERATIONS: dict[str, Operation] = {}
for _op in (_CORE + order_lines.OPERATIONS + combining.OPERATIONS + pickups.OPERATIONS
            + copying.OPERATIONS + priority.OPERATIONS):
    assert _op.name not in OPERATIONS, _op.name
    assert _op.group in dict(GROUPS), _op.group
    OPERATIONS[_op.name] = _op


def perform(name: str, order_id, raw: dict, ctx: Context,
            expected_version: int | None = None) -> Order:
    """Run operation ``name`` on one order with the raw fields (form or JSON).

    Returns the order as it is now, after the rules its change set off — or, for an
    operation that makes a new order (주문복사), the new order.
    """
    op = OPERATIONS.get(name)
    if op is None:
        raise NotFound(N_("Unknown operation %(name)s."), name=name)
    _require_operator(ctx)
    values = parse(op.fields + [CS_TEXT], raw, ctx.tz)
    ctx.result_id = None
    with events.collecting(), db.atomic():
        order = get(order_id)
        if expected_version is not None and order.version != expected_version:
            raise _conflict(order.id, ctx)
        _run(op, order, values, ctx)
    return get(ctx.result_id or order.id)


def _run(op: Operation, order: Order, values: dict, ctx: Context) -> None:
    refused = refusal(op, order)
    if refused:
        raise refused
    read_version = order.version
    before = _snapshot(order)
    detail = op.apply(order, values, ctx)
    commit(order, before, read_version, op.name, detail, values.get("cs_text"), ctx)
    ctx.touched.add(order.id)


def _ids(order_ids) -> list[int]:
    if isinstance(order_ids, (str, bytes)) or not hasattr(order_ids, "__iter__"):
        raise ValidationError(N_("Select at least one order."), "ids")
    ids = sorted({int(i) for i in order_ids if str(i).isdigit() and 0 < int(i) < 2**31})
    if not ids:
        raise ValidationError(N_("Select at least one order."), "ids")
    return ids


def perform_bulk(name: str, order_ids: list, raw: dict, ctx: Context) -> list[Order]:
    """Run a bulk-capable operation on every selected order, all or nothing.

    An order already changed as a member of a combined shipment selected before it (bulk
    ship of two members of one group) is not run twice.
    """
    op = OPERATIONS.get(name)
    if op is None or not op.bulk:
        raise NotFound(N_("Unknown bulk operation %(name)s."), name=name)
    _require_operator(ctx)
    ids = _ids(order_ids)
    values = parse(op.fields + [CS_TEXT], raw, ctx.tz)
    ctx.touched = set()
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
            if i not in ctx.touched:
                _run(op, Order.get_by_id(i), values, ctx)
    fresh = {o.id: o for o in Order.select().where(Order.id.in_(ids))}
    return [fresh[i] for i in ids]


def perform_each(name: str, items: list[tuple[int, dict]], ctx: Context) -> list[Order]:
    """Run one operation on several orders, each with its own fields, all or nothing
    (the returns page completes several pickups at once this way)."""
    op = OPERATIONS.get(name)
    if op is None:
        raise NotFound(N_("Unknown operation %(name)s."), name=name)
    _require_operator(ctx)
    parsed = [(order_id, parse(op.fields + [CS_TEXT], raw, ctx.tz)) for order_id, raw in items]
    with events.collecting(), db.atomic():
        for order_id, values in parsed:
            _run(op, get(order_id), values, ctx)
    return [get(order_id) for order_id, _ in items]


# --- manual order creation (seed: 주문생성) -------------------------------------------------

def _channel_choices():
    return [(str(c.id), c.name) for c in Channel.active_ones()]  # noqa: E501


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
    Field("option_id", N_("Product"), kind="ref", required=True, max=MAX_ID),
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
    Field("combined", N_("Combined shipment"), kind="choice",
          choices=lambda: [("1", N_("Combined")), ("0", N_("Ships alone"))]),
    Field("return_expected", N_("Return expected"), kind="choice",
          choices=lambda: [("1", N_("Marked")), ("0", N_("Not marked"))]),
    Field("exchange_expected", N_("Exchange expected"), kind="choice",
          choices=lambda: [("1", N_("Marked")), ("0", N_("Not marked"))]),
    Field("deleted", N_("Deleted orders"), kind="choice",
          choices=lambda: [("1", N_("Only deleted")), ("all", N_("Also deleted"))]),
    Field("q", N_("Keyword"), max_length=100,
          placeholder=N_("Order no., our order no., buyer, recipient, phone, address")),
    Field("sort", N_("Sort"), kind="choice",
          choices=lambda: [("received", N_("Newest first")),
                           ("priority", N_("Print priority"))]),
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
    for name in ("return_expected", "exchange_expected"):
        if filters.get(name):
            query = query.where(getattr(Order, name) == (filters[name] == "1"))
    if filters.get("combined") == "1":
        query = query.where(Order.combine_group.is_null(False))
    elif filters.get("combined") == "0":
        query = query.where(Order.combine_group.is_null())
    deleted = filters.get("deleted")
    if deleted == "1":
        query = query.where(Order.deleted == True)  # noqa: E712
    elif deleted != "all":
        query = query.where(Order.deleted == False)  # noqa: E712
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
    if filters.get("sort") == "priority":
        return query.order_by(*first, *priority.order_by_priority())
    return query.order_by(*first, Order.received_at.desc(), Order.id.desc())


def paginate(query, page: int, per_page: int):
    """``paging.paginate`` with each order's lines loaded for the whole page at once."""
    rows, total, page, pages = paging.paginate(query, page, per_page)
    if rows:  # load all lines of the page in one query, not one per row
        by_order = {}
        for line in OrderLine.select().where(OrderLine.order.in_([o.id for o in rows])):
            by_order.setdefault(line.order_id, []).append(line)
        for o in rows:
            o.page_lines = by_order.get(o.id, [])
    return rows, total, page, pages
