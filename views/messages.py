"""Messages: bulk and single sends, templates, macros, sender numbers, history and usage.

Seed 002 (CS관리 > 대량 SMS/알림톡). Every send goes through ``engine.sending`` (``prepare`` for
the preview, ``send`` to store under the form's batch key); the lists read through
``engine.message_log``. Viewing needs "read", sending and macros "operate", templates and
sender numbers "settings".
"""
from __future__ import annotations

import json
import re

import phonenumbers
from flask import (
    Blueprint, current_app, g, make_response, redirect, render_template, request, url_for,
)
from flask_babel import gettext
from flask_login import current_user
from peewee import fn

from engine import (
    consents, message_log, message_templates, messaging, orders, paging, senders, sending,
)
from engine.errors import EngineError, NotFound, ValidationError
from engine.models import (
    Macro, Message, MessageTemplate, Order, RecipientConsent, SenderNumber, Ticket,
)
from engine.text import N_
from views.web import field_errors, render, requires, translate

bp = Blueprint("messages", __name__, url_prefix="/messages")

CHANGED = "ruledesk:messagesChanged"
PREVIEW_ROWS = 200           # rows of a bulk preview shown; the summary counts all
SINGLE_PAGE_SIZE = 20
COMPOSE_ERROR_FIELDS = ("channel", "sender", "template", "subject", "text", "is_ad", "to",
                        "ids", "batch")
SAMPLE_VALUES = {  # a template preview without any order in the store
    "관리번호": 101346, "주문번호": "ord100072_1", "판매처": "11번가", "구매자": "서승원",
    "수령자": "서승원", "수령자연락처": "010-3262-6174", "주소": "서울특별시 중구 세종대로 110",
    "상품명": "순면 라운드 티셔츠 외 1건", "주문금액": "25,800", "택배사": "CJ대한통운",
    "송장번호": "123456789012", "처리상태": "발송준비중",
}
SAMPLE_TICKET = {"티켓번호": 42, "제목": "배송 지연 문의", "고객명": "서승원", "팀": "고객 지원",
                 "단계": "진행 중", "담당자": "장유리"}
SAMPLE_JOB = {"job": "주문수집", "result": "완료", "detail": "11번가 collected 12\n쿠팡 collected 3",
              "counts": "collected 15", "run_at": "2026-03-31 17:00"}
BUTTON_KEY = re.compile(r"^buttons-(\d{1,4})-(name|type|url)$")


def _actor():
    return current_user._get_current_object()


def _tz():
    return current_app.config["TZ"]


def _page_number(name: str = "page") -> int:
    page = request.args.get(name, "1")
    return int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1


def _message(item) -> str:
    """A (msgid, params) pair of the engine, translated."""
    text, params = item
    text = gettext(text)
    return text % params if params else text


def _trigger(response, **events):
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


@bp.app_template_filter("msgnumber")
def msgnumber(value) -> str:
    """A stored digit string shown the way people write it (1588-1234, 010-1234-5678)."""
    value = value or ""
    if not value.isdigit():
        return value
    if len(value) == 8 and value[:2] in ("15", "16", "18"):
        return f"{value[:4]}-{value[4:]}"
    try:
        number = phonenumbers.parse(value, "KR")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return value


def _placeholder_names(context: str = "order") -> list[str]:
    """The context's placeholders in the user's script: Japanese names for Japanese, else
    Korean."""
    japanese = getattr(current_user, "language", "ko") == "ja"
    names = message_templates.known_placeholders(context)
    return [n for n in names if any("\uac00" <= c <= "\ud7a3" for c in n) != japanese]


def _labels():
    return dict(status_labels=message_log.STATUS_LABELS, kind_labels=message_log.KIND_LABELS,
                channels=sending.CHANNELS)


@bp.route("/")
@requires("read")
def index():
    return redirect(url_for("messages.send_page"))


# --- the compose panel (shared by bulk and single sends) ------------------------------------

