"""JSON API of the helpdesk (seed 004): /api/v1/teams, /api/v1/stages, /api/v1/tickets.

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

from engine import clock, stages, teams, tickets
from engine.errors import ConflictError, NotFound, ValidationError
from engine.models import Stage, Team, Ticket, TicketMessage, User, utcnow
from engine.order_core import Context
from engine.schema import Field, parse
from engine.text import N_
from views.api import PAGING_FIELDS, api_blueprint, api_requires
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


def _merge_errors(errors: list[ValidationError]) -> ValidationError:
    merged = {}
    for error in errors:
        merged.update(error.errors)
    first = next(iter(merged.values()))
    return ValidationError(first.message, first.field, errors=merged, **first.params)


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
    errors, query, paging = [], None, {}
    try:
        query, _ = tickets.search(g.api_user, raw,
                                  mine=request.args.get("mine") in ("1", "true"))
    except ValidationError as exc:
        errors.append(exc)
    try:
        paging = parse(PAGING_FIELDS, {f.name: request.args.get(f.name)
                                       for f in PAGING_FIELDS}, _tz())
    except ValidationError as exc:
        errors.append(exc)
    if errors:
        raise _merge_errors(errors)
    page, per_page = paging.get("page") or 1, paging.get("per_page") or 50
    total = query.count()
    pages = max(1, (total + per_page - 1) // per_page)
    rows = list(query.paginate(page, per_page))
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
