"""Channel cancels (seed 002, 취소관리): upload, preview, confirm, results and withdrawals.

A channel sends its cancels as an xlsx in its own column layout (포맷설정, kind "cancel").
An upload is read (streaming), each row is matched to our order and planned — full cancel,
partial cancel of a line, hold (the order is already 송장: "a cancel that arrives after the
invoice must not be applied silently"), listed for a return (already 배송), or a withdrawal
(취소철회) — and every problem is named per row. The plan is kept with the upload, so the
confirm works in any request or process. Nothing is applied before the confirm; the confirm
re-plans against the store as it is, applies the good rows through the order operations (CS
history lines and rule events as for a person), all in one transaction, and records a cancel
result per row (취소결과조회) or a withdrawal (취소철회조회).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from peewee import JOIN

from engine import clock, events, excel, orders
from engine.errors import EngineError, NotFound, StateError, ValidationError
from engine.excel import Column
from engine.models import (
    CancelReason, CancelResult, CancelUpload, CancelWithdrawal, Channel, ChannelGroup, Order,
    OrderLine, User, db,
)
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

KIND = "cancel"
PREVIEW, APPLIED, DISCARDED = "preview", "applied", "discarded"
FULL, PARTIAL, HOLD, SHIPPED, WITHDRAWAL = (
    "cancel", "partial_cancel", "hold", "shipped", "withdrawal")
ACTIONS = {
    FULL: N_("Cancel the order"),
    PARTIAL: N_("Cancel part of a line"),
    HOLD: N_("Hold: invoice already issued"),
    SHIPPED: N_("Hold: already shipped, list for a return"),
    WITHDRAWAL: N_("Cancel withdrawn by the customer"),
}
WITHDRAWAL_MARKS = {"y", "yes", "o", "1", "true", "철회", "취소철회", "withdrawn", "撤回"}

COLUMNS = [
    Column("order_no", N_("Order number"), required=True),
    Column("quantity", N_("Quantity"), hint=N_("Empty: the whole order is cancelled")),
    Column("product_code", N_("Product or option code"),
           hint=N_("Finds the line of a partial cancel")),
    Column("reason", N_("Cancel reason")),
    Column("requested_at", N_("Request date")),
    Column("return_waybill", N_("Return waybill")),
    Column("withdrawal", N_("Withdrawal mark"),
           hint=N_("Rows marked Y or 철회 are withdrawals")),
]
LABELS = {c.name: c.label for c in COLUMNS}


def _reason_choices():
    return [(r.name, r.name) for r in
            CancelReason.ordered().where(CancelReason.active == True)]  # noqa: E712


OPTION_FIELDS = [
    Field("default_reason", N_("Cancel reason when the file's is not one of ours"),
          kind="choice", required=True, choices=_reason_choices),
]
DEFAULTS = {"order_no": "주문번호", "quantity": "수량", "product_code": "상품코드",
            "reason": "취소사유", "requested_at": "취소요청일", "return_waybill": "반품송장번호",
            "header_row": 1}


def format_fields():
    return excel.format_fields(COLUMNS, OPTION_FIELDS)


def form_values(channel_id: int) -> dict:
    values = excel.format_values(excel.load_format(channel_id, KIND), DEFAULTS)
    if not values.get("default_reason"):
        first = _reason_choices()
        values["default_reason"] = first[0][0] if first else ""
    return values


def save_format(channel_id: int, raw: dict, ctx):
    return excel.save_format(channel_id, KIND, COLUMNS, raw, ctx, OPTION_FIELDS)


# --- reading a file ---------------------------------------------------------------------------

def _problem(message: str, column: excel.Located | None = None, field: str | None = None,
             **params) -> dict:
    return {"message": message, "params": params, "field": field,
            "label": LABELS.get(field) if field else None,
            "column": column.letter if column else None,
            "header": column.header if column else None}


def read_rows(path, fmt) -> list[dict]:
    """The rows of a cancel file as plain dicts, each with the problems of its cells.

    Raises ValidationError (field "file") for a file that cannot be used at all: not an
    xlsx, no header row, a mapped column missing.
    """
    sheet = excel.open_sheet(path)
    header, rows = excel.header_and_rows(sheet, fmt.header_row)
    located = excel.resolve(COLUMNS, fmt.columns, header)
    parsed, last = [], fmt.header_row
    for number, values in rows:
        cells = {name: values[loc.index] if loc.index < len(values) else None
                 for name, loc in located.items()}
        if all(excel.is_blank(v) for v in cells.values()):
            continue   # blank rows are listed when data follows them (below)
        for empty in range(last + 1, number):
            parsed.append({"row": empty, "empty": True, "problems": [
                _problem(N_("The row is empty: skipped."))]})
        last = number
        parsed.append(_read_row(number, cells, located))
    if not parsed:
        raise ValidationError(N_("The file has no rows below the header row."), "file")
    return parsed


def _read_row(number: int, cells: dict, located: dict) -> dict:
    row = {"row": number, "order_no": "", "quantity": None, "product_code": "", "reason": "",
           "requested_at": None, "return_waybill": "", "withdrawal": False, "problems": []}
    problems = row["problems"]
    row["order_no"] = excel.cell_text(cells.get("order_no"))
    if not row["order_no"]:
        problems.append(_problem(N_("is empty"), located["order_no"], "order_no"))
    for name in ("product_code", "reason", "return_waybill"):
        if name in cells:
            row[name] = excel.cell_text(cells[name])[:200]
    if not excel.is_blank(cells.get("quantity")):
        try:
            quantity = excel.cell_int(cells["quantity"])
        except excel.CellError as exc:
            problems.append(_problem(exc.message, located["quantity"], "quantity", **exc.params))
        else:
            if quantity < 1:
                problems.append(_problem(N_("must be at least 1 (found %(value)s)"),
                                         located["quantity"], "quantity", value=quantity))
            else:
                row["quantity"] = quantity
    if not excel.is_blank(cells.get("requested_at")):
        try:
            row["requested_at"] = excel.cell_datetime(cells["requested_at"]).isoformat(" ")
        except excel.CellError as exc:
            problems.append(_problem(exc.message, located["requested_at"], "requested_at",
                                     **exc.params))
    if not excel.is_blank(cells.get("withdrawal")):
        row["withdrawal"] = excel.cell_text(cells["withdrawal"]).casefold() in WITHDRAWAL_MARKS
    if row["return_waybill"]:
        compact = row["return_waybill"].replace("-", "").replace(" ", "")
        if not compact.isascii() or not compact.isdigit():
            problems.append(_problem(N_("may contain digits only (found %(value)s)"),
                                     located["return_waybill"], "return_waybill",
                                     value=row["return_waybill"]))
        row["return_waybill"] = compact[:40]
    return row


# --- planning ---------------------------------------------------------------------------------

def _orders_by_no(channel_id: int, numbers: list[str]) -> dict[str, Order]:
    found = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        for o in Order.select().where((Order.channel == channel_id)
                                      & Order.order_no.in_(chunk)):
            found[o.order_no] = o
    if found:
        by_order = defaultdict(list)
        ids = [o.id for o in found.values()]
        for start in range(0, len(ids), 500):
            for line in (OrderLine.select().where(OrderLine.order.in_(ids[start:start + 500]))
                         .order_by(OrderLine.id)):
                by_order[line.order_id].append(line)
        for o in found.values():
            o.plan_lines = by_order.get(o.id, [])
    return found


def _left(line: OrderLine) -> int:
    return line.quantity - (getattr(line, "cancelled_qty", 0) or 0)


def _line_label(line: OrderLine) -> str:
    return " ".join(p for p in (line.product_code, line.product_name, line.option_name) if p)


def plan(channel_id: int, rows: list[dict], default_reason: str) -> list[dict]:
    """Match each read row to its order and decide what the confirm would do.

    Adds ``order_id``, ``state``, ``action`` (None when the row is not applied), ``line_id``,
    ``reason_used`` and the planning problems. Pure reading: nothing is changed.
    """
    reasons = {name for name, _ in _reason_choices()}
    numbers = sorted({r["order_no"] for r in rows if r.get("order_no")})
    found = _orders_by_no(channel_id, numbers)
    full_by_order: dict[int, int] = {}            # order id → row that cancels it whole
    left_by_line: dict[int, int] = {}             # line id → quantity left after earlier rows
    cancel_op = orders.OPERATIONS["cancel"]
    partial_available = PARTIAL in orders.OPERATIONS
    planned = []
    for source in rows:
        row = {k: v for k, v in source.items() if k in (
            "row", "empty", "order_no", "quantity", "product_code", "reason", "requested_at",
            "return_waybill", "withdrawal")}
        row["problems"] = [p for p in source.get("problems", []) if not p.get("plan")]
        row.update(order_id=None, state=None, cs_state=None, hold=False, action=None,
                   line_id=None, line_label="", reason_used="")
        planned.append(row)
        if row.get("empty") or row["problems"]:
            continue
        order = found.get(row["order_no"])
        problems = row["problems"]
        if order is None or getattr(order, "deleted", False):
            problems.append(_plan_problem(N_("No order %(no)s in this channel."),
                                          no=row["order_no"]))
            continue
        row.update(order_id=order.id, state=order.state, cs_state=order.cs_state,
                   hold=order.hold)
        if row["withdrawal"]:
            row["action"] = WITHDRAWAL
            continue
        row["reason_used"] = row["reason"] if row["reason"] in reasons else default_reason
        if order.cs_state == orders.CANCELLED:
            problems.append(_plan_problem(N_("Order %(no)s is already cancelled."),
                                          no=row["order_no"]))
            continue
        if order.id in full_by_order:
            problems.append(_plan_problem(N_("Row %(row)d of this file already cancels this "
                                             "order."), row=full_by_order[order.id]))
            continue
        lines = [line for line in order.plan_lines if _left(line) > 0]
        for line in lines:
            left_by_line.setdefault(line.id, _left(line))
        total_left = sum(left_by_line[line.id] for line in lines)
        action, line = FULL, None
        if row["quantity"] is not None:
            if row["product_code"]:
                matching = [ln for ln in lines if row["product_code"] in
                            (ln.option_code, ln.product_code)]
                if not matching:
                    problems.append(_plan_problem(
                        N_("Order %(no)s has no product with code %(code)s."),
                        "product_code", no=row["order_no"], code=row["product_code"]))
                    continue
                line = next((ln for ln in matching if left_by_line[ln.id] >= row["quantity"]),
                            matching[0])
            elif len(lines) == 1:
                line = lines[0]
            if line is not None:
                if row["quantity"] > left_by_line[line.id]:
                    problems.append(_plan_problem(
                        N_("Quantity %(n)d is more than the %(left)d left on this line."),
                        "quantity", n=row["quantity"], left=left_by_line[line.id]))
                    continue
                if row["quantity"] < total_left:
                    action = PARTIAL
            elif row["quantity"] > total_left:
                problems.append(_plan_problem(
                    N_("Quantity %(n)d is more than the %(left)d left on this order."),
                    "quantity", n=row["quantity"], left=total_left))
                continue
            elif row["quantity"] < total_left:
                problems.append(_plan_problem(
                    N_("The order has several products: map the product code column to "
                       "cancel part of it."), "quantity"))
                continue
        if order.state == orders.INVOICED:
            action = HOLD
        elif order.state == orders.SHIPPED:
            action = SHIPPED
        elif action == PARTIAL and not partial_available:
            problems.append(_plan_problem(N_("Partial cancel is not available; cancel this "
                                             "line by hand.")))
            continue
        elif action == FULL:
            refused = orders.refusal(cancel_op, order)
            if refused:
                problems.append(_plan_problem(refused.message, **refused.params))
                continue
        row["action"] = action
        if action == PARTIAL or (line is not None and action in (HOLD, SHIPPED)):
            row["line_id"], row["line_label"] = line.id, _line_label(line)
        if action == PARTIAL:
            left_by_line[line.id] -= row["quantity"]
        elif action == FULL:
            full_by_order[order.id] = row["row"]
    return planned


def _plan_problem(message: str, field: str | None = None, **params) -> dict:
    problem = _problem(message, None, field, **params)
    problem["plan"] = True
    return problem


def is_good(row: dict) -> bool:
    return bool(row.get("action")) and not row.get("problems")


def summary(rows: list[dict]) -> dict:
    counts = defaultdict(int)
    for row in rows:
        if is_good(row):
            counts[row["action"]] += 1
            counts["good"] += 1
        elif row.get("empty"):
            counts["empty"] += 1
        else:
            counts["bad"] += 1
    counts["rows"] = len(rows)
    return dict(counts)


# --- upload and confirm -----------------------------------------------------------------------

def _channel(channel_id) -> Channel:
    channel = Channel.get_or_none(Channel.id == int(channel_id)) \
        if str(channel_id).isdigit() and int(channel_id) < 2**31 else None
    if channel is None:
        raise NotFound(N_("Channel %(id)s does not exist."), id=channel_id)
    return channel


def _format(channel: Channel):
    fmt = excel.load_format(channel.id, KIND)
    if fmt is None:
        raise ValidationError(N_("Channel %(name)s has no cancel file format yet: set its "
                                 "columns first (format settings)."), "channel",
                              name=channel.name)
    return fmt


def upload(channel_id, path, filename: str, ctx) -> CancelUpload:
    """Read and plan a cancel file; store the preview. A file-level problem raises."""
    require(ctx.actor, "operate")
    channel = _channel(channel_id)
    fmt = _format(channel)
    rows = read_rows(path, fmt)
    planned = plan(channel.id, rows, fmt.options.get("default_reason", ""))
    return CancelUpload.create(channel=channel, filename=(filename or "upload.xlsx")[:200],
                               rows=planned, created_at=ctx.now, created_by=ctx.actor)


def get_upload(upload_id) -> CancelUpload:
    found = CancelUpload.get_or_none(CancelUpload.id == int(upload_id)) \
        if str(upload_id).isdigit() and int(upload_id) < 2**31 else None
    if found is None:
        raise NotFound(N_("Cancel upload %(id)s does not exist."), id=upload_id)
    return found


def _signature(rows: list[dict]) -> list:
    return [(r["row"], r.get("action"), r.get("order_id"), r.get("line_id"),
             len(r.get("problems") or [])) for r in rows]


def confirm(upload_id, ctx) -> dict:
    """Apply the good rows of a previewed upload, all in one transaction; return the counts.

    The rows are planned again first: when anything changed since the preview (an order was
    invoiced meanwhile…) the new preview is stored and nothing is applied.
    """
    require(ctx.actor, "operate")
    up = get_upload(upload_id)
    if up.status != PREVIEW:
        raise StateError(N_("This upload was already applied or discarded."))
    fmt = excel.load_format(up.channel_id, KIND)
    default_reason = (fmt.options.get("default_reason") if fmt else "") or ""
    fresh = plan(up.channel_id, up.rows, default_reason)
    if _signature(fresh) != _signature(up.rows):
        CancelUpload.update(rows=fresh).where(CancelUpload.id == up.id).execute()
        raise StateError(N_("Orders changed since the preview; the preview now shows what "
                            "would be done. Check it and confirm again."))
    good = [row for row in fresh if is_good(row)]
    if not good:
        raise ValidationError(N_("No row of this file can be applied."), "rows")
    with events.collecting(), db.atomic():
        claimed = (CancelUpload.update(status=APPLIED, applied_at=ctx.now, applied_by=ctx.actor)
                   .where((CancelUpload.id == up.id) & (CancelUpload.status == PREVIEW))
                   .execute())
        if claimed != 1:
            raise StateError(N_("This upload was already applied or discarded."))
        for row in good:
            try:
                _apply_row(up, row, ctx)
            except EngineError as exc:
                error = StateError(N_("Nothing was applied: row %(row)d (order %(no)s) was "
                                      "refused."), row=row["row"], no=row["order_no"])
                error.details = [(row["row"], exc)]
                raise error from exc
    return summary(fresh)


def discard(upload_id, ctx) -> None:
    require(ctx.actor, "operate")
    up = get_upload(upload_id)
    done = (CancelUpload.update(status=DISCARDED)
            .where((CancelUpload.id == up.id) & (CancelUpload.status == PREVIEW)).execute())
    if done != 1:
        raise StateError(N_("This upload was already applied or discarded."))


def _text(origin: str, row: dict) -> str:
    """The CS text of an applied row; ``origin`` says where it came from ("#3 2행")."""
    kind = "취소철회" if row.get("action") == WITHDRAWAL else "판매처취소"
    parts = ["%s %s" % (kind, origin)]
    if row.get("reason"):
        parts.append("사유: %s" % row["reason"])
    if row.get("quantity"):
        parts.append("수량: %d" % row["quantity"])
    if row.get("requested_at"):
        parts.append("요청일: %s" % row["requested_at"][:16])
    if row.get("return_waybill"):
        parts.append("반품송장: %s" % row["return_waybill"])
    return ", ".join(parts)


def _partial_raw(operation, row: dict, text: str) -> dict:
    """The partial-cancel operation's input for one line and quantity, by its field names."""
    raw = {"cs_text": text}
    for f in operation.fields:
        if f.name in ("line", "line_id", "order_line", "order_line_id"):
            raw[f.name] = str(row["line_id"])
        elif f.name in ("quantity", "qty", "cancel_quantity"):
            raw[f.name] = str(row["quantity"])
        elif f.name in ("reason", "cancel_reason"):
            raw[f.name] = row["reason_used"]
    return raw