def _compose_context(mode: str, values: dict | None = None, errors: dict | None = None,
                     batch: str | None = None) -> dict:
    values = dict(values or {})
    values.setdefault("channel", "sms")
    templates = (message_log.single_templates() if mode == "single" else
                 list(MessageTemplate.select().where(MessageTemplate.active == True)  # noqa: E712
                      .order_by(MessageTemplate.name)))
    numbers = list(SenderNumber.select().order_by(SenderNumber.id))
    if not values.get("sender") and numbers:
        registered = [s for s in numbers if s.registered]
        values["sender"] = (registered or numbers)[0].number
    return dict(mode=mode, values=values, errors=errors or {}, templates=templates,
                sender_numbers=numbers, batch=batch or sending.new_batch_key(),
                counter=_counter(values), placeholders=_placeholder_names(),
                channels=sending.CHANNELS)


def _counter(values: dict) -> dict:
    """The live size of the typed text: bytes and type for SMS/LMS, characters otherwise."""
    text = values.get("text") or ""
    subject = values.get("subject") or ""
    channel = values.get("channel") or "sms"
    result = messaging.classify(text, subject)
    info = dict(channel=channel, bytes=result.bytes, kind=result.kind,
                limit=messaging.SMS_MAX_BYTES if result.kind == messaging.SMS
                else messaging.LMS_MAX_BYTES,
                chars=len(text), subject_bytes=result.subject_bytes,
                unsendable=messaging.unsendable_chars(text + subject),
                placeholders=messaging.placeholders(text + subject),
                too_long=result.bytes > messaging.LMS_MAX_BYTES,
                subject_too_long=result.subject_bytes > messaging.SUBJECT_MAX_BYTES)
    if channel == "email":
        info["kind"] = messaging.EMAIL
    return info


@bp.route("/counter", methods=["POST"])
@requires("operate")
def counter():
    """The byte counter under the text box ("45/90 bytes · SMS"), recomputed as one types."""
    values = {name: request.form.get(name, "") for name in ("text", "subject", "channel")}
    return render_template("messages/_counter.html", counter=_counter(values))


@bp.route("/compose")
@requires("operate")
def compose_fields():
    """Choosing a template fills the channel, subject, text and advertising flag."""
    mode = "single" if request.args.get("mode") == "single" else "orders"
    values = {name: request.args.get(name, "") for name in ("channel", "sender", "template")}
    template = None
    if values["template"].isdigit():
        template = MessageTemplate.get_or_none(MessageTemplate.id == int(values["template"]))
    if template is not None:
        values.update(channel=template.kind, subject=template.subject, text=template.body,
                      is_ad=template.is_ad)
    else:
        values["template"] = ""
    context = _compose_context(mode, values)
    context["picked"] = template
    return render_template("messages/_compose_fields.html", **context)


@bp.route("/compose/new")
@requires("operate")
def compose_new():
    """새로쓰기: an empty form with a fresh batch key (a new send, not a retry)."""
    mode = "single" if request.args.get("mode") == "single" else "orders"
    response = make_response(render_template("messages/_compose.html",
                                              **_compose_context(mode)))
    return response


def _send_values(form) -> dict:
    raw = {f.name: form.get(f.name, "") for f in sending.SEND_FIELDS}
    if not raw.get("is_ad"):
        raw["is_ad"] = ""
    return raw


def _error_slots(errors: dict) -> str:
    """Out-of-band updates of every compose field's error slot (set or cleared)."""
    return render_template("messages/_error_slots.html", names=COMPOSE_ERROR_FIELDS,
                           errors=errors)


def _output(html: str, errors: dict | None = None, **events):
    response = make_response(html + _error_slots(errors or {}))
    if events:
        _trigger(response, **events)
    return response


def _refused(exc: EngineError):
    errors = field_errors(exc)
    message = None
    if not exc.field or exc.field not in COMPOSE_ERROR_FIELDS:
        message = translate(exc)
    html = render_template("messages/_refused.html", message=message, errors=errors)
    return _output(html, errors)


