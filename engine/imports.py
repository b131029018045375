"""Order import from a channel's xlsx, and order export of any console search.

An import runs as a job in two passes over the file (read streaming, never held whole):

1. **check** — every row is validated against the channel's column layout (포맷설정, kind
   "import"); problems are listed per row and column; rows with the same order number become
   the lines of one order; an order number the channel already has is a duplicate, skipped
   and listed. Nothing is written.
2. **import** (after the user confirms) — the file is checked again (the store may have
   changed) and the good orders are written in ONE transaction with their lines, their CS
   history line and a ``created`` event each, exactly like ``orders.create_order``: the rules
   fire on them after the commit. An order with a bad row is left out whole.

Both passes run in a thread of this process with their progress in memory (and in the job
row); a restart mid-way leaves the store as before the import, and ``fail_interrupted`` —
called at app start — marks the jobs a dead process left behind as failed.
"""
from __future__ import annotations

import datetime as dt
import inspect
import logging
import os
import re
import secrets
import shutil
import socket
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from engine import clock, events, excel, orders
from engine.errors import EngineError, NotFound, StateError, ValidationError
from engine.excel import Column
from engine.models import (
    Channel, CsHistory, ImportJob, Order, OrderLine, Product, ProductOption, db, utcnow,
)
from engine.schema import CONTROL, Field, normalise_phone
from engine.text import N_
from engine.users import require

log = logging.getLogger("ruledesk.imports")

KIND = "import"
CHECKING, READY, IMPORTING, DONE, FAILED, DISCARDED = (
    "checking", "ready", "importing", "done", "failed", "discarded")
RUNNING = (CHECKING, IMPORTING)
STATUS_LABELS = {
    CHECKING: N_("Checking the file"), READY: N_("Checked: waiting for your confirm"),
    IMPORTING: N_("Importing"), DONE: N_("Imported"), FAILED: N_("Failed"),
    DISCARDED: N_("Discarded"),
}
MAX_LISTED = 1000         # problems kept with the job (all are counted)
BATCH = 300               # orders per INSERT
STALE_AFTER = dt.timedelta(minutes=10)   # a job whose process stopped beating is dead

COLUMNS = [
    Column("order_no", N_("Order number"), required=True),
    Column("received_at", N_("Order date"), hint=N_("Empty: the time of the import")),
    Column("buyer_name", N_("Buyer"), required=True),
    Column("buyer_phone", N_("Buyer phone")),
    Column("buyer_mobile", N_("Buyer mobile")),
    Column("recipient_name", N_("Recipient"), hint=N_("Empty: the buyer")),
    Column("recipient_phone", N_("Recipient phone")),
    Column("recipient_mobile", N_("Recipient mobile")),
    Column("zip_code", N_("Zip code")),
    Column("address", N_("Address"), required=True),
    Column("ship_memo", N_("Delivery memo")),
    Column("option_code", N_("Product or option code"), required=True),
    Column("quantity", N_("Quantity"), required=True),
    Column("price", N_("Price"), hint=N_("Empty: the option's price A")),
    Column("shipping_fee", N_("Shipping fee")),
]
LABELS = {c.name: c.label for c in COLUMNS}
DEFAULTS = {"order_no": "주문번호", "received_at": "주문일시", "buyer_name": "구매자",
            "buyer_mobile": "구매자휴대폰", "recipient_name": "수령자",
            "recipient_mobile": "수령자휴대폰", "zip_code": "우편번호", "address": "주소",
            "ship_memo": "배송메모", "option_code": "옵션코드", "quantity": "수량",
            "price": "판매가", "header_row": 1}
TEXT_LIMITS = {"order_no": 60, "buyer_name": 100, "recipient_name": 100, "address": 300,
               "ship_memo": 300}
ORDER_FIELDS = ("order_no", "received_at", "buyer_name", "buyer_phone", "buyer_mobile",
                "recipient_name", "recipient_phone", "recipient_mobile", "zip_code", "address",
                "ship_memo", "shipping_fee")


def format_fields():
    return excel.format_fields(COLUMNS)


def form_values(channel_id: int) -> dict:
    return excel.format_values(excel.load_format(channel_id, KIND), DEFAULTS)


def save_format(channel_id: int, raw: dict, ctx):
    return excel.save_format(channel_id, KIND, COLUMNS, raw, ctx)