def _requested(row: dict, ctx):
    if not row.get("requested_at"):
        return None
    return clock.to_utc(dt.datetime.fromisoformat(row["requested_at"]), ctx.tz)


def _apply_row(up: CancelUpload, row: dict, ctx) -> None:
    apply_row(up.channel_id, row, ctx, "#%d %d행" % (up.id, row["row"]), upload=up)


def apply_row(channel_id: int, row: dict, ctx, origin: str, upload: CancelUpload | None = None,
              source: str = "upload") -> None:
    """Apply one planned cancel row (``plan``): the upload's confirm and the marketplace
    claim sync (``engine.connectors``) both come here, so a cancel is applied one way only.
    A cancel after the invoice (or after shipping) holds the order and is listed."""
    from engine import cs_history

    text = _text(origin, row)
    order_id, action = row["order_id"], row["action"]
    if action == WITHDRAWAL:
        _withdraw(channel_id, orders.get(order_id), row["order_no"], ctx,
                  withdrawn_at=_requested(row, ctx), note=text, upload=upload,
                  row_no=row["row"] if upload else None, source=source)
        return
    order = orders.get(order_id)
    state_before = order.state
    if action == FULL:
        orders.perform("cancel", order_id, {"reason": row["reason_used"], "cs_text": text}, ctx)
    elif action == PARTIAL:
        operation = orders.OPERATIONS[PARTIAL]
        orders.perform(PARTIAL, order_id, _partial_raw(operation, row, text), ctx)
    elif action in (HOLD, SHIPPED) and not order.hold:
        # a cancel after the invoice is never applied silently: the order is held and listed
        tag = "[송장 후 판매처취소]" if action == HOLD else "[배송 후 판매처취소]"
        orders.perform("hold", order_id, {"cs_text": f"{tag} {text}"}, ctx)
    else:  # already held: an open CS line so nobody misses it
        detail = "[송장 후 판매처취소]" if action == HOLD else "[배송 후 판매처취소]"
        cs_history.write_note([order_id], text, ctx, detail=detail)
    CancelResult.create(upload=upload, row_no=row["row"] if upload else None,
                        channel=channel_id, order=order_id,
                        order_no=row["order_no"], action=action, quantity=row.get("quantity"),
                        line_label=row.get("line_label", "")[:300],
                        reason=(row.get("reason") or row.get("reason_used") or "")[:200],
                        requested_at=_requested(row, ctx),
                        return_waybill=row.get("return_waybill", ""), state_before=state_before,
                        applied_at=ctx.now, applied_by=ctx.actor)