# --- bulk send (SMS/알림톡 전송) ---------------------------------------------------------------

def _order_filters(prefix: str = ""):
    source = request.form if request.method == "POST" else request.args
    raw = {f.name: source.get(prefix + f.name, "") for f in orders.SEARCH_FIELDS}
    try:
        return raw, orders.parse_search(raw, _tz()), {}
    except EngineError as exc:
        return raw, {}, field_errors(exc)


def _results_context():
    raw, filters, errors = _order_filters()
    rows, total, page, pages = orders.paginate(orders.search(filters, _tz()), _page_number(),
                                               current_app.config["PAGE_SIZE"])
    return dict(rows=rows, total=total, page=page, pages=pages, raw=raw, errors=errors,
                query={k: v for k, v in raw.items() if v}, search_fields=orders.SEARCH_FIELDS,
                counts=message_log.order_message_counts([o.id for o in rows]),
                max_recipients=message_log.MAX_RECIPIENTS,
                # a refresh after a send keeps what was ticked
                checked={int(i) for i in request.args.getlist("ids")
                         if i.isascii() and i.isdigit()},
                scope=request.args.get("scope", "selected"))


@bp.route("/send")
@requires("read")
def send_page():
    context = _results_context()
    if request.htmx and not request.htmx.boosted:
        return render("messages/send.html", "results", **context)
    context.update(_compose_context("orders"))
    return render("messages/send.html", **context)


@bp.route("/send/orders")
@requires("read")
def send_orders():
    return render("messages/send.html", "results", **_results_context())


def _selected_order_ids() -> list[int]:
    """The ticked orders, or every order matching the shown search (at most 5,000)."""
    if request.form.get("scope") == "all":
        raw, filters, errors = _order_filters("search-")
        if errors:
            raise ValidationError(N_("The search has an error; search again first."), "ids")
        query = orders.search(filters, _tz())
        total = query.count()
        if total > message_log.MAX_RECIPIENTS:
            raise ValidationError(
                N_("%(n)s orders match; at most %(max)s can be sent to at once. Narrow the "
                   "search."), "ids", n=f"{total:,}", max=f"{message_log.MAX_RECIPIENTS:,}")
        return [order.id for order in query]
    ids = [i for i in request.form.getlist("ids") if i.isascii() and i.isdigit()]
    if len(ids) > message_log.MAX_RECIPIENTS:
        raise ValidationError(N_("At most %(max)s orders can be sent to at once."), "ids",
                              max=f"{message_log.MAX_RECIPIENTS:,}")
    return [int(i) for i in ids]


def _typed_numbers() -> list[str]:
    return [part.strip() for part in re.split(r"[\n,;]+", request.form.get("to", ""))
            if part.strip()]


def _recipients(mode: str) -> dict:
    if mode == "single":
        return {"to": _typed_numbers()}
    return {"order_ids": _selected_order_ids()}


def _preview(mode: str):
    try:
        _, drafts = sending.prepare(_send_values(request.form), g.now, _tz(), **_recipients(mode))
    except EngineError as exc:
        return _refused(exc)
    summary = _summary(drafts)
    html = render_template("messages/_preview.html", drafts=drafts[:PREVIEW_ROWS],
                           summary=summary, shown=min(len(drafts), PREVIEW_ROWS),
                           describe=_describe, mode=mode, **_labels())
    return _output(html)


def _summary(drafts) -> dict:
    kinds: dict[str, int] = {}
    for draft in drafts:
        if draft.ok:
            kinds[draft.kind] = kinds.get(draft.kind, 0) + 1
    return dict(total=len(drafts), kinds=kinds, blocked=sum(1 for d in drafts if not d.ok),
                held=sum(1 for d in drafts if d.ok and d.send_after))