# --- checking -----------------------------------------------------------------------------------

_MOBILE = re.compile(r"^010(\d{4})(\d{4})$")
_PHONE_FIELD = Field("phone", N_("Phone"), kind="phone")


@lru_cache(maxsize=4096)
def _slow_phone(text: str) -> str:
    return normalise_phone(text, _PHONE_FIELD)


def phone(text: str) -> str:
    """The console's phone format (010-1234-5678): 010 mobiles directly, the rest through
    ``engine.schema.normalise_phone``; raises ValidationError for what is not a phone."""
    compact = text.replace("-", "").replace(" ", "")
    match = _MOBILE.match(compact)
    if match:
        return f"010-{match.group(1)}-{match.group(2)}"
    return _slow_phone(text)


@dataclass
class Planned:
    """One order of the file: its fields, its lines and the rows it came from."""

    order_no: str
    first_row: int
    values: dict
    lines: list = field(default_factory=list)      # (option, quantity, price)
    rows: list = field(default_factory=list)
    bad_rows: list = field(default_factory=list)

    @property
    def bad_row(self) -> int | None:
        return self.bad_rows[0] if self.bad_rows else None


@dataclass
class Checked:
    orders: list                      # the good orders (Planned), in file order
    problems: list                    # per-row problems and duplicates (capped)
    counts: dict
    problem_total: int = 0


class _Problems:
    def __init__(self):
        self.items, self.total = [], 0

    def add(self, row: int, message: str, column: excel.Located | None = None,
            field_name: str | None = None, kind: str = "error", rows=None, **params):
        self.total += 1
        if len(self.items) < MAX_LISTED:
            self.items.append({"row": row, "kind": kind, "message": message, "params": params,
                               "rows": rows or [row],
                               "field": field_name,
                               "label": LABELS.get(field_name) if field_name else None,
                               "column": column.letter if column else None,
                               "header": column.header if column else None})


def _option_index() -> dict[str, tuple]:
    """Product option code (and product code of a one-option product) → option facts."""
    index, per_product = {}, {}
    query = (ProductOption.select(ProductOption.id, ProductOption.code, ProductOption.name,
                                  ProductOption.price_a, Product.code, Product.name)
             .join(Product).where(ProductOption.active == True).tuples())  # noqa: E712
    for option_id, code, name, price, product_code, product_name in query:
        facts = (option_id, product_code, product_name, code, name, price)
        index[code] = facts
        per_product.setdefault(product_code, []).append(facts)
    for product_code, options in per_product.items():
        if len(options) == 1 and product_code not in index:
            index[product_code] = options[0]
    return index


def check(path, channel: Channel, fmt, ctx, progress=None) -> Checked:
    """Read and validate the whole file; return the good orders and every problem."""
    sheet = excel.open_sheet(path)
    header, rows = excel.header_and_rows(sheet, fmt.header_row)
    located = excel.resolve(COLUMNS, fmt.columns, header)
    positions = [(name, loc.index) for name, loc in located.items()]

    def cells():
        for number, values in rows:
            width = len(values)
            yield number, {name: values[index] if index < width else None
                           for name, index in positions}
    return check_cells(cells(), channel, ctx, located, fmt.header_row, progress,
                       lambda: sheet.fraction)


def check_records(records: list[dict], channel: Channel, ctx) -> Checked:
    """Validate orders a marketplace connector fetched, exactly as the rows of a file: one
    dict per order line with the COLUMNS' names (row numbers are the records' positions)."""
    return check_cells(enumerate(records, 1), channel, ctx)