# --- withdrawals (취소철회) ---------------------------------------------------------------------

def _withdraw(channel_id: int, order: Order, order_no: str, ctx, withdrawn_at=None,
              note: str = "", upload: CancelUpload | None = None, row_no: int | None = None,
              source: str = "upload") -> CancelWithdrawal:
    from engine import cs_history

    last_cancel = (CancelResult.select().where(CancelResult.order == order.id)
                   .order_by(CancelResult.applied_at.desc(), CancelResult.id.desc()).first())
    withdrawal = CancelWithdrawal.create(
        upload=upload, row_no=row_no, channel=channel_id, order=order.id, order_no=order_no,
        cancel_result=last_cancel, withdrawn_at=withdrawn_at, note=note[:2000], source=source,
        received_at=ctx.now, received_by=ctx.actor)
    cs_history.write_note([order.id], note, ctx, detail="[취소철회 접수]")
    return withdrawal


WITHDRAWAL_FIELDS = [
    Field("order_no", N_("Order number"), required=True, max_length=60),
    Field("withdrawn_at", N_("Withdrawn at"), kind="datetime"),
    Field("note", N_("Note"), kind="textarea", max_length=2000),
]


def record_withdrawal(channel_id, raw: dict, ctx) -> CancelWithdrawal:
    """Record one withdrawal (the API's way in): the order must exist in the channel."""
    require(ctx.actor, "operate")
    channel = _channel(channel_id)
    values = parse(WITHDRAWAL_FIELDS, raw, ctx.tz)
    order = _orders_by_no(channel.id, [values["order_no"]]).get(values["order_no"])
    if order is None:
        raise ValidationError(N_("No order %(no)s in this channel."), "order_no",
                              no=values["order_no"])
    note = values["note"] or "취소철회 (API)"
    with events.collecting(), db.atomic():
        return _withdraw(channel.id, order, values["order_no"], ctx,
                         withdrawn_at=values["withdrawn_at"], note=note, source="api")


