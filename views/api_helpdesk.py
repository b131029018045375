"""JSON API of the helpdesk (seed 004): /api/v1/teams, /api/v1/stages, /api/v1/tickets, and
the after-sales of a ticket (seed 003: refund, coupons, return, repairs, field tasks).

Teams and stages are read and written in their one declared schema (``teams.team_as_data`` /
``validate_team``, ``stages.stage_as_data`` / ``validate_stage``: members, followers, teams
and templates by name), the same as the settings forms and the TOML files. Tickets go through
the very operations the helpdesk screens use (``tickets.create_ticket``, ``move_stage``,
``assign``, ``merge``, ``add_message``), so the API cannot do what the screens refuse, and a
ticket the token's user may not see is "not found" here too. Reading needs "read", working
tickets "operate", changing teams and stages "settings"; every refusal is the API's
``{"error": …}`` body (``views.api``).
"""
from __future__ import annotations

from flask import current_app, g, request
from flask_babel import force_locale, gettext

from engine import aftersales, clock, paging, pickups, stages, teams, tickets
from engine.errors import ConflictError, EngineError, NotFound, ValidationError
from engine.models import (
    Coupon, CreditNote, FieldTask, RepairOrder, Stage, Team, Ticket, TicketMessage, User, utcnow,
)
from engine.order_core import Context
from engine.schema import Field, parse
from engine.teams import AFTER_SALES
from engine.text import N_
from views import aftersales as aftersales_views
from views.api import DEFAULT_LANGUAGE, api_blueprint, api_requires, list_request
from views.api import json_body as _body, json_response as _json

bp = api_blueprint("api_helpdesk", __name__, "/api/v1")

VERSION_FIELD = Field("version", N_("Version"), kind="int", min=1)
READ_ONLY = ("id", "version", "stats")


def _tz():
    return current_app.config["TZ"]


def _ctx() -> Context:
    return Context(g.api_user, utcnow(), _tz())


def _version(body: dict):
    """The optional ``version`` of a body (a stale one is 409), type-checked."""
    return parse([VERSION_FIELD], {"version": body.pop("version", None)}, _tz())["version"]


def _declared(body: dict) -> dict:
    for key in READ_ONLY:
        body.pop(key, None)
    return body


# --- teams --------------------------------------------------------------------------------------

def team_dict(team: Team) -> dict:
    return {"id": team.id, "version": team.version, **teams.team_as_data(team),
            "stats": teams.team_stats(team)}


def _visible_team(team_id: int) -> Team:
    team = teams.visible_teams(g.api_user).where(Team.id == team_id).first()
    if team is None:
        raise NotFound(N_("Team %(id)s does not exist."), id=team_id)
    return team


@bp.route("/teams", methods=["GET"])
@api_requires("read")
def list_teams():
    """The teams the token's user may see (by visibility), in their order."""
    found = list(teams.visible_teams(g.api_user))
    return _json({"teams": [team_dict(t) for t in found], "total": len(found)})


@bp.route("/teams", methods=["POST"])
@api_requires("settings")
def create_team():
    team = teams.save_team(g.api_user, _declared(_body()))
    return _json(team_dict(team), 201)


@bp.route("/teams/<int:team_id>", methods=["GET"])
@api_requires("read")
def get_team(team_id):
    return _json(team_dict(_visible_team(team_id)))


@bp.route("/teams/<int:team_id>", methods=["PUT"])
@api_requires("settings")
def update_team(team_id):
    """Replace the team with the body (the whole declared team); with ``version``, a stale
    version is 409 and nothing changes."""
    team = teams.get(team_id)
    body = _body()
    version = _version(body)
    if version is not None and version != team.version:
        raise ConflictError(N_("The team changed since version %(version)d (it is at version "
                               "%(current)d now); read it again."), "version",
                            version=version, current=team.version)
    return _json(team_dict(teams.save_team(g.api_user, _declared(body), team.id)))


# --- stages -------------------------------------------------------------------------------------

def stage_dict(stage: Stage) -> dict:
    return {"id": stage.id, "version": stage.version, **stages.stage_as_data(stage)}


