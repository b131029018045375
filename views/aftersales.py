"""After-sales on a ticket (seed 003): the smart links and buttons block of the ticket page,
the htmx dialogs behind each button, and the coupon programmes settings page.

Thin views over ``engine.aftersales``: a disabled button shows the engine's own refusal, a
dialog posts to the same function the API and rules call, and a success fires
``ruledesk:aftersalesChanged`` so the ticket page (history, smart links) reloads itself.
The records list behind a smart link moves repair orders and field tasks along their statuses
(``set_repair_status``, ``set_task_status``) and re-renders itself.
Viewing needs "read", after-sales actions "operate", coupon programmes "settings".
"""
from __future__ import annotations

import json

from flask import Blueprint, abort, make_response, request, url_for
from flask_babel import format_decimal, gettext
from flask_login import current_user
from werkzeug.routing import BuildError

from engine import aftersales, orders, pickups, tickets
from engine.errors import EngineError
from engine.models import Coupon, FieldTask, OrderLine, RepairOrder, Ticket
from engine.teams import AFTER_SALES
from engine.text import N_
from views.catalog import dialog, done
from views.web import ctx, field_errors, render, requires, translate

bp = Blueprint("aftersales", __name__)

CHANGED = "ruledesk:aftersalesChanged"
PROGRAMS_CHANGED = "ruledesk:couponProgramsChanged"
PICKUP = orders.OPERATIONS["pickup"]


def _user():
    return current_user._get_current_object()


def _ticket(ticket_id) -> Ticket:
    return tickets.get(ticket_id, _user())


def _option(option: str) -> str:
    if option not in AFTER_SALES:
        abort(404)
    return option


def _won(amount) -> str:
    return format_decimal(amount or 0, format="#,##0")


@bp.app_template_global("aftersales_block")
def block(ticket: Ticket) -> dict:
    """What ``helpdesk/_aftersales.html`` shows for ``ticket``: the team's options with the
    reason each is refused now (translated), and the smart links with their counts."""
    try:   # the ticket page reloads itself (history, smart links) after an action
        refresh, target = url_for("helpdesk.ticket_page", ticket_id=ticket.id), "#ticket"
    except BuildError:
        refresh, target = url_for("aftersales.ticket_block", ticket_id=ticket.id), "#aftersales"
    return {
        "offered": [(option, label, translate(refused) if refused else None)
                    for option, label, refused in aftersales.offered(ticket)],
        "links": aftersales.smart_links(ticket),
        "refresh": refresh, "target": target,
    }


# --- the block on the ticket page -------------------------------------------------------------

@bp.route("/helpdesk/tickets/<int:ticket_id>/aftersales")
@requires("read")
def ticket_block(ticket_id):
    return render("helpdesk/_aftersales.html", ticket=_ticket(ticket_id))


def _records(ticket: Ticket, kind: str, message: str | None = None):
    return dialog("aftersales/_records.html", ticket=ticket, kind=_option(kind),
                  label=AFTER_SALES[kind], rows=aftersales.records(ticket, kind),
                  pickup_labels=pickups.STATUS_LABELS, methods=aftersales.REFUND_METHODS,
                  invoice_methods=aftersales.INVOICE_METHODS, describe=aftersales.describe,
                  repair_statuses=aftersales.REPAIR_STATUSES,
                  task_statuses=aftersales.TASK_STATUSES, steps=aftersales.steps,
                  message=message,
                  summary=aftersales.refund_summary(ticket.order) if ticket.order_id else None)


@bp.route("/helpdesk/tickets/<int:ticket_id>/aftersales/<kind>/records")
@requires("read")
def records(ticket_id, kind):
    return _records(_ticket(ticket_id), kind)


# --- the status of a repair order or a field task (buttons in the records list) ---------------

STATUS = {  # kind → (model, engine operation, toast)
    "repair": (RepairOrder, aftersales.set_repair_status, aftersales.REPAIR_STATUSES,
               N_("Repair order #%(id)s is %(status)s now.")),
    "field_service": (FieldTask, aftersales.set_task_status, aftersales.TASK_STATUSES,
                      N_("Field-service task #%(id)s is %(status)s now.")),
}


def _set_status(kind: str, record_id: int):
    """Run the engine's status move, then re-render the records list the button sits in:
    with a toast (and the ticket page's history reloading) on success, with the refusal at
    the top of the list otherwise."""
    model, operate, labels, toast = STATUS[kind]
    found = model.get_or_none(model.id == record_id) if record_id < 2**31 else None
    if found is None:
        abort(404)
    ticket = _ticket(found.ticket_id)          # an invisible ticket: 404 before anything
    try:
        record = operate(ctx(), record_id, request.form.get("status", ""))
    except EngineError as exc:
        if exc.status == 404:
            raise
        return _records(ticket, kind, message=translate(exc))
    response = make_response(_records(ticket, kind))
    response.headers["HX-Trigger"] = json.dumps({
        "ruledesk:toast": gettext(toast, id=record.id, status=gettext(labels[record.status])),
        CHANGED: True})
    return response