# --- result and withdrawal lists ---------------------------------------------------------------

def _group_choices():
    return [(str(g.id), g.name) for g in ChannelGroup.select().order_by(ChannelGroup.name)]


def _all_channels():
    return [(str(c.id), c.name) for c in Channel.select().order_by(Channel.name)]


def _confirmed_choices():
    return [("0", N_("Not confirmed")), ("1", N_("Confirmed"))]


def _result_action_choices():
    return [(k, v) for k, v in ACTIONS.items() if k != WITHDRAWAL]


RESULT_FIELDS = [
    Field("date_from", N_("Applied from"), kind="date"),
    Field("date_to", N_("Applied to"), kind="date"),
    Field("group", N_("Channel group"), kind="choice", choices=_group_choices),
    Field("channel", N_("Channel"), kind="choice", choices=_all_channels),
    Field("action", N_("What was done"), kind="choice", choices=_result_action_choices),
    Field("state", N_("Order state"), kind="choice",
          choices=lambda: list(orders.STATE_LABELS.items())),
    Field("confirmed", N_("Confirmed"), kind="choice", choices=_confirmed_choices),
    Field("q", N_("Keyword"), max_length=100, placeholder=N_("Order no., our order no., buyer")),
]
WITHDRAWAL_SEARCH_FIELDS = [
    Field("date_from", N_("Received from"), kind="date"),
    Field("date_to", N_("Received to"), kind="date"),
    Field("group", N_("Channel group"), kind="choice", choices=_group_choices),
    Field("channel", N_("Channel"), kind="choice", choices=_all_channels),
    Field("confirmed", N_("Confirmed"), kind="choice", choices=_confirmed_choices),
    Field("q", N_("Keyword"), max_length=100, placeholder=N_("Order no., our order no., buyer")),
]