def _describe(draft) -> dict:
    """Everything the preview row shows of one draft, translated."""
    notes = [_message(n) for n in draft.notes]
    if draft.fallback is not None:
        notes.append(gettext("Fallback if AlimTalk fails: %(kind)s, %(n)d bytes.",
                             kind=draft.fallback.kind, n=draft.fallback.bytes))
    return dict(problems=[_message(p) for p in draft.problems], notes=notes,
                order=draft.recipient.order)


def _send(mode: str):
    batch = request.form.get("batch", "")
    try:
        result = sending.send(_send_values(request.form), _actor(), g.now, _tz(), batch,
                              **_recipients(mode))
    except EngineError as exc:
        return _refused(exc)
    status = message_log.batch_status(result.batch, g.now)
    skipped = [(d, [_message(p) for p in d.problems]) for d in result.skipped]
    html = render_template("messages/_progress.html", result=result, status=status,
                           batch=result.batch, skipped=skipped, **_labels())
    if result.stored:
        toast = gettext("%(n)d messages queued.", n=len(result.stored))
    elif result.duplicates:
        toast = gettext("Already sent with this form: nothing was stored again.")
    else:
        toast = gettext("Nothing was sent.")
    return _output(html, **{CHANGED: True, "ruledesk:toast": toast})


@bp.route("/send/preview", methods=["POST"])
@requires("operate")
def bulk_preview():
    return _preview("orders")


@bp.route("/send", methods=["POST"])
@requires("operate")
def bulk_send():
    return _send("orders")


@bp.route("/progress/<batch>")
@requires("read")
def progress(batch):
    if not re.fullmatch(r"[\w.:-]{1,64}", batch):
        raise NotFound(N_("No such send."))
    return render_template("messages/_progress_bar.html", batch=batch,
                           status=message_log.batch_status(batch, g.now), **_labels())


# --- single send (개별문자보내기) ---------------------------------------------------------------

def _single_context():
    raw = {f.name: request.args.get(f.name, "") for f in message_log.SINGLE_FIELDS}
    try:
        filters, errors = message_log.parse_history(raw, _tz(), message_log.SINGLE_FIELDS), {}
    except EngineError as exc:
        filters, errors = {}, field_errors(exc)
    rows, total, page, pages = paging.paginate(
        message_log.history(filters, _tz(), single=True), _page_number(), SINGLE_PAGE_SIZE)
    return dict(rows=rows, total=total, page=page, pages=pages, raw=raw, errors=errors,
                query={k: v for k, v in raw.items() if v}, search_fields=message_log.SINGLE_FIELDS,
                per_page=SINGLE_PAGE_SIZE, **_labels())


@bp.route("/single")
@requires("read")
def single_page():
    context = _single_context()
    if request.htmx and not request.htmx.boosted:
        return render("messages/single.html", "recent", **context)
    context.update(_compose_context("single"))
    return render("messages/single.html", **context)


@bp.route("/single/recent")
@requires("read")
def single_recent():
    return render("messages/single.html", "recent", **_single_context())


@bp.route("/single/preview", methods=["POST"])
@requires("operate")
def single_preview():
    return _preview("single")


@bp.route("/single", methods=["POST"])
@requires("operate")
def single_send():
    return _send("single")


# --- macros (매크로 보기 / 매크로 저장) ---------------------------------------------------------

@bp.route("/macros")
@requires("operate")
def macros():
    return render_template("messages/_macros_dialog.html",
                           macros=list(Macro.select().order_by(Macro.name)))


@bp.route("/macros/form", methods=["POST"])
@requires("operate")
def macro_form():
    """매크로 저장: a small dialog to name the text now in the message box."""
    values = {"name": "", "body": request.form.get("text", "")}
    return render_template("messages/_macro_form.html", values=values, errors={},
                           fields=message_templates.MACRO_FIELDS)


