"""Marketplace connectors: what the connector jobs do with what an adapter brings.

``run(kind, job, channel, since, now)`` is the scheduler's way in (engine/jobs.py). An adapter
(``base.Connector``: demo, excel, naver…) only talks to its marketplace; everything the store
does with the result lives here, on the same code paths people use:

* 주문수집 — fetched orders are order rows for ``imports.check_records`` + ``imports.write``,
  the Excel import's own validation, duplicate skipping (collecting a window twice imports
  nothing twice), auto-combining and ``created`` rule events; option ``confirm`` confirms the
  newly imported ones at the marketplace.
* 클레임 동기화 — cancels and withdrawals are planned and applied by ``cancels.plan`` /
  ``cancels.apply_row`` like a confirmed cancel upload (a cancel after the invoice holds the
  order and is listed in the cancel results); returns and exchanges mark the order the way
  the CS operations do. A ``ClaimReceipt`` per claim makes the sync idempotent.
* 운송장 전송 — shipped orders whose tracking number was not sent yet; one ``InvoicePush`` row
  per order says sent or failed (a failed one is retried by the next run and listed).
* 문의 수집 / 문의답변 전송 — ``Inquiry`` rows, unique per channel and marketplace id; answers
  written in ruledesk (engine/inquiries.py) are pushed and marked sent or failed.

Every run returns its counts with a readable detail (``jobs.Counts``); a ConnectorError fails
only the run of that shop account.
"""
from __future__ import annotations

import datetime as dt
import logging
from importlib import import_module

from peewee import JOIN, IntegrityError

from engine import cancels, clock, credentials, events, imports, orders
from engine.connectors.base import (
    CLAIM_KINDS, INQUIRY_KINDS, TYPES, Connector, ConnectorError, InvoicePush as Push,
    MarketClaim, MarketInquiry, MarketOrder, PushResult, register,
)
from engine.errors import EngineError, ValidationError
from engine.models import Channel, ClaimReceipt, Inquiry, InvoicePush, Order, db
from engine.text import N_
from engine.users import require

log = logging.getLogger("ruledesk.connectors")

