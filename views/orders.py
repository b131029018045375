"""The order CS console (seed 002, CS 화면): search, list, order panel, operation dialogs."""
from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, g, make_response, request, url_for
from flask_babel import gettext

from engine import catalog, history, orders
from engine.errors import EngineError
from engine.models import Channel, Courier, Order, ProductOption
from views.web import ctx, field_errors, render, requires, translate

bp = Blueprint("orders", __name__, url_prefix="/orders")


def _filters():
    """Parsed search filters; a bad filter is shown in the form, never a 500."""
    raw = {f.name: request.args.get(f.name, "") for f in orders.SEARCH_FIELDS}
    try:
        return raw, orders.parse_search(raw, current_app.config["TZ"]), {}
    except EngineError as exc:
        return raw, {}, field_errors(exc)


def _results_context():
    raw, filters, errors = _filters()
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() else 1
    rows, total, page, pages = orders.paginate(orders.search(filters, current_app.config["TZ"]),
                                               page, current_app.config["PAGE_SIZE"])
    query = {k: v for k, v in raw.items() if v}
    return dict(rows=rows, total=total, page=page, pages=pages, query=query, raw=raw,
                errors=errors, search_fields=orders.SEARCH_FIELDS,
                bulk_ops=[op for op in orders.OPERATIONS.values() if op.bulk],
                selected=request.args.get("order", type=int))


@bp.route("/")
@requires("read")
def index():
    return render("orders/index.html", "results", **_results_context())


@bp.route("/rows")
@requires("read")
def rows():
    return render("orders/index.html", "results", **_results_context())


@bp.route("/alarms")
@requires("read")
def alarms():
    due = list(Order.due_alarms(g.now).limit(20))
    return render("orders/_alarms.html", alarms=due)


def _panel_context(order: Order, **extra):
    ops = [(op, orders.refusal(op, order)) for op in orders.OPERATIONS.values()]
    return dict(order=order, lines=list(order.lines), history=list(history.for_order(order.id)),
                operations=ops, labels=history.OPERATION_LABELS, **extra)


@bp.route("/<int:order_id>")
@requires("read")
def panel(order_id):
    order = orders.get(order_id)
    return render("orders/_panel.html", **_panel_context(order))


# --- single-order operations --------------------------------------------------------------

def _dialog(template, **context):
    return render(template, **context)


@bp.route("/<int:order_id>/op/<name>", methods=["GET"])
@requires("operate")
def operation_dialog(order_id, name):
    op = _operation(name)
    order = orders.get(order_id)
    refused = orders.refusal(op, order)
    return _dialog("orders/_operation.html", op=op, order=order, values=_defaults(op, order),
                   errors={}, refused=translate(refused) if refused else None)


@bp.route("/<int:order_id>/op/<name>", methods=["POST"])
@requires("operate")
def operation_submit(order_id, name):
    op = _operation(name)
    version = request.form.get("version", type=int)
    try:
        order = orders.perform(name, order_id, request.form.to_dict(), ctx(),
                               expected_version=version)
    except EngineError as exc:
        order = orders.get(order_id)
        return _dialog("orders/_operation.html", op=op, order=order,
                       values=request.form.to_dict(), errors=field_errors(exc),
                       message=None if exc.field else translate(exc), refused=None)
    return _changed(order, gettext("%(op)s: done for order %(id)s.", op=gettext(op.label),
                                   id=order.id))


def _changed(order: Order | None, toast: str):
    """Close the dialog, refresh the list and (when given) swap in the order's new panel."""
    body = render("orders/_panel.html", oob=True, **_panel_context(order)) if order else ""
    response = make_response(body)
    # closeDialog last: it empties the dialog the request came from
    response.headers["HX-Trigger"] = json.dumps(
        {"ruledesk:ordersChanged": True, "ruledesk:toast": toast, "ruledesk:closeDialog": True})
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def _operation(name, bulk=False):
    op = orders.OPERATIONS.get(name)
    if op is None or (bulk and not op.bulk):
        from werkzeug.exceptions import NotFound
        raise NotFound()
    return op