def check_cells(numbered_cells, channel: Channel, ctx, located: dict | None = None,
                first_row: int = 0, progress=None, fraction=lambda: 1.0) -> Checked:
    """The one validation of order rows, whatever they come from (a file, a connector):
    typed values, lines grouped by order number, duplicates of known orders skipped."""
    located = located or {}
    options = _option_index()
    problems = _Problems()
    planned: dict[str, Planned] = {}
    counts = {"rows": 0, "empty_rows": 0, "error_rows": 0}
    last = first_row
    tz = ctx.tz
    for number, cells in numbered_cells:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells.values()):
            continue
        counts["empty_rows"] += number - last - 1
        last = number
        counts["rows"] += 1
        row_values, bad = _check_row(number, cells, located, options, problems, tz, ctx.now)
        order_no = row_values.get("order_no")
        if not order_no:
            counts["error_rows"] += 1
            continue
        order = planned.get(order_no)
        if order is None:
            order = planned[order_no] = Planned(order_no, number, row_values)
        elif order.values.get("shipping_fee") is None and row_values.get("shipping_fee"):
            order.values["shipping_fee"] = row_values["shipping_fee"]
        order.rows.append(number)
        if bad:
            counts["error_rows"] += 1
            order.bad_rows.append(number)
        else:
            order.lines.append(row_values["line"])
        if progress and counts["rows"] % 500 == 0:
            progress("check", fraction(), counts["rows"])
    counts["orders"] = len(planned)
    good, skipped_rows = [], 0
    existing = _existing(channel.id, [p.order_no for p in planned.values() if p.bad_row is None])
    duplicate_orders = duplicate_rows = 0
    for order in planned.values():
        if order.bad_row is not None:
            skipped = [n for n in order.rows if n not in order.bad_rows]
            if skipped:
                skipped_rows += len(skipped)
                problems.add(skipped[0], N_("Skipped: row %(bad)d of the same order %(no)s has "
                                            "errors, so the whole order waits."),
                             kind="skipped", rows=skipped, bad=order.bad_row,
                             no=order.order_no)
            continue
        if order.order_no in existing:
            duplicate_orders += 1
            duplicate_rows += len(order.rows)
            problems.add(order.first_row, N_("Order %(no)s is already in this channel: "
                                             "skipped."), kind="duplicate", no=order.order_no,
                         rows=order.rows)
            continue
        good.append(order)
    counts.update(good_orders=len(good), good_rows=sum(len(o.lines) for o in good),
                  duplicate_orders=duplicate_orders, duplicate_rows=duplicate_rows,
                  skipped_rows=skipped_rows)
    if progress:
        progress("check", 1.0, counts["rows"])
    return Checked(good, problems.items, counts, problems.total)


def _existing(channel_id: int, numbers: list[str]) -> set[str]:
    found = set()
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        found.update(no for (no,) in Order.select(Order.order_no).where(
            (Order.channel == channel_id) & Order.order_no.in_(chunk)).tuples())
    return found


def _check_row(number: int, cells: dict, located: dict, options: dict, problems: _Problems,
               tz, now) -> tuple[dict, bool]:
    """The typed values of one row, and whether it had an error (each one listed)."""
    values: dict = {}
    bad = False

    def fail(name, message, **params):
        nonlocal bad
        bad = True
        problems.add(number, message, located.get(name), name, **params)

    for name in ("order_no", "buyer_name", "recipient_name", "address", "ship_memo"):
        text = excel.cell_text(cells.get(name)) if name in cells else ""
        limit = TEXT_LIMITS[name]
        if len(text) > limit:
            fail(name, N_("is too long (at most %(n)d characters)"), n=limit)
        elif CONTROL.search(text):
            fail(name, N_("contains invisible control characters"))
        values[name] = text
    for name in ("order_no", "buyer_name", "address"):
        if not values[name]:
            fail(name, N_("is empty"))
    values["recipient_name"] = values["recipient_name"] or values["buyer_name"]
    for name in ("buyer_phone", "buyer_mobile", "recipient_phone", "recipient_mobile"):
        text = excel.cell_text(cells.get(name)) if name in cells else ""
        if text:
            try:
                text = phone(text)
            except ValidationError:
                fail(name, N_("is not a valid phone number (found %(value)s)"), value=text)
        values[name] = text
    zip_code = excel.cell_text(cells.get("zip_code")).replace("-", "") if "zip_code" in cells \
        else ""
    if zip_code and (not zip_code.isascii() or not zip_code.isdigit() or len(zip_code) > 7):
        fail("zip_code", N_("may contain digits only (found %(value)s)"), value=zip_code)
    values["zip_code"] = zip_code
    received = cells.get("received_at")
    if received is None or (isinstance(received, str) and not received.strip()):
        values["received_at"] = now
    else:
        try:
            values["received_at"] = clock.to_utc(excel.cell_datetime(received), tz)
        except excel.CellError as exc:
            fail("received_at", exc.message, **exc.params)
    quantity = _number(cells, "quantity", fail, 1, 9999, required=True)
    price = _number(cells, "price", fail, 0, 100_000_000)
    values["shipping_fee"] = _number(cells, "shipping_fee", fail, 0, 10_000_000)
    code = excel.cell_text(cells.get("option_code"))
    option = options.get(code)
    if not code:
        fail("option_code", N_("is empty"))
    elif option is None:
        fail("option_code", N_("no product or option has the code %(value)s"), value=code)
    if not bad:
        values["line"] = (option, quantity, option[5] if price is None else price)
    return values, bad


