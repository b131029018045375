"""CS history (seed 002, CS내역조회): search the CS lines of every order, expand an order's
lines inline, complete selected or all matching lines, add a line to the selected orders."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, make_response, render_template, request
from flask_babel import gettext

from engine import cs_history, history, paging
from engine.errors import EngineError
from engine.models import Order
from views.web import ctx, field_errors, render, requires, translate

bp = Blueprint("cs", __name__, url_prefix="/cs")

CHANGED = "ruledesk:csChanged"


def _tz():
    return current_app.config["TZ"]


def _page() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1


def _filters(args):
    """(raw, parsed, errors): a bad filter is shown in the form, never a 500."""
    raw = {f.name: args.get(f.name, "") for f in cs_history.SEARCH_FIELDS}
    try:
        return raw, cs_history.parse_search(raw, _tz()), {}
    except EngineError as exc:
        return raw, None, field_errors(exc)


def _context():
    raw, filters, errors = _filters(request.args)
    query = {k: v for k, v in raw.items() if v}
    if filters is None:
        rows, total, page, pages, open_count = [], 0, 1, 1, 0
    else:
        rows, total, page, pages = paging.paginate(
            cs_history.search(filters, _tz()), _page(), current_app.config["PAGE_SIZE"])
        open_count = cs_history.count_open(filters, _tz())
    return dict(rows=rows, total=total, page=page, pages=pages, raw=raw, errors=errors,
                query=query, open_count=open_count, search_fields=cs_history.SEARCH_FIELDS,
                labels=history.OPERATION_LABELS)


@bp.route("/")
@requires("read")
def index():
    return render("cs/index.html", "results", **_context())


@bp.route("/order/<int:order_id>/lines")
@requires("read")
def order_lines(order_id):
    """The "+" of a row: every CS line of that order, inline (again: closed)."""
    anchor = request.args.get("row", type=int) or 0
    order = Order.get_or_none(Order.id == order_id)
    if order is None or request.args.get("close"):
        return render_template("cs/_more.html", anchor=anchor, lines=None, order=order)
    return render_template("cs/_more.html", anchor=anchor, order=order,
                           lines=cs_history.for_order(order_id),
                           labels=history.OPERATION_LABELS)


def _done(message: str):
    response = make_response("")
    response.headers["HX-Trigger"] = json.dumps(
        {CHANGED: True, "ruledesk:toast": message, "ruledesk:closeDialog": True})
    response.headers["HX-Reswap"] = "none"
    return response


def _refused(message: str, status: int = 422):
    response = make_response("", status)
    response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": message})
    response.headers["HX-Reswap"] = "none"
    return response


@bp.route("/complete", methods=["POST"])
@requires("operate")
def complete():
    """CS선택완료."""
    try:
        done = cs_history.complete(request.form.getlist("ids"), ctx())
    except EngineError as exc:
        return _refused(translate(exc), exc.status)
    return _done(gettext("%(n)d CS lines completed.", n=done))


@bp.route("/complete-all", methods=["POST"])
@requires("operate")
def complete_all():
    """CS일괄완료: every open line the search (posted as the form's filters) finds."""
    raw, filters, errors = _filters(request.form)
    if filters is None:
        return _refused(next(iter(errors.values())))
    done = cs_history.complete_matching(filters, ctx())
    return _done(gettext("%(n)d CS lines completed.", n=done))


@bp.route("/note", methods=["GET"])
@requires("operate")
def note_dialog():
    """CS선택중복: the dialog for a new CS line on the orders of the selected lines."""
    ids = [i for i in request.args.getlist("ids") if i.isdigit()]
    return render_template("cs/_note.html", ids=ids, values={}, errors={},
                           orders=_orders_of(ids),
                           refused=None if ids else gettext("Select at least one CS line."))


def _orders_of(ids) -> list:
    from engine.models import CsHistory
    numbers = [int(i) for i in ids if str(i).isdigit() and int(i) < 2**31]
    if not numbers:
        return []
    return sorted({h.order_id for h in CsHistory.select(CsHistory.order)
                   .where(CsHistory.id.in_(numbers))})


@bp.route("/note", methods=["POST"])
@requires("operate")
def note_submit():
    ids = request.form.getlist("ids")
    try:
        order_ids = cs_history.add_note(ids, request.form.to_dict(), ctx())
    except EngineError as exc:
        return render_template("cs/_note.html", ids=ids, values=request.form.to_dict(),
                               errors=field_errors(exc), orders=_orders_of(ids),
                               message=None if exc.field == "text" else translate(exc),
                               refused=None)
    return _done(gettext("A CS line was added to %(n)d orders.", n=len(order_ids)))