@bp.route("/stages", methods=["GET"])
@api_requires("read")
def list_stages():
    """Every stage in pipeline order; ``team_id`` = only that team's stages."""
    team_id = request.args.get("team_id", "")
    if team_id:
        found = stages.for_team(_visible_team(int(team_id)) if team_id.isdigit()
                                else _visible_team(0))
    else:
        found = list(stages.ordered())
    return _json({"stages": [stage_dict(s) for s in found], "total": len(found)})


@bp.route("/stages", methods=["POST"])
@api_requires("settings")
def create_stage():
    return _json(stage_dict(stages.save_stage(g.api_user, _declared(_body()))), 201)


@bp.route("/stages/<int:stage_id>", methods=["GET"])
@api_requires("read")
def get_stage(stage_id):
    return _json(stage_dict(stages.get(stage_id)))


@bp.route("/stages/<int:stage_id>", methods=["PUT"])
@api_requires("settings")
def update_stage(stage_id):
    stage = stages.get(stage_id)
    body = _body()
    version = _version(body)
    if version is not None and version != stage.version:
        raise ConflictError(N_("The stage changed since version %(version)d (it is at version "
                               "%(current)d now); read it again."), "version",
                            version=version, current=stage.version)
    return _json(stage_dict(stages.save_stage(g.api_user, _declared(body), stage.id)))


# --- tickets ------------------------------------------------------------------------------------

def _person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def ticket_dict(ticket: Ticket, full: bool = False) -> dict:
    tz = _tz()
    data = {
        "id": ticket.id, "version": ticket.version,
        "team": {"id": ticket.team_id, "name": ticket.team.name},
        "stage": ({"id": ticket.stage_id, "name": ticket.stage.name,
                   "folded": ticket.stage.folded} if ticket.stage_id else None),
        "subject": ticket.subject, "customer_name": ticket.customer_name,
        "customer_phone": ticket.customer_phone, "customer_email": ticket.customer_email,
        "order_id": ticket.order_id,
        "assignee": _person(ticket.assignee if ticket.assignee_id else None),
        "needs_assignment": ticket.needs_assignment, "closed": ticket.closed,
        "closed_at": clock.iso(ticket.closed_at, tz), "merged_into": ticket.merged_into_id,
        "source": ticket.source, "created_at": clock.iso(ticket.created_at, tz),
        "updated_at": clock.iso(ticket.updated_at, tz),
    }
    if full:
        data["description"] = ticket.description
        data["followers"] = [_person(u) for u in tickets.followers(ticket)]
        data["messages"] = [message_dict(m) for m in tickets.history(ticket)]
    return data


def message_dict(message: TicketMessage) -> dict:
    return {"id": message.id, "kind": message.kind, "author": message.author_name,
            "author_id": message.author_id, "body": message.body,
            "created_at": clock.iso(message.created_at, _tz())}


def _ticket_json(ticket_id: int, status: int = 200):
    return _json(ticket_dict(tickets.get(ticket_id, g.api_user), full=True), status)


LIST_ARGS = [f.name for f in tickets.LIST_FIELDS]


@bp.route("/tickets", methods=["GET"])
@api_requires("read")
def list_tickets():
    """The tickets the token's user may see, newest first, with the lists' filters: ``team``
    (id), ``state`` (open — the default —, closed, all), ``assignee`` (a user id, ``none``,
    ``flagged``), ``q`` (words, or #number); ``mine=1`` = assigned to or followed by the
    user; ``page``, ``per_page``."""
    raw = {name: request.args.get(name) for name in LIST_ARGS}
    query, page, per_page = list_request(lambda: tickets.search(
        g.api_user, raw, mine=request.args.get("mine") in ("1", "true"))[0])
    rows, total, page, pages = paging.paginate(query, page, per_page, clamp=False)
    return _json({"tickets": [ticket_dict(t) for t in rows], "total": total, "page": page,
                  "pages": pages, "per_page": per_page})