@bp.route("/helpdesk/repairs/<int:repair_id>/status", methods=["POST"])
@requires("operate")
def repair_status(repair_id):
    return _set_status("repair", repair_id)


@bp.route("/helpdesk/field-tasks/<int:task_id>/status", methods=["POST"])
@requires("operate")
def task_status(task_id):
    return _set_status("field_service", task_id)


# --- the dialogs ------------------------------------------------------------------------------

def _dialog_context(ticket: Ticket, option: str, values: dict) -> dict:
    context = {"ticket": ticket, "option": option, "label": AFTER_SALES[option],
               "order": ticket.order if ticket.order_id else None, "values": values}
    if option == "refund" and ticket.order_id:
        context.update(summary=aftersales.refund_summary(ticket.order),
                       fields=aftersales.REFUND_FIELDS, methods=aftersales.REFUND_METHODS)
    elif option == "coupon" and ticket.order_id:
        offered = [(p, aftersales.program_refusal(p, ticket.order))
                   for p in aftersales.programs(active_only=True)]
        context.update(programs=offered, describe=aftersales.describe,
                       first_ok=next((p.id for p, why in offered if why is None), ""))
    elif option == "return":
        context.update(fields=[f for f in PICKUP.fields if not f.name.startswith("expected_")],
                       amounts=[f for f in PICKUP.fields if f.name.startswith("expected_")])
    elif option == "repair" and ticket.order_id:
        context.update(fields={f.name: f for f in aftersales.REPAIR_FIELDS},
                       lines=list(ticket.order.lines.order_by(OrderLine.id)),
                       returns=aftersales.records(ticket, "return"))
    elif option == "field_service":
        context.update(fields=aftersales.FIELD_TASK_FIELDS)
    return context


def defaults(ticket: Ticket, option: str) -> dict:
    """The dialog's starting values (the API fills a field the client left out from them)."""
    if option == "refund":
        return {"method": "partial"}
    if option == "return" and ticket.order_id:
        return aftersales.pickup_defaults(ticket)
    if option == "field_service":
        return {"title": ticket.subject}
    if option == "repair":
        return {"invoice_method": "none"}
    return {}


@bp.route("/helpdesk/tickets/<int:ticket_id>/aftersales/<option>", methods=["GET"])
@requires("operate")
def open_dialog(ticket_id, option):
    ticket = _ticket(ticket_id)
    _option(option)
    refused = aftersales.refusal(ticket, option)
    return dialog("aftersales/_dialog.html", errors={},
                  refused=translate(refused) if refused else None,
                  **_dialog_context(ticket, option, defaults(ticket, option)))


PERFORM = {
    "refund": aftersales.refund,
    "coupon": aftersales.generate_coupon,
    "return": aftersales.start_return,
    "repair": aftersales.create_repair,
    "field_service": aftersales.create_field_task,
}


def _toast(option: str, record) -> str:
    if option == "refund":
        return gettext("Credit note of %(amount)s issued.", amount=_won(record.amount))
    if option == "return":
        return gettext("Return started: pickup #%(id)s requested.", id=record.id)
    if option == "repair":
        return gettext("Repair order #%(id)s created.", id=record.id)
    return gettext("Field-service task #%(id)s planned.", id=record.id)


@bp.route("/helpdesk/tickets/<int:ticket_id>/aftersales/<option>", methods=["POST"])
@requires("operate")
def submit(ticket_id, option):
    _option(option)
    raw = request.form.to_dict()
    try:
        record = PERFORM[option](ctx(), ticket_id, raw)
    except EngineError as exc:
        if exc.status == 404:
            raise
        ticket = _ticket(ticket_id)
        return dialog("aftersales/_dialog.html", errors=field_errors(exc),
                      message=None if exc.field else translate(exc), refused=None,
                      **_dialog_context(ticket, option, raw))
    if option == "coupon":
        response = make_response(dialog("aftersales/_coupon.html",
                                        **_coupon_context(record)))
        response.headers["HX-Trigger"] = json.dumps({
            "ruledesk:toast": gettext("Coupon %(code)s generated.", code=record.code),
            CHANGED: True})
        return response
    return done(_toast(option, record), CHANGED)


# --- a coupon: show, copy, send by email ------------------------------------------------------

