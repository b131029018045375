"""The order CS console (seed 002, CS 화면): search, list, order panel, operation dialogs."""
from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, g, make_response, request, url_for
from flask_babel import gettext

from engine import catalog, combining, history, order_lines, orders, pickups, priority
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
                bulk_ops=_grouped([op for op in orders.OPERATIONS.values() if op.bulk]),
                selected=request.args.get("order", type=int))


def _grouped(ops) -> list:
    """[(group, label, [ops])] in the panel's group order, empty groups left out."""
    result = []
    for group, label in orders.GROUPS:
        members = [op for op in ops if op.group == group]
        if members:
            result.append((group, label, members))
    return result


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
    groups = []
    for group, label in orders.GROUPS:
        members = [(op, refused) for op, refused in ops if op.group == group]
        if members:
            groups.append((group, label, members, sum(1 for _, r in members if r is None)))
    return dict(order=order, lines=order_lines.lines(order),
                history=list(history.for_order(order.id)), operations=ops, op_groups=groups,
                labels=history.OPERATION_LABELS, proposals=combining.proposals(order),
                group_members=combining.others(order), pickups=pickups.for_order(order.id),
                pickup_labels=pickups.STATUS_LABELS, **extra)


@bp.route("/<int:order_id>")
@requires("read")
def panel(order_id):
    order = orders.get(order_id)
    return render("orders/_panel.html", **_panel_context(order))


# --- single-order operations --------------------------------------------------------------

def _dialog(template, **context):
    return render(template, **context)


def _dialog_context(op, order: Order, values: dict) -> dict:
    """What some dialogs show beside their fields: the order's lines to pick one, the
    combine proposals, the orders to place a priority after, the open pickups."""
    context = {"lines": order_lines.lines(order)}
    if op.group == "combine":
        context.update(proposals=combining.proposals(order),
                       group_members=combining.others(order))
    if op.name == "set_priority":
        context.update(peers=priority.peers(order))
    if op.group == "returns":
        context.update(pickups=pickups.for_order(order.id), pickup_labels=pickups.STATUS_LABELS,
                       inbound_done=pickups.registered_inbound(order.id))
    if any(f.name == "option_id" for f in op.fields):
        chosen = str(values.get("option_id") or "")
        chosen = int(chosen) if chosen.isdigit() and int(chosen) < 2**31 else None
        context["chosen_option"] = (catalog.search_options(include_inactive=True)
                                    .where(ProductOption.id == chosen).first()
                                    if chosen else None)
    return context


@bp.route("/<int:order_id>/op/<name>", methods=["GET"])
@requires("operate")
def operation_dialog(order_id, name):
    op = _operation(name)
    order = orders.get(order_id)
    refused = orders.refusal(op, order)
    values = _defaults(op, order)
    for key in ("line_id", "option_id", "with", "after", "position", "pickup_id"):
        if key in request.args and any(f.name == key for f in op.fields):
            values[key] = request.args[key]
    return _dialog("orders/_operation.html", op=op, order=order, values=values,
                   errors={}, refused=translate(refused) if refused else None,
                   **_dialog_context(op, order, values))


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
                       message=None if exc.field else translate(exc), refused=None,
                       **_dialog_context(op, order, request.form))
    if op.returns_new:
        return _changed(order, gettext("%(op)s: order %(new)s was made from order %(id)s.",
                                       op=gettext(op.label), new=order.id, id=order_id))
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
    first_line = order_lines.lines(order)[:1]
    if any(f.name == "line_id" for f in op.fields):
        values["line_id"] = str(first_line[0].id) if first_line else ""
        values["quantity"] = "1"
    if op.name == "add_product":
        values["quantity"] = "1"
    if op.name == "copy" and first_line:
        values["option_id"] = str(first_line[0].option_id or "")
        values["quantity"] = str(first_line[0].quantity)
    if op.name == "copy_all":
        values["channel"] = str(order.channel_id)
    if op.name == "set_priority":
        values["position"] = priority.TOP
    if op.name == "pickup":
        first = Courier.ordered().where(Courier.active == True).first()  # noqa: E712
        values["courier"] = order.courier or (first.name if first else "")
        values["register_inbound"] = not pickups.registered_inbound(order.id)
    if op.name in ("pickup_receive", "pickup_complete"):
        statuses = ((pickups.REQUESTED,) if op.name == "pickup_receive"
                    else (pickups.REQUESTED, pickups.ACCEPTED))
        open_one = pickups.open_pickup(order.id, statuses)
        if open_one:
            values["pickup_id"] = str(open_one.id)
            values["return_tracking_no"] = open_one.return_tracking_no
            for name in pickups.AMOUNT_COLUMNS:
                values[name] = getattr(open_one, name)
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
    # mode "pick": 선택 fills the dialog's product field (상품변경, 상품추가, 주문복사)
    mode = "pick" if request.args.get("mode") == "pick" else "line"
    return render("orders/_product_search.html", options=list(query.limit(50)), total=total,
                  keyword=keyword, mode=mode)