@bp.route("/tickets", methods=["POST"])
@api_requires("operate")
def create_ticket():
    """Open a ticket: ``team_id``, ``subject``, ``customer_name``, ``customer_phone``; optional
    ``order_id``, ``description``, ``customer_email``. The team's first open stage, its
    followers and its automatic assignment apply as in the app."""
    body = _body()
    raw = {f.name: body.get(f.name) for f in tickets.TICKET_FIELDS}
    ticket = tickets.create_ticket(_ctx(), raw, source="api")
    return _ticket_json(ticket.id, 201)


@bp.route("/tickets/<int:ticket_id>", methods=["GET"])
@api_requires("read")
def get_ticket(ticket_id):
    """One ticket with its followers and its conversation and history (``messages``: kind
    reply, note or log)."""
    return _ticket_json(ticket_id)


@bp.route("/tickets/<int:ticket_id>/stage", methods=["POST"])
@api_requires("operate")
def move_stage(ticket_id):
    """``{"stage_id": 3}``: move to a stage of the ticket's team (a folded one closes it; the
    stage's email and SMS templates go to the customer)."""
    body = _body()
    version = _version(body)
    stage_id = body.get("stage_id")
    if stage_id in (None, "") or isinstance(stage_id, bool):
        raise ValidationError(N_("%(label)s is required."), "stage_id", label=N_("Stage"))
    tickets.move_stage(_ctx(), ticket_id, stage_id, version)
    return _ticket_json(ticket_id)


@bp.route("/tickets/<int:ticket_id>/assign", methods=["POST"])
@api_requires("operate")
def assign(ticket_id):
    """``{"user_id": 5}`` a person, ``{"user_id": null}`` nobody, ``{"user_id": "auto"}`` the
    team's automatic assignment."""
    body = _body()
    version = _version(body)
    if "user_id" not in body:
        raise ValidationError(N_("Give user_id: a user's id, null for nobody or \"auto\"."),
                              "user_id")
    user_id = body["user_id"]
    if isinstance(user_id, bool) or not (user_id is None or isinstance(user_id, int)
                                         or user_id == "auto"
                                         or isinstance(user_id, str) and user_id.isdigit()):
        raise ValidationError(N_("Give user_id: a user's id, null for nobody or \"auto\"."),
                              "user_id")
    tickets.assign(_ctx(), ticket_id, user_id, version)
    return _ticket_json(ticket_id)


@bp.route("/tickets/<int:ticket_id>/merge", methods=["POST"])
@api_requires("operate")
def merge(ticket_id):
    """``{"ticket_ids": [12, 13]}``: merge those duplicates into this ticket (their messages,
    followers and links move here; they close, pointing at it)."""
    ids = _body().get("ticket_ids")
    if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31
            or isinstance(i, str) and i.isascii() and i.isdigit() and 0 < int(i) < 2**31
            for i in ids):
        raise ValidationError(N_("ticket_ids must be a list of ticket ids."), "ticket_ids")
    tickets.merge(_ctx(), ticket_id, ids)
    return _ticket_json(ticket_id)


@bp.route("/tickets/<int:ticket_id>/messages", methods=["POST"])
@api_requires("operate")
def add_message(ticket_id):
    """``{"body": "…", "kind": "reply" | "note"}``: a reply goes to the customer (email, or
    back to the marketplace for a collected inquiry); a note stays internal."""
    body = _body()
    message = tickets.add_message(_ctx(), ticket_id, {"body": body.get("body"),
                                                      "kind": body.get("kind") or "reply"})
    return _json(message_dict(message), 201)


# --- after-sales (seed 003) ---------------------------------------------------------------------
# The dialogs' operations over JSON: the same engine functions (engine.aftersales), the same
# schemas, the same refusals (409 for the state of the ticket or order, 422 for a field). The
# ticket is looked up for the token's user first, so a ticket they may not see is 404 whatever
# the body says.

def _said(exc_or_text, **params) -> str:
    """A message id (or an EngineError) in the token user's language."""
    with force_locale(g.api_user.language or DEFAULT_LANGUAGE):
        if isinstance(exc_or_text, EngineError):
            return exc_or_text.render(gettext)
        return gettext(exc_or_text, **params)