def _defaults(op, order: Order) -> dict:
    """Prefill a dialog with the order's current values (배송정보변경 shows what is there)."""
    values = {f.name: getattr(order, f.name, "") or "" for f in op.fields}
    if op.name == "set_handling_status":
        values["handling_status"] = str(order.handling_status_id or "")
    if op.name == "invoice":
        first = Courier.ordered().where(Courier.active == True).first()  # noqa: E712
        values["courier"] = order.courier or (first.name if first else "")
    if op.name == "hold":
        values["alarm_at"] = ""
    return values


# --- bulk operations on selected rows ----------------------------------------------------

@bp.route("/bulk/<name>", methods=["GET"])
@requires("operate")
def bulk_dialog(name):
    op = _operation(name, bulk=True)
    ids = [i for i in request.args.getlist("ids") if i.isdigit()]
    return _dialog("orders/_operation.html", op=op, order=None, ids=ids, values={}, errors={},
                   refused=None if ids else gettext("Select at least one order."))


@bp.route("/bulk/<name>", methods=["POST"])
@requires("operate")
def bulk_submit(name):
    op = _operation(name, bulk=True)
    ids = request.form.getlist("ids")
    try:
        done = orders.perform_bulk(name, ids, request.form.to_dict(), ctx())
    except EngineError as exc:
        details = [(i, translate(err)) for i, err in exc.details]
        return _dialog("orders/_operation.html", op=op, order=None, ids=ids,
                       values=request.form.to_dict(), errors=field_errors(exc),
                       message=None if exc.field else translate(exc), details=details,
                       refused=None)
    return _changed(None, gettext("%(op)s: done for %(n)d orders.", op=gettext(op.label),
                                  n=len(done)))


# --- manual order creation (seed: 주문생성) ------------------------------------------------

ORDER_FIELDS = {f.name: f for f in orders.ORDER_FIELDS}
LINE_KEY = re.compile(r"^lines-(\d+)-(option_id|quantity|price)$")


def _posted_lines(form) -> list[dict]:
    """Collect ``lines-<n>-<field>`` inputs into a list ordered by n."""
    by_index: dict[int, dict] = {}
    for key, value in form.items():
        match = LINE_KEY.match(key)
        if match:
            by_index.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [by_index[i] for i in sorted(by_index)]


def _line_views(lines: list[dict]) -> list[dict]:
    """The submitted lines with their option, to re-render the form after an error."""
    ids = [int(line["option_id"]) for line in lines if str(line.get("option_id", "")).isdigit()]
    options = {o.id: o for o in catalog.search_options(include_inactive=True)
               .where(ProductOption.id.in_(ids or [0]))}
    return [dict(line, option=options.get(int(line["option_id"]))
                 if str(line.get("option_id", "")).isdigit() else None) for line in lines]


@bp.route("/new", methods=["GET"])
@requires("operate")
def new_order():
    return _dialog("orders/_new.html", values={}, lines=[], errors={},
                   fields=ORDER_FIELDS)


@bp.route("/new", methods=["POST"])
@requires("operate")
def create_order():
    raw = request.form.to_dict()
    lines = _posted_lines(request.form)
    raw["lines"] = lines
    try:
        order = orders.create_order(raw, ctx())
    except EngineError as exc:
        return _dialog("orders/_new.html", values=raw, lines=_line_views(lines),
                       errors=field_errors(exc), message=translate(exc),
                       fields=ORDER_FIELDS)
    response = _changed(order, gettext("Order %(id)s created.", id=order.id))
    return response


@bp.route("/new/line")
@requires("operate")
def new_line():
    option = (catalog.search_options().where(ProductOption.id == request.args.get("option_id",
                                                                                  type=int)).first())
    if option is None:
        return "", 204
    index = request.args.get("index", type=int) or 0
    return render("orders/_new.html", "line_row",
                  line={"option": option, "quantity": "1", "price": option.price_a},
                  index=index, errors={})


@bp.route("/products")
@requires("read")
def product_search():
    """The product search dialog body (seed: 상품 검색); 선택 adds a line to the new order."""
    keyword = request.args.get("q", "")
    query = catalog.search_options(keyword)
    total = query.count()
    return render("orders/_product_search.html", options=list(query.limit(50)), total=total,
                  keyword=keyword)