def _number(cells, name, fail, low, high, required=False):
    value = cells.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            fail(name, N_("is empty"))
        return None
    try:
        number = excel.cell_int(value)
    except excel.CellError as exc:
        fail(name, exc.message, **exc.params)
        return None
    if number < low:
        fail(name, N_("must be at least %(n)d (found %(value)s)"), n=low, value=number)
        return None
    if number > high:
        fail(name, N_("must be at most %(n)d (found %(value)s)"), n=high, value=number)
        return None
    return number


# --- writing ------------------------------------------------------------------------------------

def _checkpoint(done: int) -> None:
    """Called after each batch inside the transaction (tests make it fail mid-way)."""


def _insert(model, rows: list[dict]) -> None:
    """INSERT many rows in one statement, values converted by the model's fields.

    peewee's ``insert_many`` builds an expression per value, which made up most of an
    import's time; this writes the same statement directly (portable: quoted names and the
    driver's own placeholder).
    """
    if not rows:
        return
    keys = list(rows[0])
    fields = [model._meta.fields[name] for name in keys]
    names = ", ".join('"%s"' % f.column_name for f in fields)
    one = "(%s)" % ", ".join([db.param] * len(fields))
    params = []
    for row in rows:
        params.extend(f.db_value(row[key]) for f, key in zip(fields, keys))
    db.execute_sql('INSERT INTO "%s" (%s) VALUES %s' % (
        model._meta.table_name, names, ", ".join([one] * len(rows))), params)


def write(checked: Checked, channel: Channel, ctx, filename: str = "", progress=None,
          note: str | None = None) -> int:
    """Create the good orders in one transaction, as ``orders.create_order`` would; return
    how many. Any error rolls everything back. ``note`` says where they came from in the CS
    history (default: the file)."""
    actor_id = ctx.actor.id if ctx.actor else None
    if note is None:
        note = "[엑셀 : %s]" % filename if filename else "[엑셀]"
    total = len(checked.orders)
    created = []
    defaults, line_defaults, note_defaults = (_defaults(m) for m in (Order, OrderLine,
                                                                     CsHistory))
    with events.collecting(), db.atomic():
        for start in range(0, total, BATCH):
            batch = checked.orders[start:start + BATCH]
            _insert(Order, [dict(defaults, **{
                "channel": channel.id, "created_at": ctx.now, "updated_at": ctx.now,
                "updated_by": actor_id, "state": orders.RECEIVED, "cs_state": orders.NORMAL,
                "hold": False, "version": 1,
                **{name: (o.values.get(name) if o.values.get(name) is not None else
                          (0 if name == "shipping_fee" else ""))
                   for name in ORDER_FIELDS}}) for o in batch])
            ids = dict(Order.select(Order.order_no, Order.id).where(
                (Order.channel == channel.id)
                & Order.order_no.in_([o.order_no for o in batch])).tuples())
            lines, notes = [], []
            for o in batch:
                order_id = ids[o.order_no]
                for (option_id, product_code, product_name, code, name, _), quantity, price \
                        in o.lines:
                    lines.append({"order": order_id, "option": option_id,
                                  "product_code": product_code, "product_name": product_name,
                                  "option_code": code, "option_name": name,
                                  "quantity": quantity, "unit_price": price})
                notes.append({"order": order_id, "created_at": ctx.now, "operator": actor_id,
                              "operation": "create",
                              "detail": "[주문생성 : %s] %s" % (o.order_no, note), "text": "",
                              "processed": False})
                created.append(order_id)
            for chunk in range(0, len(lines), BATCH):
                _insert(OrderLine, [dict(line_defaults, **line)
                                    for line in lines[chunk:chunk + BATCH]])
            _insert(CsHistory, [dict(note_defaults, **n) for n in notes])
            for order_id in ids.values():
                events.raise_event(events.Event("order", order_id, events.CREATED, ctx.now,
                                                actor_id, key="v1"))
            done = min(start + BATCH, total)
            _checkpoint(done)
            if progress:
                progress("write", done / total if total else 1.0, done)
        if getattr(channel, "auto_combine", False):
            _auto_combine(created, ctx)
    return len(created)