def credit_note_dict(note: CreditNote) -> dict:
    return {"id": note.id, "ticket_id": note.ticket_id, "order_id": note.order_id,
            "method": note.method, "amount": note.amount, "reason": note.reason,
            "created_at": clock.iso(note.created_at, _tz()),
            "created_by": _person(note.created_by if note.created_by_id else None)}


def coupon_dict(coupon: Coupon) -> dict:
    program = coupon.program
    worth, params = aftersales.describe(program)
    tz = _tz()
    return {"id": coupon.id, "ticket_id": coupon.ticket_id, "code": coupon.code,
            "program": {"id": program.id, "name": program.name,
                        "discount_kind": program.discount_kind, "discount": program.discount,
                        "worth": _said(worth, **params)},
            "expires_on": coupon.expires_on.isoformat(),
            "sent_at": clock.iso(coupon.sent_at, tz), "used_at": clock.iso(coupon.used_at, tz),
            "created_at": clock.iso(coupon.created_at, tz)}


def _next(record) -> list[str]:
    """The statuses the record may move to now (one step forward or back)."""
    return [to for to, _ in aftersales.steps(record)]


def repair_dict(repair: RepairOrder) -> dict:
    return {"id": repair.id, "ticket_id": repair.ticket_id, "order_id": repair.order_id,
            "line_id": repair.order_line_id, "product_name": repair.product_name,
            "description": repair.description, "invoice_method": repair.invoice_method,
            "pickup_id": repair.pickup_id, "status": repair.status, "next": _next(repair),
            "created_at": clock.iso(repair.created_at, _tz()),
            "created_by": _person(repair.created_by if repair.created_by_id else None)}


def task_dict(task: FieldTask) -> dict:
    return {"id": task.id, "ticket_id": task.ticket_id, "title": task.title,
            "planned_on": task.planned_on.isoformat() if task.planned_on else None,
            "assignee": _person(task.assignee if task.assignee_id else None),
            "note": task.note, "status": task.status, "next": _next(task),
            "created_at": clock.iso(task.created_at, _tz()),
            "created_by": _person(task.created_by if task.created_by_id else None)}


RECORD_DICTS = {"refund": credit_note_dict, "coupon": coupon_dict,
                "return": lambda p: pickups.as_dict(p, _tz()), "repair": repair_dict,
                "field_service": task_dict}


@bp.route("/tickets/<int:ticket_id>/aftersales", methods=["GET"])
@api_requires("read")
def get_aftersales(ticket_id):
    """Every after-sales option with ``enabled`` or the ``reason`` it is refused now (the
    dialogs' disabled buttons), the order's refund summary, and the records on the ticket
    (the smart links): credit notes, coupons, returns (pickups), repairs, field tasks."""
    ticket = tickets.get(ticket_id, g.api_user)
    options = []
    for option, label in AFTER_SALES.items():
        refused = aftersales.refusal(ticket, option)
        options.append({"option": option, "label": _said(label), "enabled": refused is None,
                        "reason": _said(refused) if refused else None})
    return _json({
        "ticket_id": ticket.id, "options": options,
        "refund": aftersales.refund_summary(ticket.order) if ticket.order_id else None,
        "records": {kind: [RECORD_DICTS[kind](r) for r in aftersales.records(ticket, kind)]
                    for kind in AFTER_SALES},
    })


def _dialog_raw(ticket_id: int, option: str) -> tuple[Ticket, dict]:
    """The visible ticket and the body, a field left out taking the dialog's starting value
    (the order's courier for a return, the ticket's subject for a field task…)."""
    ticket = tickets.get(ticket_id, g.api_user)
    body = _body()
    return ticket, {**aftersales_views.defaults(ticket, option), **body}