@bp.route("/macros", methods=["POST"])
@requires("operate")
def save_macro():
    raw = {"name": request.form.get("name", ""), "body": request.form.get("body", "")}
    try:
        macro = message_templates.save_macro(_actor(), raw)
    except EngineError as exc:
        return render_template("messages/_macro_form.html", values=raw,
                               errors=field_errors(exc), fields=message_templates.MACRO_FIELDS)
    response = make_response("")
    response.headers["HX-Reswap"] = "none"
    # the toast first: closing the dialog removes the form the events are dispatched on
    return _trigger(response, **{"ruledesk:toast": gettext("Macro %(name)s saved.",
                                                           name=macro.name),
                                 "ruledesk:closeDialog": True})


@bp.route("/macros/<int:macro_id>/delete", methods=["POST"])
@requires("operate")
def delete_macro(macro_id):
    message_templates.delete_macro(_actor(), macro_id)
    response = make_response(render_template(
        "messages/_macros_dialog.html", macros=list(Macro.select().order_by(Macro.name))))
    return _trigger(response, **{"ruledesk:toast": gettext("Macro deleted.")})


# --- history (SMS/알림톡 이력) -----------------------------------------------------------------

def _history_context():
    raw = {f.name: request.args.get(f.name, "") for f in message_log.HISTORY_FIELDS}
    try:
        filters, errors = message_log.parse_history(raw, _tz()), {}
    except EngineError as exc:
        filters, errors = {}, field_errors(exc)
    order_id = request.args.get("order_id", "")
    if order_id.isascii() and order_id.isdigit():
        filters["order_id"] = int(order_id)
        raw["order_id"] = order_id
    batch = request.args.get("batch", "")
    if re.fullmatch(r"[\w.:-]{1,64}", batch):
        filters["batch"] = raw["batch"] = batch
    rows, total, page, pages = paging.paginate(message_log.history(filters, _tz()),
                                                    _page_number(),
                                                    current_app.config["PAGE_SIZE"])
    return dict(rows=rows, total=total, page=page, pages=pages, raw=raw, errors=errors,
                query={k: v for k, v in raw.items() if v},
                search_fields=message_log.HISTORY_FIELDS, **_labels())


@bp.route("/history")
@requires("read")
def history():
    return render("messages/history.html", "results", **_history_context())


@bp.route("/history/<int:message_id>")
@requires("read")
def history_detail(message_id):
    message = message_log.get(message_id)
    if request.args.get("close"):
        return render_template("messages/_history_detail.html", message=message, open=False,
                               **_labels())
    fallbacks = list(Message.select().where(Message.fallback_of == message.id))
    return render_template("messages/_history_detail.html", message=message, open=True,
                           fallbacks=fallbacks, **_labels())


# --- usage log (SMS/알림톡 사용내역) -----------------------------------------------------------

@bp.route("/usage")
@requires("read")
def usage():
    from engine import clock
    today = clock.to_local(g.now, _tz()).date()
    raw = {"month": request.args.get("month", ""), "q": request.args.get("q", "")}
    errors = {}
    try:
        year, month = message_log.parse_month(raw["month"], today)
    except EngineError as exc:
        errors = field_errors(exc)
        year, month = today.year, today.month
    raw["month"] = raw["month"] if errors else f"{year}-{month:02d}"
    rows, total, page, pages = paging.paginate(
        message_log.usage(year, month, _tz(), raw["q"]), _page_number(),
        current_app.config["PAGE_SIZE"])
    months = message_log.monthly_counts(year, month, _tz())
    return render("messages/usage.html", "results", rows=rows, total=total, page=page,
                  pages=pages, raw=raw, errors=errors, query={k: v for k, v in raw.items() if v},
                  months=months, chart=usage_chart(months), year=year, month=month,
                  kinds=message_log.KINDS, **_labels())


CHART_COLORS = {"SMS": "#2563eb", "LMS": "#7c3aed", "MMS": "#db2777", "ALIMTALK": "#ca8a04",
                "EMAIL": "#0d9488"}