for _name in ("demo", "excel", "naver"):   # built-ins register themselves
    try:
        import_module(f"engine.connectors.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"engine.connectors.{_name}":
            raise

DETAIL_LINES = 200
PUSH_BATCH = 50
# the job option ``types`` (engine.jobs.INQUIRY_TYPES, seed 000: 세부작업) → inquiry kinds
OPTION_KINDS = {"qna": "product_qna", "urgent": "urgent", "review": "review"}
KIND_LABELS = {"product_qna": N_("Product Q&A"), "urgent": N_("Urgent messages"),
               "review": N_("Reviews")}
ANSWER_STATUSES = {"none": N_("Not answered"), "pending": N_("Waiting to be sent"),
                   "sent": N_("Sent"), "failed": N_("Sending failed")}


# --- the adapter of a channel --------------------------------------------------------------------

def type_choices() -> list[tuple[str, str]]:
    return [(name, cls.label or name) for name, cls in sorted(TYPES.items())]


def adapter_for(channel: Channel) -> Connector:
    """The channel's adapter with its decrypted credentials and its settings."""
    if not channel.connector:
        from engine.jobs import JobError
        raise JobError(N_("%(channel)s has no marketplace connector."), channel=channel.name)
    cls = TYPES.get(channel.connector)
    if cls is None:
        raise ConnectorError(N_("%(channel)s: unknown connector type %(type)s."),
                             channel=channel.name, type=channel.connector)
    return cls(channel.name, credentials.decrypt(channel.credentials or ""),
               dict(channel.connector_settings or {}))


# what each job needs of the adapter (a watched folder brings orders and claims as files)
NEEDS = {"collect_orders": ("fetch_orders", "order collection"),
         "sync_claims": ("fetch_claims", "claim sync"),
         "send_invoices": ("push_invoices", "sending tracking numbers"),
         "collect_inquiries": ("fetch_inquiries", "inquiry collection"),
         "send_answers": ("push_answer", "sending answers")}


def supports(adapter: Connector | type[Connector], kind: str) -> bool:
    cls = adapter if isinstance(adapter, type) else type(adapter)
    method, _ = NEEDS[kind]
    if getattr(cls, "reads_files", False) and kind in ("collect_orders", "sync_claims"):
        return True
    return getattr(cls, method) is not getattr(Connector, method)


def can_run(channel: Channel, kind: str) -> bool:
    """Whether a job of ``kind`` aimed at "all" shop accounts concerns ``channel``: it has a
    connector, and that connector does what the job asks. (A job that *names* a channel runs
    there anyway and fails visibly when it cannot.)"""
    cls = TYPES.get(channel.connector or "")
    return cls is not None and supports(cls, kind)


def run(kind: str, job, channel: Channel, since: dt.datetime, now: dt.datetime):
    """One connector job for one shop account (engine/jobs.py calls this). A connector that
    cannot do what the job asks fails the run at once, even with nothing to do, so a job
    aimed at the wrong shop account is seen in the log."""
    adapter = adapter_for(channel)
    if not supports(adapter, kind):
        adapter._unsupported(NEEDS[kind][1])
    return RUNNERS[kind](adapter, job, channel, since, now)


class _Report:
    """Counts plus the lines of the run's detail (capped, the count of the rest kept)."""

    def __init__(self, **counts):
        self.counts = dict(counts)
        self.lines: list[str] = []
        self.more = 0

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def line(self, text: str) -> None:
        if len(self.lines) < DETAIL_LINES:
            self.lines.append(text)
        else:
            self.more += 1

    def result(self):
        from engine.jobs import Counts
        lines = self.lines + ([f"… +{self.more}"] if self.more else [])
        return Counts(self.counts, detail="\n".join(lines))

    def fail(self, exc: EngineError) -> EngineError:
        """Let what was done before ``exc`` ride along with it into the job log."""
        exc.counts = self.result()
        return exc


def _context(now: dt.datetime) -> orders.Context:
    return orders.Context(None, now)   # the system acts: no operator, rules still fire


# --- 주문수집 ----------------------------------------------------------------------------------

def order_records(market_orders: list[MarketOrder], tz) -> list[dict]:
    """Market orders as order-file rows (one per line, the import's COLUMNS' names)."""
    records = []
    for o in market_orders:
        received = o.received_at.replace(tzinfo=dt.timezone.utc) if o.received_at else None
        head = {"order_no": o.order_no, "received_at": received, "buyer_name": o.buyer_name,
                "recipient_name": o.recipient_name, "zip_code": o.zip_code,
                "address": o.address, "ship_memo": o.ship_memo}
        for who, number in (("buyer", o.buyer_phone), ("recipient", o.recipient_phone)):
            compact = number.replace("-", "").replace(" ", "")
            head[f"{who}_mobile" if compact.startswith("01") else f"{who}_phone"] = number
        for n, item in enumerate(o.items or [None]):
            row = dict(head)
            if item is not None:
                row.update(option_code=item.option_code or item.product_code,
                           quantity=item.quantity, price=item.unit_price)
            if n == 0:
                row["shipping_fee"] = o.shipping_fee
            records.append(row)
    return records


def _problem_text(problem: dict, order_no: str = "") -> str:
    message = problem["message"] % problem["params"] if problem.get("params") else \
        problem["message"]
    where = f"{problem['label']} " if problem.get("label") else ""
    return f"{order_no}: {where}{message}" if order_no else f"{where}{message}"


def _import_checked(checked, channel, ctx, report: _Report, note: str, filename: str = ""):
    imported = imports.write(checked, channel, ctx, filename, note=note)
    report.add("collected", imported)
    report.add("duplicates", checked.counts.get("duplicate_orders", 0))
    bad = (checked.counts.get("orders", 0) - checked.counts.get("good_orders", 0)
           - checked.counts.get("duplicate_orders", 0))
    report.add("failed", bad)
    return imported


def collect_orders(adapter, job, channel, since, now):
    ctx = _context(now)
    report = _Report(collected=0, duplicates=0, failed=0)
    if getattr(adapter, "reads_files", False):
        return _collect_order_files(adapter, channel, ctx, report)
    try:
        fetched = adapter.fetch_orders(since, now)
    except EngineError as exc:
        raise report.fail(exc)
    report.add("fetched", len(fetched))
    records = order_records(fetched, ctx.tz)
    checked = imports.check_records(records, channel, ctx)
    _import_checked(checked, channel, ctx, report, "[주문수집 : %s]" % channel.name)
    new_nos = {o.order_no for o in checked.orders}
    for o in checked.orders:
        report.line("수집: %s (%d개 상품)" % (o.order_no, len(o.lines)))
    order_of_row = {n: r["order_no"] for n, r in enumerate(records, 1)}
    for problem in checked.problems:
        if problem["kind"] == "duplicate":
            continue
        report.line("오류: " + _problem_text(problem, order_of_row.get(problem["row"], "")))
    if (job.options or {}).get("confirm") and new_nos:
        _confirm(adapter, [o for o in fetched if o.order_no in new_nos], report)
    return report.result()


def _confirm(adapter, market_orders, report: _Report) -> None:
    """발주확인 of the newly imported orders; a refusal is listed, the orders stay imported."""
    try:
        results = adapter.confirm_orders(market_orders)
    except EngineError as exc:
        report.add("confirm_failed", len(market_orders))
        report.line("발주확인 실패: %s" % exc.render())
        return
    answered = {r.key: r for r in results}
    for o in market_orders:
        result = answered.get(o.order_no)
        if result is not None and result.ok:
            report.add("confirmed")
        else:
            report.add("confirm_failed")
            report.line("발주확인 실패: %s %s" % (o.order_no, result.error if result else
                                              "(no answer)"))


def _collect_order_files(adapter, channel, ctx, report: _Report):
    paths = adapter.order_files()
    for path in paths:
        try:
            fmt = imports._format(channel)
            checked = imports.check(path, channel, fmt, ctx)
            imported = _import_checked(checked, channel, ctx, report,
                                       "[주문수집 : %s]" % path.name, path.name)
        except EngineError as exc:
            report.add("failed_files")
            moved = adapter.finish(path, False, ctx.now)
            report.line("파일 실패: %s → %s: %s" % (path.name, moved.parent.name, exc.render()))
            continue
        adapter.finish(path, True, ctx.now)
        report.add("files")
        report.line("파일: %s — %d건 수집, 중복 %d건, 오류 %d건" % (
            path.name, imported, checked.counts.get("duplicate_orders", 0),
            checked.problem_total - checked.counts.get("duplicate_orders", 0)))
        for problem in checked.problems:
            if problem["kind"] != "duplicate":
                report.line("  %d행: %s" % (problem["row"], _problem_text(problem)))
    return report.result()


# --- 클레임 동기화 -------------------------------------------------------------------------------

def _claim_key(claim: MarketClaim) -> str:
    """The claim's own id, else what makes it this claim: order, kind, line, quantity, time."""
    if claim.external_id:
        return ("id:" + claim.external_id)[:200]
    when = claim.requested_at.isoformat() if claim.requested_at else ""
    return ":".join([claim.order_no, claim.kind, claim.option_code or claim.product_code,
                     str(claim.quantity or ""), when])[:200]


def _cancel_row(number: int, claim: MarketClaim, tz) -> dict:
    """A cancel or withdrawal claim as a cancel-file row (``cancels.read_rows``' shape)."""
    local = clock.to_local(claim.requested_at, tz) if claim.requested_at else None
    return {"row": number, "order_no": claim.order_no, "quantity": claim.quantity,
            "product_code": claim.option_code or claim.product_code,
            "reason": (claim.reason or "")[:200],
            "requested_at": local.replace(tzinfo=None).isoformat(" ") if local else None,
            "return_waybill": claim.return_waybill or "",
            "withdrawal": claim.kind == "withdrawn", "problems": []}


def _row_claim(row: dict, tz) -> MarketClaim:
    """A row of a claim file (``cancels.read_rows``) as a claim, for its key."""
    requested = None
    if row.get("requested_at"):
        requested = clock.to_utc(dt.datetime.fromisoformat(row["requested_at"]), tz)
    return MarketClaim(order_no=row["order_no"], kind="withdrawn" if row["withdrawal"]
                       else "cancel", requested_at=requested, reason=row.get("reason") or "",
                       product_code=row.get("product_code") or "", quantity=row.get("quantity"),
                       return_waybill=row.get("return_waybill") or "")


def sync_claims(adapter, job, channel, since, now):
    ctx = _context(now)
    report = _Report(synced=0, held=0, duplicates=0, failed=0)
    if getattr(adapter, "reads_files", False):
        return _sync_claim_files(adapter, channel, ctx, report)
    try:
        claims = adapter.fetch_claims(since, now)
    except EngineError as exc:
        raise report.fail(exc)
    report.add("fetched", len(claims))
    apply_claims(channel, [(c, None) for c in claims], ctx, report, "api")
    return report.result()


def _sync_claim_files(adapter, channel, ctx, report: _Report):
    for path in adapter.claim_files():
        try:
            fmt = cancels._format(channel)
            rows = cancels.read_rows(path, fmt)
        except EngineError as exc:
            moved = adapter.finish(path, False, ctx.now)
            report.add("failed_files")
            report.line("파일 실패: %s → %s: %s" % (path.name, moved.parent.name, exc.render()))
            continue
        items = []
        for row in rows:
            if row.get("empty"):
                continue
            if row["problems"]:
                report.add("failed")
                report.line("%s %d행: %s" % (path.name, row["row"], "; ".join(
                    _problem_text(p) for p in row["problems"])))
                continue
            items.append((_row_claim(row, ctx.tz), row))
        apply_claims(channel, items, ctx, report, "upload", origin=path.name)
        adapter.finish(path, True, ctx.now)
        report.add("files")
    return report.result()


def apply_claims(channel: Channel, items: list[tuple[MarketClaim, dict | None]], ctx,
                 report: _Report, source: str, origin: str = "API") -> None:
    """Apply claims not applied before, each in its own transaction with its receipt."""
    keys = [_claim_key(c) for c, _ in items]
    seen = set()
    for start in range(0, len(keys), 500):
        seen.update(k for (k,) in ClaimReceipt.select(ClaimReceipt.key).where(
            (ClaimReceipt.channel == channel.id)
            & ClaimReceipt.key.in_(keys[start:start + 500])).tuples())
    fresh = []
    for key, (claim, row) in zip(keys, items):
        if key in seen or claim.kind not in CLAIM_KINDS:
            if key in seen:
                report.add("duplicates")
            else:
                report.add("failed")
                report.line("%s: 알 수 없는 클레임 종류 %s" % (claim.order_no, claim.kind))
            continue
        seen.add(key)          # the same claim twice in one answer counts once
        fresh.append((key, claim, row))
    cancel_like = [(key, claim, row) for key, claim, row in fresh
                   if claim.kind in ("cancel", "withdrawn")]
    rows = [dict(row or _cancel_row(0, claim, ctx.tz), row=n)
            for n, (_, claim, row) in enumerate(cancel_like, 1)]
    default_reason = cancels.form_values(channel.id).get("default_reason") or ""
    planned = cancels.plan(channel.id, rows, default_reason) if rows else []
    for (key, claim, _), row in zip(cancel_like, planned):
        label = "%s %s" % (origin, claim.external_id or claim.order_no)
        if row["order_id"] is None:
            report.add("not_found")
            report.line("%s: 주문이 아직 없음 (다음 실행에서 다시 확인)" % claim.order_no)
            continue
        if not cancels.is_good(row):
            reason = "; ".join(_problem_text(p) for p in row["problems"])
            _receipt(channel, key, claim, row["order_id"], "refused: " + reason, ctx)
            report.add("refused")
            report.line("%s: 적용 안 함 — %s" % (claim.order_no, reason))
            continue
        try:
            with events.collecting(), db.atomic():
                cancels.apply_row(channel.id, row, ctx, label, source=source)
                _receipt(channel, key, claim, row["order_id"], row["action"], ctx)
        except (EngineError, IntegrityError) as exc:
            report.add("failed")
            report.line("%s: 실패 — %s" % (claim.order_no, exc.render() if isinstance(
                exc, EngineError) else exc))
            continue
        if row["action"] in (cancels.HOLD, cancels.SHIPPED):
            report.add("held")
            report.line("%s: 송장/배송 후 취소 → 보류" % claim.order_no)
        else:
            report.add("synced")
            report.line("%s: %s" % (claim.order_no, {
                cancels.FULL: "취소", cancels.PARTIAL: "부분취소",
                cancels.WITHDRAWAL: "취소철회 접수"}.get(row["action"], row["action"])))
    for key, claim, _ in fresh:
        if claim.kind in ("return", "exchange"):
            _apply_return(channel, key, claim, ctx, report, origin)


def _receipt(channel, key, claim, order_id, outcome, ctx) -> None:
    ClaimReceipt.create(channel=channel.id, key=key, kind=claim.kind[:10], order=order_id,
                        order_no=claim.order_no[:60], outcome=str(outcome)[:300],
                        received_at=ctx.now)


def _apply_return(channel, key, claim: MarketClaim, ctx, report: _Report, origin: str) -> None:
    """A return or exchange claim marks the order 반품예정 / 교환예정 (the CS operations)."""
    from engine import cs_history, pickups

    order = (Order.select().where((Order.channel == channel.id)
                                  & (Order.order_no == claim.order_no)).first())
    if order is None or order.deleted:
        report.add("not_found")
        report.line("%s: 주문이 아직 없음 (다음 실행에서 다시 확인)" % claim.order_no)
        return
    word = "반품" if claim.kind == "return" else "교환"
    text = "판매처 %s요청 %s %s%s" % (word, origin, claim.external_id or "",
                                   (", 사유: %s" % claim.reason) if claim.reason else "")
    if claim.return_waybill:
        text += ", 반품송장: %s" % claim.return_waybill
    try:
        with events.collecting(), db.atomic():
            if claim.kind == "return" and not order.return_expected:
                orders.perform("mark_return_expected", order.id, {"cs_text": text}, ctx)
            elif claim.kind == "exchange" and not order.exchange_expected:
                types = [k for k, _ in pickups.exchange_choices()]
                kind = claim.reason if claim.reason in types else types[0]
                orders.perform("mark_exchange_expected", order.id,
                               {"exchange_type": kind, "cs_text": text}, ctx)
            else:
                cs_history.write_note([order.id], text, ctx, detail="[판매처 %s요청]" % word)
            _receipt(channel, key, claim, order.id, claim.kind, ctx)
    except (EngineError, IntegrityError) as exc:
        report.add("failed")
        report.line("%s: 실패 — %s" % (claim.order_no, exc.render() if isinstance(
            exc, EngineError) else exc))
        return
    report.add("synced")
    report.line("%s: %s예정" % (claim.order_no, word))


# --- 운송장 전송 ------------------------------------------------------------------------------

def invoices_to_send(channel: Channel, since: dt.datetime | None = None):
    """Shipped orders of the channel whose tracking number was not sent (or failed)."""
    query = (Order.select(Order, InvoicePush).join(InvoicePush, JOIN.LEFT_OUTER)
             .where((Order.channel == channel.id) & (Order.state == orders.SHIPPED)
                    & (Order.deleted == False) & (Order.cs_state != orders.CANCELLED)  # noqa: E712
                    & Order.tracking_no.is_null(False) & (Order.tracking_no != "")
                    & (InvoicePush.id.is_null() | (InvoicePush.status != "sent")
                       | (InvoicePush.tracking_no != Order.tracking_no)))
             .order_by(Order.shipped_at, Order.id))
    if since is not None:
        query = query.where(Order.shipped_at >= since)
    return query


def push_invoices(adapter: Connector, channel: Channel, to_send: list[Order],
                  now: dt.datetime, report: _Report) -> None:
    """Push tracking numbers in batches and record each order's outcome; a ConnectorError
    marks the batch failed (listed for retry) and is raised."""
    for start in range(0, len(to_send), PUSH_BATCH):
        batch = to_send[start:start + PUSH_BATCH]
        pushes = [Push(o.order_no, o.courier or "", o.tracking_no, o.shipped_at or now)
                  for o in batch]
        try:
            results = adapter.push_invoices(pushes)
        except EngineError as exc:
            message = exc.render()
            for o in batch:
                _record_push(o, channel, False, message, now)
            report.add("failed", len(batch))
            raise report.fail(exc)
        answered = {r.key: r for r in results}
        for o in batch:
            result = answered.get(o.order_no)
            ok = bool(result and result.ok)
            error = "" if ok else (result.error if result else "no answer from the marketplace")
            _record_push(o, channel, ok, error, now)
            report.add("sent" if ok else "failed")
            report.line("%s %s %s: %s" % (o.order_no, o.courier or "", o.tracking_no,
                                          "전송" if ok else "실패 — " + error))


def _record_push(order: Order, channel: Channel, ok: bool, error: str, now) -> None:
    with db.atomic():
        values = {"status": "sent" if ok else "failed", "courier": order.courier or "",
                  "tracking_no": order.tracking_no or "", "error": error[:2000],
                  "last_attempt_at": now, "sent_at": now if ok else None}
        done = (InvoicePush.update(attempts=InvoicePush.attempts + 1, **values)
                .where(InvoicePush.order == order.id).execute())
        if not done:
            InvoicePush.create(order=order.id, channel=channel.id, attempts=1, **values)


def send_invoices(adapter, job, channel, since, now):
    report = _Report(sent=0, failed=0)
    to_send = list(invoices_to_send(channel, since))
    push_invoices(adapter, channel, to_send, now, report)
    return report.result()


def failed_invoices(filters: dict | None = None):
    """The 운송장 전송 실패 list: failed pushes whose order still waits to be sent."""
    filters = filters or {}
    query = (InvoicePush.select(InvoicePush, Order, Channel).join(Order)
             .switch(InvoicePush).join(Channel)
             .where((InvoicePush.status == "failed") & (Order.state == orders.SHIPPED)
                    & (Order.deleted == False))  # noqa: E712
             .order_by(InvoicePush.last_attempt_at.desc(), InvoicePush.id.desc()))
    if filters.get("channel"):
        query = query.where(InvoicePush.channel == int(filters["channel"]))
    return query


def retry_invoices(order_ids, ctx) -> dict:
    """"Retry now" on the failed list: push the chosen orders' tracking numbers at once."""
    require(ctx.actor, "operate")
    ids = sorted({int(i) for i in order_ids or [] if str(i).isdigit() and int(i) < 2**31})
    if not ids:
        raise ValidationError(N_("Select at least one row."), "ids")
    report = _Report(sent=0, failed=0)
    by_channel: dict[int, list] = {}
    for o in Order.select().where(Order.id.in_(ids)):
        by_channel.setdefault(o.channel_id, []).append(o.id)
    for channel_id, order_ids_ in by_channel.items():
        channel = Channel.get_by_id(channel_id)
        to_send = list(invoices_to_send(channel).where(Order.id.in_(order_ids_)))
        if not to_send:
            continue
        try:
            push_invoices(adapter_for(channel), channel, to_send, ctx.now, report)
        except EngineError as exc:   # this channel's failure is recorded; the others go on
            report.line("%s: %s" % (channel.name, exc.render()))
    return report.result()


# --- 문의 수집 / 문의답변 전송 ------------------------------------------------------------------

def new_inquiries_hook(inquiries: list[Inquiry], now, job=None, report=None) -> None:
    """Inquiries become helpdesk tickets (seed 000 문의 수집 → seed 004): in the job's
    ``options.team``, else the inquiry team setting, else the first open team. Each ticket is
    its own transaction: one that fails is reported and tried again on the next run (the
    inquiry keeps no ticket), never losing the others."""
    from engine import tickets
    team = (job.options or {}).get("team") if job is not None else None
    for inquiry in inquiries:
        try:
            ticket = tickets.open_from_inquiry(inquiry, now, team)
        except EngineError as exc:
            if report is not None:
                report.line("%s %s: no ticket (%s)" % (inquiry.kind, inquiry.external_id,
                                                       exc.render()))
            continue
        if ticket is not None and report is not None:
            report.add("tickets")


def _kinds(job) -> set[str]:
    chosen = (job.options or {}).get("types") if job is not None else None
    if not chosen:
        return set(INQUIRY_KINDS)
    return {OPTION_KINDS[t] for t in chosen if t in OPTION_KINDS}


def collect_inquiries(adapter, job, channel, since, now):
    report = _Report(collected=0, duplicates=0)
    kinds = _kinds(job)
    try:
        fetched = adapter.fetch_inquiries(since, now, kinds)
    except EngineError as exc:
        raise report.fail(exc)
    fetched = [i for i in fetched if i.kind in kinds]
    ids = list({i.external_id for i in fetched})
    known = set()
    for start in range(0, len(ids), 500):
        known.update(x for (x,) in Inquiry.select(Inquiry.external_id).where(
            (Inquiry.channel == channel.id)
            & Inquiry.external_id.in_(ids[start:start + 500])).tuples())
    numbers = list({i.order_no for i in fetched if i.order_no})
    order_ids = dict(Order.select(Order.order_no, Order.id).where(
        (Order.channel == channel.id) & Order.order_no.in_(numbers)).tuples()) if numbers else {}
    stored = []
    with db.atomic():
        for i in fetched:
            if i.external_id in known:
                report.add("duplicates")
                continue
            known.add(i.external_id)
            stored.append(Inquiry.create(
                channel=channel.id, external_id=i.external_id[:100], kind=i.kind,
                asked_at=i.asked_at or now, title=(i.title or "")[:300], body=i.body or "",
                author=(i.author or "")[:100], phone=(i.phone or "")[:30],
                order_no=(i.order_no or "")[:60], order=order_ids.get(i.order_no),
                product_code=(i.product_code or "")[:40], collected_at=now))
            report.add("collected")
            report.line("%s %s: %s" % (i.kind, i.external_id, (i.title or i.body)[:60]))
    # new ones, and any earlier one still without a ticket (collected before the helpdesk had
    # a team, or whose ticket failed): all become tickets now
    waiting = list(Inquiry.select().where((Inquiry.channel == channel.id)
                                          & Inquiry.ticket_id.is_null()
                                          & (Inquiry.answer_status == "none"))
                   .order_by(Inquiry.id))
    if waiting:
        new_inquiries_hook(waiting, now, job, report)
    return report.result()


def _as_market(inquiry: Inquiry) -> MarketInquiry:
    return MarketInquiry(inquiry.external_id, inquiry.kind, inquiry.asked_at, inquiry.title,
                         inquiry.body, inquiry.author, inquiry.phone, inquiry.order_no,
                         inquiry.product_code)


def push_answers(adapter: Connector, inquiries: list[Inquiry], now: dt.datetime,
                 report: _Report) -> None:
    """Push written answers one by one; each is marked sent or failed (with the error).
    A ConnectorError (the marketplace is down, the key is wrong) stops and is raised."""
    for inquiry in inquiries:
        try:
            result = adapter.push_answer(_as_market(inquiry), inquiry.answer)
        except EngineError as exc:
            _mark_answer(inquiry, False, exc.render(), now)
            report.add("failed")
            raise report.fail(exc)
        _mark_answer(inquiry, result.ok, result.error, now)
        report.add("sent" if result.ok else "failed")
        report.line("%s: %s" % (inquiry.external_id, "전송" if result.ok else
                                "실패 — " + result.error))


def _mark_answer(inquiry: Inquiry, ok: bool, error: str, now) -> None:
    # only the answer that was pushed: one changed meanwhile stays pending
    (Inquiry.update(answer_status="sent" if ok else "failed",
                    answer_error="" if ok else (error or "failed")[:2000],
                    answer_sent_at=now if ok else None)
     .where((Inquiry.id == inquiry.id) & (Inquiry.answer == inquiry.answer)
            & (Inquiry.answer_status.in_(("pending", "failed")))).execute())


def answers_to_send(channel: Channel):
    return (Inquiry.select().where((Inquiry.channel == channel.id)
                                   & Inquiry.answer_status.in_(("pending", "failed")))
            .order_by(Inquiry.answered_at, Inquiry.id))


def send_answers(adapter, job, channel, since, now):
    report = _Report(sent=0, failed=0)
    push_answers(adapter, list(answers_to_send(channel)), now, report)
    return report.result()


RUNNERS = {"collect_orders": collect_orders, "sync_claims": sync_claims,
           "send_invoices": send_invoices, "collect_inquiries": collect_inquiries,
           "send_answers": send_answers}

__all__ = ["run", "adapter_for", "new_inquiries_hook", "TYPES", "Connector", "ConnectorError",
           "register", "PushResult"]