@bp.route("/tickets/<int:ticket_id>/refund", methods=["POST"])
@api_requires("operate")
def refund(ticket_id):
    """``{"method": "partial" | "full", "amount": 12000, "reason": "…"}``: a credit note; a
    partial one up to what is left, a full one of what is left. The method is never assumed."""
    tickets.get(ticket_id, g.api_user)
    body = _body()
    note = aftersales.refund(_ctx(), ticket_id, {f.name: body.get(f.name)
                                                 for f in aftersales.REFUND_FIELDS})
    return _json(credit_note_dict(note), 201)


@bp.route("/tickets/<int:ticket_id>/coupons", methods=["POST"])
@api_requires("operate")
def generate_coupon(ticket_id):
    """``{"program_id": 3}``: a coupon of an active programme whose conditions the order
    meets, with its code and expiry."""
    _, raw = _dialog_raw(ticket_id, "coupon")
    return _json(coupon_dict(aftersales.generate_coupon(_ctx(), ticket_id, raw)), 201)


@bp.route("/coupons/<int:coupon_id>/send", methods=["POST"])
@api_requires("operate")
def send_coupon(coupon_id):
    """Email the coupon to the ticket's customer, once per address: ``subject`` and ``body``
    default to the dialog's text in the token user's language (the body must contain the
    code). ``sent`` is false when it went to that address already."""
    coupon = aftersales.get_coupon(coupon_id, g.api_user)
    body = _body()
    with force_locale(g.api_user.language or DEFAULT_LANGUAGE):
        mail = aftersales_views.coupon_mail(coupon)
    raw = {name: body.get(name) if body.get(name) not in (None, "") else mail[name]
           for name in ("subject", "body")}
    result = aftersales.send_coupon(_ctx(), coupon.id, raw)
    ticket = Ticket.get_by_id(coupon.ticket_id)
    return _json({"coupon": coupon_dict(Coupon.get_by_id(coupon.id)),
                  "to": ticket.customer_email, "sent": bool(result.stored),
                  "message_ids": [m.id for m in result.stored]})


@bp.route("/tickets/<int:ticket_id>/return", methods=["POST"])
@api_requires("operate")
def start_return(ticket_id):
    """The return dialog's pickup fields (``courier`` — the order's by default —, ``reason``,
    ``return_tracking_no``, ``register_inbound``, ``expected_*`` amounts): a 회수 pickup of
    the shipped order through the console's own operation, linked to the ticket."""
    _, raw = _dialog_raw(ticket_id, "return")
    pickup = aftersales.start_return(_ctx(), ticket_id, raw)
    return _json(pickups.as_dict(pickup, _tz()), 201)


@bp.route("/tickets/<int:ticket_id>/repairs", methods=["POST"])
@api_requires("operate")
def create_repair(ticket_id):
    """``{"line_id", "description", "invoice_method" (before | after | none, default none),
    "pickup_id"?}``: a repair order for a line of the ticket's order."""
    _, raw = _dialog_raw(ticket_id, "repair")
    return _json(repair_dict(aftersales.create_repair(_ctx(), ticket_id, raw)), 201)


@bp.route("/tickets/<int:ticket_id>/field-tasks", methods=["POST"])
@api_requires("operate")
def create_field_task(ticket_id):
    """``{"title" (the ticket's subject by default), "planned_on": "2026-04-03",
    "assignee": <user id>, "note"}``: a planned field-service task."""
    _, raw = _dialog_raw(ticket_id, "field_service")
    return _json(task_dict(aftersales.create_field_task(_ctx(), ticket_id, raw)), 201)


@bp.route("/repairs/<int:repair_id>/status", methods=["POST"])
@api_requires("operate")
def repair_status(repair_id):
    """``{"status": "confirmed"}``: draft → confirmed → done, or back one step."""
    return _json(repair_dict(aftersales.set_repair_status(_ctx(), repair_id,
                                                          _body().get("status"))))


@bp.route("/field-tasks/<int:task_id>/status", methods=["POST"])
@api_requires("operate")
def task_status(task_id):
    """``{"status": "done"}``: planned → done, or back to planned."""
    return _json(task_dict(aftersales.set_task_status(_ctx(), task_id,
                                                      _body().get("status"))))
