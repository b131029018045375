"""What the marketplace connectors bring in and send out: the inquiries (문의) with their
answers, and the tracking numbers a marketplace refused (운송장 전송 실패) with "retry now".

Thin views over ``engine.inquiries`` and ``engine.connectors``: reading needs "read",
answering and retrying "operate".
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app, g, make_response, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from jinja2_fragments.flask import render_block

from engine import connectors, inquiries, paging
from engine.errors import EngineError
from engine.models import Channel
from engine.schema import Field, parse
from engine.text import N_
from views.web import ctx, field_errors, render, requires, translate

bp = Blueprint("market", __name__, url_prefix="/market")

CHANGED = "ruledesk:marketChanged"


def ticket_url(inquiry) -> str | None:
    """The helpdesk ticket made from ``inquiry`` (None until the helpdesk links one)."""
    return None


def _tz():
    return current_app.config["TZ"]


def _page() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1


def _paged(query):
    return paging.paginate(query, _page(), current_app.config["PAGE_SIZE"])


def _done(message: str, status: int = 200):
    response = make_response("", status)
    response.headers["HX-Trigger"] = json.dumps({CHANGED: True, "ruledesk:toast": message})
    response.headers["HX-Reswap"] = "none"
    return response


def _refused(exc: EngineError):
    response = make_response("", exc.status)
    response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": translate(exc)})
    response.headers["HX-Reswap"] = "none"
    return response


def _counts_words(counts: dict) -> str:
    return gettext("%(sent)d sent, %(failed)d failed", sent=counts.get("sent", 0),
                   failed=counts.get("failed", 0))


@bp.route("/")
@requires("read")
def index():
    return redirect(url_for("market.inquiry_list"))


# --- 문의 ---------------------------------------------------------------------------------------

@bp.route("/inquiries")
@requires("read")
def inquiry_list():
    raw = {f.name: request.args.get(f.name, "") for f in inquiries.SEARCH_FIELDS}
    try:
        filters, errors = inquiries.parse_search(raw, _tz()), {}
    except EngineError as exc:
        filters, errors = None, field_errors(exc)
    rows, total, page, pages = [], 0, 1, 1
    if filters is not None:
        rows, total, page, pages = _paged(inquiries.search(filters, _tz()))
    return render("market/inquiries.html", "results", raw=raw, errors=errors, rows=rows,
                  total=total, page=page, pages=pages, search_fields=inquiries.SEARCH_FIELDS,
                  query={k: v for k, v in raw.items() if v},
                  kind_labels=connectors.KIND_LABELS, status_labels=connectors.ANSWER_STATUSES,
                  ticket_url=ticket_url)


def _inquiry_row(inquiry, errors=None, draft=None, status=200):
    return render_block("market/inquiries.html", "inquiry_row", i=inquiry,
                        row_errors=errors or {},
                        draft=draft, kind_labels=connectors.KIND_LABELS,
                        status_labels=connectors.ANSWER_STATUSES, ticket_url=ticket_url), status


@bp.route("/inquiries/<int:inquiry_id>")
@requires("read")
def inquiry_row(inquiry_id):
    return _inquiry_row(inquiries.get(inquiry_id))


@bp.route("/inquiries/<int:inquiry_id>/answer", methods=["POST"])
@requires("operate")
def answer(inquiry_id):
    text = request.form.get("answer", "")
    try:
        saved = inquiries.answer(inquiry_id, text, current_user._get_current_object(), g.now)
    except EngineError as exc:
        inquiry = inquiries.get(inquiry_id)
        errors = field_errors(exc) or {"answer": translate(exc)}
        return _inquiry_row(inquiry, errors, draft=text, status=exc.status if exc.status != 422
                            else 200)
    body, status = _inquiry_row(saved)
    response = make_response(body, status)
    response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": gettext(
        "Answer saved; the next answer sending run sends it.")})
    return response


@bp.route("/inquiries/send", methods=["POST"])
@requires("operate")
def send_answers():
    """Send the chosen waiting or failed answers now (one, or several at once)."""
    try:
        counts = inquiries.retry(request.form.getlist("ids"), current_user._get_current_object(),
                                 g.now)
    except EngineError as exc:
        return _refused(exc)
    return _done(_counts_words(counts))


# --- 운송장 전송 실패 ----------------------------------------------------------------------------

def _push_channels():
    return [(str(c.id), c.name) for c in
            Channel.select().where(Channel.connector.is_null(False)).order_by(Channel.name)]


FAILURE_FIELDS = [Field("channel", N_("Channel"), kind="choice", choices=_push_channels)]


@bp.route("/invoice-failures")
@requires("read")
def invoice_failures():
    raw = {f.name: request.args.get(f.name, "") for f in FAILURE_FIELDS}
    try:
        filters, errors = parse(FAILURE_FIELDS, {k: v for k, v in raw.items() if v}), {}
    except EngineError as exc:
        filters, errors = {}, field_errors(exc)
    rows, total, page, pages = _paged(connectors.failed_invoices(filters))
    return render("market/invoice_failures.html", "results", raw=raw, errors=errors,
                  rows=rows, total=total, page=page, pages=pages, search_fields=FAILURE_FIELDS,
                  query={k: v for k, v in raw.items() if v})


@bp.route("/invoice-failures/retry", methods=["POST"])
@requires("operate")
def retry_invoices():
    """"Retry now" for the chosen rows (or all of the list with ``all``)."""
    ids = request.form.getlist("ids")
    if request.form.get("all"):
        ids = [p.order_id for p in connectors.failed_invoices()]
    try:
        counts = connectors.retry_invoices(ids, ctx())
    except EngineError as exc:
        return _refused(exc)
    return _done(_counts_words(counts))