def _defaults(model) -> dict:
    """Every column of ``model`` (but the id) with its default, so a column the import does
    not name (one added later, too) gets what ``Model.create`` would give it."""
    return {name: f.default() if callable(f.default) else f.default
            for name, f in model._meta.fields.items() if name != "id"}


def _auto_combine(order_ids: list[int], ctx) -> None:
    """Combine each new order with its 합포 candidates, when the console offers it."""
    try:
        from engine import combining
    except ImportError:
        return
    combine = getattr(combining, "auto_combine", None)
    if combine is None:
        return
    takes_ctx = len(inspect.signature(combine).parameters) > 1
    for order_id in order_ids:
        order = orders.get(order_id)
        combine(order, ctx) if takes_ctx else combine(order)


def run_import(path, channel_id: int, ctx, filename: str = "") -> dict:
    """Check and import a file in one call (no job, no confirm): the bench and scripts."""
    require(ctx.actor, "operate")
    channel = _channel(channel_id)
    checked = check(path, channel, _format(channel), ctx)
    imported = write(checked, channel, ctx, filename)
    return {**checked.counts, "problem_total": checked.problem_total, "imported": imported}


# --- jobs ---------------------------------------------------------------------------------------

_token = secrets.token_hex(6)
_progress: dict[int, dict] = {}
_threads: dict[int, threading.Thread] = {}
_lock = threading.Lock()


def owner() -> str:
    """host:pid:token of this process (the token tells a reused pid from ours)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_token}"


def _alive(job_owner: str) -> bool:
    host, _, rest = job_owner.partition(":")
    pid, _, token = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True                     # another machine: only its heartbeat can tell
    if int(pid) == os.getpid():
        return token == _token
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _channel(channel_id) -> Channel:
    channel = Channel.get_or_none(Channel.id == int(channel_id)) \
        if str(channel_id).isdigit() and int(channel_id) < 2**31 else None
    if channel is None:
        raise NotFound(N_("Channel %(id)s does not exist."), id=channel_id)
    return channel


def _format(channel: Channel):
    fmt = excel.load_format(channel.id, KIND)
    if fmt is None:
        raise ValidationError(N_("Channel %(name)s has no order file format yet: set its "
                                 "columns first (format settings)."), "channel",
                              name=channel.name)
    return fmt


def get_job(job_id) -> ImportJob:
    job = ImportJob.get_or_none(ImportJob.id == int(job_id)) \
        if str(job_id).isdigit() and int(job_id) < 2**31 else None
    if job is None:
        raise NotFound(N_("Import %(id)s does not exist."), id=job_id)
    return job


def create_job(channel_id, source, filename: str, directory, ctx, start: bool = True):
    """Keep the uploaded file, make the job and start checking it in a thread.

    ``source`` is a path or a binary stream. The file type is checked at once, so a wrong
    file is refused here, not later.
    """
    require(ctx.actor, "operate")
    channel = _channel(channel_id)
    _format(channel)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"import-{secrets.token_hex(8)}.xlsx"
    if hasattr(source, "read"):
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out)
    else:
        shutil.copyfile(source, target)
    try:
        excel.open_sheet(target)
    except ValidationError:
        target.unlink(missing_ok=True)
        raise
    job = ImportJob.create(channel=channel, filename=(filename or target.name)[:200],
                           path=str(target), status=CHECKING, owner=owner(),
                           heartbeat_at=ctx.now, created_at=ctx.now, created_by=ctx.actor)
    if start:
        _start(job.id, _run_check, ctx)
    return job


def confirm(job_id, ctx, start: bool = True) -> ImportJob:
    """Start importing the good orders of a checked job (once)."""
    require(ctx.actor, "operate")
    job = get_job(job_id)
    if not job.summary.get("good_orders"):
        raise ValidationError(N_("No order of this file can be imported."), "job")
    claimed = (ImportJob.update(status=IMPORTING, owner=owner(), heartbeat_at=utcnow())
               .where((ImportJob.id == job.id) & (ImportJob.status == READY)).execute())
    if claimed != 1:
        raise StateError(N_("This import is not waiting for a confirm (it is %(status)s)."),
                         status=STATUS_LABELS.get(job.status, job.status))
    if start:
        _start(job.id, _run_import, ctx)
    return get_job(job.id)


def discard(job_id, ctx) -> None:
    require(ctx.actor, "operate")
    job = get_job(job_id)
    done = (ImportJob.update(status=DISCARDED, finished_at=ctx.now)
            .where((ImportJob.id == job.id) & (ImportJob.status == READY)).execute())
    if done != 1:
        raise StateError(N_("This import is not waiting for a confirm (it is %(status)s)."),
                         status=STATUS_LABELS.get(job.status, job.status))
    _remove_file(job)


def _start(job_id: int, target, ctx) -> None:
    _progress[job_id] = {"phase": "check" if target is _run_check else "write",
                         "fraction": 0.0, "count": 0}
    thread = threading.Thread(target=_in_thread, args=(target, job_id, ctx),
                              name=f"import-{job_id}", daemon=True)
    with _lock:
        _threads[job_id] = thread
    thread.start()


def _in_thread(target, job_id: int, ctx) -> None:
    try:
        with db.connection_context():
            target(job_id, ctx)
    except Exception:  # noqa: BLE001 - the job row says what happened
        log.exception("import %s failed", job_id)
    finally:
        _progress.pop(job_id, None)
        with _lock:
            _threads.pop(job_id, None)


def wait(job_id: int, timeout: float = 60) -> ImportJob:
    """Wait for a job's running pass to end (tests, scripts); return the job row."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)
    return get_job(job_id)