def _nice_step(top: int) -> int:
    """A round tick step giving at most about 5 ticks up to ``top``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor * 5 >= top:
                return step * factor
        step *= 10


def usage_chart(months: list[dict]) -> dict:
    """Geometry of the stacked bar chart (one bar per month, one segment per type)."""
    width, height = 760, 260
    left, right, top, bottom = 48, 12, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([m["total"] for m in months] + [1])
    step = _nice_step(peak)
    ceiling = step * -(-peak // step)
    slot = plot_w / max(1, len(months))
    bar_w = slot * 0.6
    bars = []
    for index, m in enumerate(months):
        x = left + slot * index + (slot - bar_w) / 2
        y = top + plot_h
        segments = []
        for kind in message_log.KINDS:
            n = m["counts"].get(kind, 0)
            if not n:
                continue
            h = plot_h * n / ceiling
            y -= h
            segments.append(dict(kind=kind, n=n, x=round(x, 1), y=round(y, 1),
                                 w=round(bar_w, 1), h=round(h, 1), color=CHART_COLORS[kind]))
        bars.append(dict(label=m["label"], short=m["label"][2:].replace("-", "."),
                         total=m["total"], segments=segments,
                         cx=round(left + slot * index + slot / 2, 1),
                         top=round(y, 1)))
    ticks = [dict(value=v, y=round(top + plot_h - plot_h * v / ceiling, 1))
             for v in range(0, ceiling + 1, step)]
    return dict(width=width, height=height, left=left, right=width - right, top=top,
                base=top + plot_h, bars=bars, ticks=ticks, colors=CHART_COLORS)


# --- templates -----------------------------------------------------------------------------

def _posted_buttons(form) -> list[dict]:
    by_index: dict[int, dict] = {}
    for key, value in form.items():
        match = BUTTON_KEY.match(key)
        if match:
            by_index.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [by_index[i] for i in sorted(by_index)]


def _template_raw(form) -> dict:
    raw = {f.name: form.get(f.name, "") for f in message_templates.TEMPLATE_FIELDS}
    raw["buttons"] = _posted_buttons(form)
    return raw


def _template_values(template: MessageTemplate | None) -> dict:
    if template is None:
        return {"kind": "sms", "context": "order", "approval": "approved", "active": True,
                "buttons": []}
    values = {f.name: getattr(template, f.name) for f in message_templates.TEMPLATE_FIELDS}
    values["buttons"] = list(template.buttons or [])
    return values


def _template_page(template, values, errors=None, message=None, status=200):
    editable = current_user.is_authenticated and _can("settings")
    fields = {f.name: f for f in message_templates.TEMPLATE_FIELDS}
    context = dict(template=template, values=values, errors=errors or {}, message=message,
                   fields=fields,
                   button_fields={f.name: f for f in message_templates.BUTTON_FIELDS},
                   button_types=message_templates.BUTTON_TYPES,
                   placeholders=_placeholder_names(values.get("context") or "order"),
                   editable=editable, max_buttons=messaging.ALIMTALK_MAX_BUTTONS,
                   preview=_template_preview(values))
    return render_template("messages/template_form.html", **context), status


def _can(capability: str) -> bool:
    from engine import users
    return users.can(current_user, capability)


@bp.route("/templates")
@requires("read")
def templates():
    rows = list(MessageTemplate.select().order_by(MessageTemplate.active.desc(),
                                                  MessageTemplate.name))
    usage_counts = dict(Message.select(Message.template, fn_count())
                        .where(Message.template.is_null(False))
                        .group_by(Message.template).tuples())
    return render("messages/templates.html", rows=rows, usage=usage_counts,
                  kinds=message_templates.KINDS, approvals=message_templates.APPROVALS)


def fn_count():
    return fn.COUNT(Message.id)


@bp.route("/templates/new")
@requires("settings")
def new_template():
    return _template_page(None, _template_values(None))


@bp.route("/templates/new", methods=["POST"])
@requires("settings")
def create_template():
    raw = _template_raw(request.form)
    try:
        template = message_templates.save_template(_actor(), raw, now=g.now)
    except EngineError as exc:
        return _template_page(None, raw, field_errors(exc), None if exc.field else translate(exc),
                              422)
    return _saved(template)


@bp.route("/templates/<int:template_id>")
@requires("read")
def edit_template(template_id):
    template = MessageTemplate.get_or_none(MessageTemplate.id == template_id)
    if template is None:
        raise NotFound(N_("No such template."))
    return _template_page(template, _template_values(template))


@bp.route("/templates/<int:template_id>", methods=["POST"])
@requires("settings")
def update_template(template_id):
    template = MessageTemplate.get_or_none(MessageTemplate.id == template_id)
    if template is None:
        raise NotFound(N_("No such template."))
    raw = _template_raw(request.form)
    try:
        template = message_templates.save_template(_actor(), raw, template_id, now=g.now)
    except EngineError as exc:
        return _template_page(template, raw, field_errors(exc),
                              None if exc.field else translate(exc), 422)
    return _saved(template)


def _saved(template):
    toast = gettext("Template %(name)s saved.", name=template.name)
    target = url_for("messages.templates", saved=template.id)
    if request.htmx:
        response = make_response("")
        response.headers["HX-Redirect"] = target
        return _trigger(response, **{"ruledesk:toast": toast})
    return redirect(target)


def _sample(context: str = "order"):
    """The preview's sample for the template's context: the newest order (one with a
    tracking number first), the newest ticket (one with an order first), or a job result;
    fixed sample values when the store has none."""
    if context == "job":
        return None, sending.job_variables(dict(SAMPLE_JOB))
    if context == "ticket":
        ticket = (Ticket.select().order_by(Ticket.order.is_null(), Ticket.id.desc()).first())
        if ticket is not None:
            return ticket.order if ticket.order_id else None, sending.ticket_variables(ticket)
        return None, {**SAMPLE_VALUES, **SAMPLE_TICKET}
    order = (Order.select().order_by(Order.tracking_no.is_null(), Order.received_at.desc(),
                                     Order.id.desc()).first())
    if order is None:
        return None, dict(SAMPLE_VALUES)
    return order, sending.order_variables(order)


def _template_preview(values: dict) -> dict:
    context = values.get("context") or "order"
    if context not in message_templates.CONTEXTS:
        context = "order"
    order, variables = _sample(context)
    known = message_templates.known_placeholders(context)
    body = values.get("body") or ""
    subject = values.get("subject") or ""
    fallback = values.get("fallback_text") or ""
    unknown = ["#{%s}" % name for name in messaging.placeholders(body + subject + fallback
                                                       + (values.get("html_body") or ""))
               if name not in known]
    text = messaging.substitute(body, variables)
    subject_text = messaging.substitute(subject, variables)
    kind = values.get("kind") or "sms"
    result = messaging.classify(text, subject_text if kind == "sms" else "")
    preview = dict(order=order, context=context, kind=kind, text=text, subject=subject_text,
                   bytes=result.bytes, type=result.kind, chars=len(text),
                   problems=[_message(p) for p in result.problems if kind == "sms"],
                   unknown=unknown,
                   buttons=[b for b in values.get("buttons") or []
                            if isinstance(b, dict) and (b.get("name") or "").strip()],
                   html=messaging.substitute(values.get("html_body") or "", variables))
    if kind == "alimtalk":
        fallback_text = messaging.substitute(fallback or body, variables)
        fallback_result = messaging.classify(fallback_text)
        preview.update(type=messaging.ALIMTALK, fallback=fallback_text,
                       fallback_type=fallback_result.kind, fallback_bytes=fallback_result.bytes,
                       too_long=len(text) > messaging.ALIMTALK_MAX_CHARS)
    if kind == "email":
        preview["type"] = messaging.EMAIL
    if values.get("is_ad") and values.get("is_ad") not in ("0", "false"):
        preview["ad_problems"] = [_message(p) for p in messaging.ad_problems(body)]
    return preview


@bp.route("/templates/preview", methods=["POST"])
@requires("settings")
def template_preview():
    raw = _template_raw(request.form)
    preview = render_template("messages/_template_preview.html",
                              preview=_template_preview(raw), kinds=message_templates.KINDS,
                              button_types=message_templates.BUTTON_TYPES)
    # the placeholder buttons follow the chosen context (out-of-band swap)
    buttons = render_template("messages/_placeholders.html", oob=True,
                              placeholders=_placeholder_names(raw.get("context") or "order"))
    return preview + buttons


@bp.route("/templates/button-row")
@requires("settings")
def button_row():
    count = request.args.get("count", "0")
    if count.isdigit() and int(count) >= messaging.ALIMTALK_MAX_BUTTONS:
        response = make_response("", 204)
        return _trigger(response, **{"ruledesk:toast": gettext(
            "An AlimTalk template has at most %(n)d buttons.", n=messaging.ALIMTALK_MAX_BUTTONS)})
    index = request.args.get("index", "0")
    return render_template("messages/_button_row.html",
                           index=int(index) if index.isdigit() else 0, button={}, errors={},
                           button_types=message_templates.BUTTON_TYPES, editable=True)


# --- sender numbers (발신번호) ---------------------------------------------------------------

def _senders_page(values=None, errors=None, message=None, status=200):
    rows = list(SenderNumber.select().order_by(SenderNumber.id))
    used = dict(Message.select(Message.sender, fn_count()).group_by(Message.sender).tuples())
    body = render("messages/senders.html", "senders", rows=rows, used=used,
                  values=values or {"registered": True}, errors=errors or {}, message=message,
                  fields=senders.SENDER_FIELDS)
    return body, status


@bp.route("/senders")
@requires("read")
def sender_numbers():
    return _senders_page()


@bp.route("/senders", methods=["POST"])
@requires("settings")
def add_sender():
    raw = {f.name: request.form.get(f.name, "") for f in senders.SENDER_FIELDS}
    try:
        sender = senders.save_sender(_actor(), raw)
    except EngineError as exc:
        return _senders_page(raw, field_errors(exc), None if exc.field else translate(exc), 422
                             if not request.htmx else 200)
    body, status = _senders_page()
    response = make_response(body, status)
    return _trigger(response, **{"ruledesk:toast": gettext("Sender number %(number)s added.",
                                                           number=msgnumber(sender.number))})


@bp.route("/senders/<int:sender_id>/delete", methods=["POST"])
@requires("settings")
def delete_sender(sender_id):
    senders.delete_sender(_actor(), sender_id)
    body, status = _senders_page()
    response = make_response(body, status)
    return _trigger(response, **{"ruledesk:toast": gettext("Sender number deleted.")})


# --- night advertising consent ------------------------------------------------------------

def _consents_page(values=None, errors=None):
    rows = list(RecipientConsent.select().order_by(RecipientConsent.updated_at.desc()))
    return render("messages/consents.html", "consents", rows=rows,
                  values=values or {"night_ads": True}, errors=errors or {},
                  fields=consents.CONSENT_FIELDS)


@bp.route("/consents")
@requires("read")
def consent_list():
    return _consents_page()


@bp.route("/consents", methods=["POST"])
@requires("operate")
def record_consent():
    raw = {f.name: request.form.get(f.name, "") for f in consents.CONSENT_FIELDS}
    try:
        consents.set_consent(_actor(), raw)
    except EngineError as exc:
        return _consents_page(raw, field_errors(exc))
    return _trigger(make_response(_consents_page()),
                    **{"ruledesk:toast": gettext("Consent saved.")})


@bp.route("/consents/<int:consent_id>/withdraw", methods=["POST"])
@requires("operate")
def withdraw_consent(consent_id):
    consents.withdraw(_actor(), consent_id)
    return _trigger(make_response(_consents_page()),
                    **{"ruledesk:toast": gettext("Consent withdrawn.")})
