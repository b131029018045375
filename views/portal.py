"""What customers see (seed 004): the portal of a portal user, and the public ticket form of
each public team.

- ``/portal``: a portal user (role "portal") lands here after logging in and sees only the
  tickets they follow (``engine.tickets.visible``); a ticket shows the conversation's replies
  only (never internal notes nor the log) and takes a reply. Portal users hold no internal
  capability, so every internal route answers them 403; the "portal" capability opens only
  these pages (internal users are sent to their own console).
- ``/help``: the public teams, and ``/help/<team_id>`` the team's form (name and public
  description, the fields of ``tickets.PUBLIC_FIELDS``, CSRF-protected like every form); no
  login needed. A logged-in portal user who submits follows the new ticket. A team that is
  not public (or not active) is a 404.

Plain forms and redirects (post/redirect/get), no htmx needed: customers' browsers vary.
"""
from __future__ import annotations

from flask import (
    Blueprint, current_app, g, redirect, render_template, request, session, url_for,
)
from flask_login import current_user

from engine import tickets
from engine.errors import EngineError
from engine.models import FieldTask, Team, Ticket, TicketMessage
from engine.users import is_internal
from views.web import PUBLIC, ctx, field_errors, requires, translate

bp = Blueprint("portal", __name__, url_prefix="/portal")
help_bp = Blueprint("help", __name__, url_prefix="/help")

SENT = "help_sent"   # session: the ticket number the success page shows


def _user():
    return current_user._get_current_object()


def _customer():
    """The logged-in portal user, or None (anonymous, or an internal user)."""
    if current_user.is_authenticated and not is_internal(current_user):
        return _user()
    return None


# --- the portal --------------------------------------------------------------------------------

@bp.route("/")
@requires("portal")
def index():
    if is_internal(current_user):
        return redirect(url_for("auth.home"))
    rows = list(tickets.visible(_user()).order_by(Ticket.closed, Ticket.updated_at.desc(),
                                                  Ticket.id.desc()).limit(500))
    news = {t.id: t.update_count for t in tickets.updates(_user())}   # new replies for them
    return render_template("portal/index.html", rows=rows, news=news)


def _replies(ticket: Ticket) -> list[TicketMessage]:
    """The conversation as the customer sees it: replies and their own requests (merged in
    from duplicates), no internal note, no log."""
    return list(TicketMessage.select().where((TicketMessage.ticket == ticket.id)
                                             & TicketMessage.kind.in_(["reply", "request"]))
                .order_by(TicketMessage.created_at, TicketMessage.id))


def _ticket_page(ticket: Ticket, values=None, errors=None, message=None, status=200):
    merged_into = None
    if ticket.merged_into_id and tickets.can_see(_user(), ticket.merged_into):
        merged_into = ticket.merged_into_id
    # field-service visits planned for them (seed 003: customers follow them like the ticket)
    visits = list(FieldTask.select().where(FieldTask.ticket == ticket.id)
                  .order_by(FieldTask.planned_on, FieldTask.id))
    return render_template("portal/ticket.html", ticket=ticket, replies=_replies(ticket),
                           visits=visits,
                           values=values or {}, errors=errors or {}, message=message,
                           merged_into=merged_into, fields=tickets.MESSAGE_FIELDS), status


@bp.route("/tickets/<int:ticket_id>")
@requires("portal")
def ticket(ticket_id):
    if is_internal(current_user):
        return redirect(url_for("auth.home"))
    found = tickets.get(ticket_id, _user())
    tickets.mark_seen(_user(), found)
    return _ticket_page(found)


@bp.route("/tickets/<int:ticket_id>/reply", methods=["POST"])
@requires("portal")
def reply(ticket_id):
    if is_internal(current_user):
        return redirect(url_for("auth.home"))
    found = tickets.get(ticket_id, _user())
    raw = {"body": request.form.get("body", ""), "kind": "reply"}
    try:
        tickets.add_message(ctx(), found.id, raw)
    except EngineError as exc:
        if exc.status == 404:
            raise
        return _ticket_page(found, values=raw, errors=field_errors(exc),
                            message=None if exc.field else translate(exc), status=422)
    return redirect(url_for("portal.ticket", ticket_id=found.id, sent=1) + "#last")


# --- the public ticket form ------------------------------------------------------------------

def _public_teams():
    return (Team.select().where((Team.visibility == "public") & (Team.active == True))  # noqa: E712
            .order_by(Team.sort_order, Team.name))


def _public_team(team_id) -> Team:
    team = _public_teams().where(Team.id == team_id).first()
    if team is None:
        from werkzeug.exceptions import NotFound
        raise NotFound()
    return team


@help_bp.route("/")
@requires(PUBLIC)
def teams():
    return render_template("portal/help.html", teams=list(_public_teams()))


def _form(team: Team, values: dict, errors: dict, message=None, status=200):
    return render_template("portal/form.html", team=team, fields=tickets.PUBLIC_FIELDS,
                           values=values, errors=errors, message=message), status


@help_bp.route("/<int:team_id>", methods=["GET"])
@requires(PUBLIC)
def form(team_id):
    team = _public_team(team_id)
    values = {}
    customer = _customer()
    if customer is not None:
        values["customer_name"] = customer.display_name
        if "@" in customer.username:
            values["customer_email"] = customer.username
    return _form(team, values, {})


@help_bp.route("/<int:team_id>", methods=["POST"])
@requires(PUBLIC)
def submit(team_id):
    team = _public_team(team_id)
    if request.form.get("website"):   # the hidden trap field: a bot, not a customer
        session[SENT] = None
        return redirect(url_for("help.sent", team_id=team.id))
    raw = {f.name: request.form.get(f.name, "") for f in tickets.PUBLIC_FIELDS}
    try:
        created = tickets.submit_public(team.id, raw, g.now, current_app.config["TZ"],
                                        portal_user=_customer())
    except EngineError as exc:
        if exc.status == 404:
            raise
        return _form(team, raw, field_errors(exc), None if exc.field else translate(exc), 422)
    session[SENT] = created.id
    return redirect(url_for("help.sent", team_id=team.id))


@help_bp.route("/<int:team_id>/sent")
@requires(PUBLIC)
def sent(team_id):
    team = _public_team(team_id)
    number = session.get(SENT)
    if not number:
        return redirect(url_for("help.form", team_id=team.id))
    following = _customer() is not None
    return render_template("portal/sent.html", team=team, number=number, following=following)