def parse_filters(fields, raw: dict, tz) -> dict:
    return parse(fields, {k: v for k, v in raw.items() if v not in (None, "")}, tz)


def _common(query, model, stamp, filters: dict, tz):
    if filters.get("date_from"):
        query = query.where(stamp >= clock.local_day_bounds(filters["date_from"], tz)[0])
    if filters.get("date_to"):
        query = query.where(stamp < clock.local_day_bounds(filters["date_to"], tz)[1])
    if filters.get("group"):
        query = query.where(Channel.group == int(filters["group"]))
    if filters.get("channel"):
        query = query.where(model.channel == int(filters["channel"]))
    if filters.get("confirmed"):
        query = query.where(model.confirmed == (filters["confirmed"] == "1"))
    keyword = (filters.get("q") or "").strip()
    if keyword:
        like = f"%{keyword}%"
        clause = (model.order_no ** like) | (Order.buyer_name ** like) \
            | (Order.recipient_name ** like)
        if keyword.isascii() and keyword.isdigit() and len(keyword) <= 9:
            clause |= model.order == int(keyword)
        query = query.where(clause)
    return query


def results(filters: dict, tz):
    """취소결과조회: applied cancels, newest first, with their order and channel."""
    applier = User.alias()
    query = (CancelResult.select(CancelResult, Channel, Order, applier)
             .join(Channel).switch(CancelResult)
             .join(Order, JOIN.LEFT_OUTER).switch(CancelResult)
             .join(applier, JOIN.LEFT_OUTER, on=(CancelResult.applied_by == applier.id)))
    query = _common(query, CancelResult, CancelResult.applied_at, filters, tz)
    if filters.get("action"):
        query = query.where(CancelResult.action == filters["action"])
    if filters.get("state"):
        query = query.where(Order.state == filters["state"])
    return query.order_by(CancelResult.applied_at.desc(), CancelResult.id.desc())