def _reporter(job_id: int):
    """A progress callback: memory at once, the job row's heartbeat every 2 s (outside the
    write transaction only: inside it, nobody else would see it)."""
    state = {"beat": utcnow()}

    def report(phase: str, fraction: float, count: int):
        _progress[job_id] = {"phase": phase, "fraction": fraction, "count": count}
        now = utcnow()
        if phase == "check" and now - state["beat"] >= dt.timedelta(seconds=2):
            state["beat"] = now
            ImportJob.update(heartbeat_at=now).where(ImportJob.id == job_id).execute()
    return report


def _fail(job_id: int, message: str, params: dict | None = None) -> None:
    summary = dict(get_job(job_id).summary or {})
    summary["error"] = {"message": message, "params": params or {}}
    ImportJob.update(status=FAILED, finished_at=utcnow(), summary=summary,
                     error=message % params if params else message
                     ).where(ImportJob.id == job_id).execute()


def _run_check(job_id: int, ctx) -> None:
    job = get_job(job_id)
    try:
        channel = _channel(job.channel_id)
        checked = check(job.path, channel, _format(channel), ctx, _reporter(job_id))
    except EngineError as exc:
        _fail(job_id, exc.message, exc.params)
        _remove_file(job)
        return
    except Exception:
        _fail(job_id, N_("The file could not be checked (an unexpected error)."))
        _remove_file(job)
        raise
    summary = dict(checked.counts, problem_total=checked.problem_total)
    ImportJob.update(status=READY, summary=summary, problems=checked.problems,
                     heartbeat_at=utcnow()).where(
        (ImportJob.id == job_id) & (ImportJob.status == CHECKING)).execute()


def _run_import(job_id: int, ctx) -> None:
    job = get_job(job_id)
    report = _reporter(job_id)
    try:
        channel = _channel(job.channel_id)
        checked = check(job.path, channel, _format(channel), ctx, report)
        imported = write(checked, channel, ctx, job.filename, report)
    except EngineError as exc:
        _fail(job_id, exc.message, exc.params)
        return
    except Exception:
        _fail(job_id, N_("The import stopped on an unexpected error."))
        raise
    finally:
        _remove_file(job)
    summary = dict(checked.counts, problem_total=checked.problem_total, imported=imported)
    ImportJob.update(status=DONE, summary=summary, problems=checked.problems,
                     finished_at=utcnow()).where(ImportJob.id == job_id).execute()