def coupon_mail(coupon: Coupon) -> dict:
    """The coupon email's subject and body in the current language: what the dialog prefills
    and what the API sends when the client gives no text of its own."""
    ticket = Ticket.get_by_id(coupon.ticket_id)
    worth, params = aftersales.describe(coupon.program)
    return {
        "subject": gettext("Your coupon from us: %(code)s", code=coupon.code),
        "body": gettext("Dear %(name)s,\n\nThank you for your patience. Here is your "
                        "coupon:\n\n%(code)s (%(worth)s, valid until %(until)s)\n\n"
                        "Ticket #%(id)s: %(subject)s",
                        name=ticket.customer_name or gettext("customer"), code=coupon.code,
                        worth=gettext(worth, **params), until=coupon.expires_on.isoformat(),
                        id=ticket.id, subject=ticket.subject),
    }


def _coupon_context(coupon: Coupon, values=None, errors=None, message=None) -> dict:
    ticket = Ticket.get_by_id(coupon.ticket_id)
    worth, params = aftersales.describe(coupon.program)
    worth = gettext(worth, **params)
    if values is None:
        values = coupon_mail(coupon)
    return dict(coupon=coupon, ticket=ticket, worth=worth, values=values, errors=errors or {},
                message=message, send_fields=aftersales.SEND_COUPON_FIELDS)


@bp.route("/helpdesk/coupons/<int:coupon_id>")
@requires("read")
def coupon(coupon_id):
    return dialog("aftersales/_coupon.html",
                  **_coupon_context(aftersales.get_coupon(coupon_id, _user())))


@bp.route("/helpdesk/coupons/<int:coupon_id>/send", methods=["POST"])
@requires("operate")
def send_coupon(coupon_id):
    raw = request.form.to_dict()
    try:
        result = aftersales.send_coupon(ctx(), coupon_id, raw)
    except EngineError as exc:
        if exc.status == 404:
            raise
        found = aftersales.get_coupon(coupon_id, _user())
        return dialog("aftersales/_coupon.html", **_coupon_context(
            found, values=raw, errors=field_errors(exc),
            message=None if exc.field else translate(exc)))
    found = Coupon.get_by_id(coupon_id)
    if result.stored:
        toast = gettext("Coupon %(code)s emailed to %(to)s.", code=found.code,
                        to=result.stored[0].to)
    else:
        toast = gettext("Coupon %(code)s was emailed already; it is not sent twice.",
                        code=found.code)
    return done(toast, CHANGED)


# --- coupon programmes (settings) -------------------------------------------------------------

def _program_values(program=None) -> dict:
    if program is None:
        return {"discount_kind": "amount", "valid_days": "30", "min_order_total": "0",
                "active": True}
    data = aftersales.program_as_data(program)
    data["product_codes"] = ", ".join(data["product_codes"])
    return data


@bp.route("/helpdesk/coupon-programs")
@requires("read")
def program_list():
    rows = [(p, p.coupons.count()) for p in aftersales.programs()]
    return render("aftersales/programs.html", "programs", rows=rows,
                  describe=aftersales.describe)


@bp.route("/helpdesk/coupon-programs/new")
@requires("settings")
def new_program():
    return dialog("aftersales/_program.html", program=None, values=_program_values(),
                  errors={}, fields={f.name: f for f in aftersales.PROGRAM_FIELDS})


@bp.route("/helpdesk/coupon-programs/<int:program_id>")
@requires("settings")
def edit_program(program_id):
    program = aftersales.get_program(program_id)
    return dialog("aftersales/_program.html", program=program, values=_program_values(program),
                  errors={}, fields={f.name: f for f in aftersales.PROGRAM_FIELDS})


@bp.route("/helpdesk/coupon-programs/new", methods=["POST"])
@bp.route("/helpdesk/coupon-programs/<int:program_id>", methods=["POST"])
@requires("settings")
def save_program(program_id=None):
    program = aftersales.get_program(program_id) if program_id is not None else None
    raw = request.form.to_dict()
    raw.setdefault("active", "")
    try:
        saved = aftersales.save_program(_user(), raw, program_id)
    except EngineError as exc:
        if exc.status == 404:
            raise
        return dialog("aftersales/_program.html", program=program, values=raw,
                      errors=field_errors(exc), message=None if exc.field else translate(exc),
                      fields={f.name: f for f in aftersales.PROGRAM_FIELDS})
    return done(gettext("Coupon programme %(name)s saved.", name=saved.name), PROGRAMS_CHANGED)


@bp.route("/helpdesk/coupon-programs/<int:program_id>/delete", methods=["POST"])
@requires("settings")
def delete_program(program_id):
    program = aftersales.get_program(program_id)
    try:
        aftersales.delete_program(_user(), program_id)
    except EngineError as exc:
        if exc.status == 404:
            raise
        response = make_response("")
        response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": translate(exc)})
        response.headers["HX-Reswap"] = "none"
        return response
    response = make_response("")
    response.headers["HX-Trigger"] = json.dumps({
        "ruledesk:toast": gettext("Coupon programme %(name)s deleted.", name=program.name),
        PROGRAMS_CHANGED: True})
    response.headers["HX-Reswap"] = "none"
    return response