def withdrawals(filters: dict, tz):
    """취소철회조회: withdrawals, newest first, with their order, channel and the cancel."""
    receiver = User.alias()
    query = (CancelWithdrawal.select(CancelWithdrawal, Channel, Order, CancelResult, receiver)
             .join(Channel).switch(CancelWithdrawal)
             .join(Order, JOIN.LEFT_OUTER).switch(CancelWithdrawal)
             .join(CancelResult, JOIN.LEFT_OUTER).switch(CancelWithdrawal)
             .join(receiver, JOIN.LEFT_OUTER, on=(CancelWithdrawal.received_by == receiver.id)))
    query = _common(query, CancelWithdrawal, CancelWithdrawal.received_at, filters, tz)
    return query.order_by(CancelWithdrawal.received_at.desc(), CancelWithdrawal.id.desc())


def _confirm(model, ids, ctx) -> int:
    require(ctx.actor, "operate")
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        ids = []
    ids = sorted({int(i) for i in ids if str(i).isdigit() and int(i) < 2**31})
    if not ids:
        raise ValidationError(N_("Select at least one row."), "ids")
    with db.atomic():
        return (model.update(confirmed=True, confirmed_at=ctx.now, confirmed_by=ctx.actor)
                .where(model.id.in_(ids) & (model.confirmed == False))  # noqa: E712
                .execute())