def _remove_file(job: ImportJob) -> None:
    if job.path:
        Path(job.path).unlink(missing_ok=True)


def progress(job_id: int) -> dict:
    """{"status", "phase", "fraction", "count"} of a job: memory first, else its row."""
    job = get_job(job_id)
    live = _progress.get(job.id)
    result = {"status": job.status, "phase": None, "fraction": None, "count": None}
    if live and job.status in RUNNING:
        result.update(live)
    elif job.status in (READY, DONE):
        result.update(fraction=1.0, count=job.summary.get("rows"))
    return result


def fail_interrupted(now: dt.datetime | None = None) -> int:
    """Mark the jobs a dead process left checking or importing as failed; return how many.

    Their import ran in one transaction that never committed, so nothing of it is in the
    store: the message says so. Call once at app start.
    """
    now = now or utcnow()
    count = 0
    for job in ImportJob.select().where(ImportJob.status.in_(RUNNING)):
        stale = job.heartbeat_at is None or now - job.heartbeat_at > STALE_AFTER
        if _alive(job.owner) and not stale:
            continue
        message = N_("Interrupted; nothing was imported (the app stopped while the job ran).")
        done = (ImportJob.update(status=FAILED, finished_at=now, error=message,
                                 summary=dict(job.summary or {},
                                              error={"message": message, "params": {}}))
                .where((ImportJob.id == job.id) & (ImportJob.status == job.status)).execute())
        if done:
            _remove_file(job)
            count += done
    return count


def recent_jobs(limit: int = 20):
    return (ImportJob.select(ImportJob, Channel).join(Channel)
            .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit))


# --- export -------------------------------------------------------------------------------------

EXPORT_HEADER = [N_("Our order no."), N_("Channel"), N_("Order number"), N_("Order date"),
                 N_("Buyer"), N_("Buyer phone"), N_("Buyer mobile"), N_("Recipient"),
                 N_("Recipient phone"), N_("Recipient mobile"), N_("Zip code"), N_("Address"),
                 N_("Delivery memo"), N_("Product code"), N_("Product"),
                 N_("Product or option code"), N_("Option"), N_("Quantity"), N_("Price"),
                 N_("Amount"), N_("Shipping fee"), N_("State"), N_("CS state"), N_("On hold"),
                 N_("Courier"), N_("Tracking number")]


def export_rows(filters: dict, tz, translate=lambda s: s):
    """One row per order line of the console search ``filters`` (the console's order)."""
    query = orders.search(filters, tz)
    page = 1
    while True:
        chunk = list(query.paginate(page, 1000))
        if not chunk:
            return
        by_order: dict[int, list] = {}
        for line in (OrderLine.select().where(OrderLine.order.in_([o.id for o in chunk]))
                     .order_by(OrderLine.id)):
            by_order.setdefault(line.order_id, []).append(line)
        for o in chunk:
            received = clock.to_local(o.received_at, tz)
            head = [o.id, o.channel.name, o.order_no,
                    received.replace(tzinfo=None) if received else None, o.buyer_name,
                    o.buyer_phone, o.buyer_mobile, o.recipient_name, o.recipient_phone,
                    o.recipient_mobile, o.zip_code, o.address, o.ship_memo]
            tail = [o.shipping_fee, translate(orders.STATE_LABELS.get(o.state, o.state)),
                    translate(orders.CS_STATE_LABELS.get(o.cs_state, o.cs_state)),
                    translate(N_("Yes")) if o.hold else "", o.courier or "", o.tracking_no or ""]
            for line in by_order.get(o.id, []) or [None]:
                if line is None:
                    yield head + ["", "", "", "", None, None, None] + tail
                    continue
                quantity = line.quantity - (getattr(line, "cancelled_qty", 0) or 0)
                yield head + [line.product_code, line.product_name, line.option_code,
                              line.option_name, quantity, line.unit_price,
                              quantity * line.unit_price] + tail
        page += 1


def write_export(target, filters: dict, tz, translate=lambda s: s) -> None:
    """Write the console search ``filters`` as an xlsx (one row per order line)."""
    excel.write_xlsx(target, [translate(h) for h in EXPORT_HEADER],
                     export_rows(filters, tz, translate), "orders")