def confirm_results(ids, ctx) -> int:
    """선택확인 on 취소결과조회."""
    return _confirm(CancelResult, ids, ctx)


def confirm_all_results(filters: dict, ctx) -> int:
    """전체확인: every unconfirmed result the search finds."""
    require(ctx.actor, "operate")
    ids = [r.id for r in results(filters, ctx.tz).where(CancelResult.confirmed == False)]  # noqa: E712
    done = 0
    for start in range(0, len(ids), 500):
        done += _confirm(CancelResult, ids[start:start + 500], ctx)
    return done


def confirm_withdrawals(ids, ctx) -> int:
    """선택확인 on 취소철회조회."""
    return _confirm(CancelWithdrawal, ids, ctx)


# --- downloads ----------------------------------------------------------------------------------

RESULT_HEADER = [N_("Applied at"), N_("Channel"), N_("Order number"), N_("Our order no."),
                 N_("Buyer"), N_("What was done"), N_("Quantity"), N_("Product"),
                 N_("Cancel reason"), N_("Request date"), N_("Return waybill"),
                 N_("State before"), N_("Order state now"), N_("Tracking number"),
                 N_("Shipped at"), N_("Applied by"), N_("Confirmed")]
WITHDRAWAL_HEADER = [N_("Received at"), N_("Channel"), N_("Order number"), N_("Our order no."),
                     N_("Buyer"), N_("Order state"), N_("Cancelled at"), N_("Withdrawn at"),
                     N_("Note"), N_("Received by"), N_("Confirmed")]


def _local(value, tz):
    local = clock.to_local(value, tz)
    return local.replace(tzinfo=None) if local else None


def write_results(target, filters: dict, tz, translate=lambda s: s) -> None:
    def rows():
        for r in results(filters, tz).iterator():
            o = r.order if r.order_id else None
            yield [_local(r.applied_at, tz), r.channel.name, r.order_no, r.order_id,
                   o.buyer_name if o else "", translate(ACTIONS.get(r.action, r.action)),
                   r.quantity, r.line_label, r.reason, _local(r.requested_at, tz),
                   r.return_waybill, r.state_before, o.state if o else "",
                   (o.tracking_no or "") if o else "", _local(o.shipped_at, tz) if o else None,
                   r.applied_by.display_name if r.applied_by_id else "",
                   translate(N_("Yes")) if r.confirmed else ""]
    excel.write_xlsx(target, [translate(h) for h in RESULT_HEADER], rows(), "취소결과")


def write_withdrawals(target, filters: dict, tz, translate=lambda s: s) -> None:
    def rows():
        for w in withdrawals(filters, tz).iterator():
            o = w.order if w.order_id else None
            cancelled = w.cancel_result.applied_at if w.cancel_result_id else None
            yield [_local(w.received_at, tz), w.channel.name, w.order_no, w.order_id,
                   o.buyer_name if o else "", o.state + "/" + o.cs_state if o else "",
                   _local(cancelled, tz), _local(w.withdrawn_at, tz), w.note,
                   w.received_by.display_name if w.received_by_id else "",
                   translate(N_("Yes")) if w.confirmed else ""]
    excel.write_xlsx(target, [translate(h) for h in WITHDRAWAL_HEADER], rows(), "취소철회")
