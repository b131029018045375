"""Helpdesk settings (seed 004, 헬프데스크 ‣ 환경 설정): teams, stages, the leave calendar (휴가).

Thin views over ``engine.teams``, ``engine.stages`` and ``engine.leaves``: the forms post the
one schema of each (``validate_team``, ``validate_stage``, ``LEAVE_FIELDS``) and show the
engine's ``ValidationError.errors`` beside the fields, with nothing saved. Reading needs
"read"; changing teams and stages needs "settings"; booking leave needs "operate" and the
engine decides whose leave (one's own, or anybody's with "settings"), the page only hides
what it would refuse.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import (
    Blueprint, current_app, g, make_response, redirect, request, url_for,
)
from flask_babel import format_date, gettext
from flask_login import current_user

from engine import clock, leaves, stages, teams, users
from engine.errors import EngineError
from engine.models import MessageTemplate, Stage, StageTeam, Team, Ticket, User
from engine.schedules import public_holidays
from views.catalog import actor, dialog
from views.web import field_errors, render, requires, translate

bp = Blueprint("helpdesk_settings", __name__, url_prefix="/helpdesk/settings")

STAGES_CHANGED = "ruledesk:stagesChanged"
LEAVE_CHANGED = "ruledesk:leaveChanged"


def _can(capability: str) -> bool:
    return current_user.is_authenticated and users.can(current_user, capability)


def _today() -> dt.date:
    return clock.to_local(g.now, current_app.config["TZ"]).date()


def done(toast: str, *events: str):
    """Close the dialog, show ``toast``, fire ``events`` (the lists listening reload).

    The empty body is swapped into the dialog (not ``HX-Reswap: none``): app.js opens the
    dialog after any swap into a non-empty dialog body, and "none" leaves the form there.
    """
    response = make_response("")
    triggers = {"ruledesk:toast": toast, **{event: True for event in events},
                "ruledesk:closeDialog": True}
    response.headers["HX-Trigger"] = json.dumps(triggers)
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def _toast(response, text: str, *events: str):
    response.headers["HX-Trigger"] = json.dumps({"ruledesk:toast": text,
                                                 **{event: True for event in events}})
    return response


@bp.route("/")
@requires("read")
def index():
    return redirect(url_for("helpdesk_settings.team_list"))


# --- teams --------------------------------------------------------------------------------------

def _internal_users():
    return [u for u in User.select().where(User.active == True).order_by(User.display_name)  # noqa: E712
            if users.is_internal(u)]


def _portal_users():
    return list(User.select().where((User.active == True) & (User.role == "portal"))  # noqa: E712
                .order_by(User.display_name))


def _team_rows():
    rows = []
    for team in Team.select().order_by(Team.sort_order, Team.name):
        rows.append({"team": team, "stats": teams.team_stats(team),
                     "members": team.members.count(), "followers": team.followers.count(),
                     "tickets": Ticket.select().where(Ticket.team == team.id).count()})
    return rows


def _public_form():
    """The public ticket form's URL builder (/help/<team>, views/portal.py), when it exists."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule.startswith("/help/<") and "GET" in rule.methods and len(rule.arguments) == 1:
            argument = next(iter(rule.arguments))
            return lambda team_id: url_for(rule.endpoint, **{argument: team_id})
    return None


def _team_list(message: str | None = None, saved: str | None = None):
    return render("helpdesk_settings/teams.html", "teams", rows=_team_rows(), message=message,
                  saved=saved, visibilities=teams.VISIBILITIES,
                  methods=teams.ASSIGN_METHODS, public_form=_public_form())


@bp.route("/teams")
@requires("read")
def team_list():
    return _team_list(saved=request.args.get("saved"))


def _posted_team() -> dict:
    """The form as the team schema reads it: several values for the list fields."""
    raw = {key: request.form.get(key, "") for key in
           ("name", "description", "visibility", "assign_method", "order")}
    for key in ("auto_assign", "active"):
        raw[key] = request.form.get(key) == "1"
    for key in ("members", "followers", "after_sales"):
        raw[key] = request.form.getlist(key)
    return raw


def _team_form(team: Team | None, values: dict, errors: dict | None = None,
               message: str | None = None):
    today = _today()
    people = _internal_users()
    away = leaves.on_leave([u.id for u in people], today)
    return render("helpdesk_settings/team_form.html", "team_form", team=team, values=values,
                  errors=errors or {}, message=message, people=people, portal=_portal_users(),
                  away=away, can_work=lambda u: users.can(u, "operate"), visibilities=teams.VISIBILITIES, methods=teams.ASSIGN_METHODS,
                  after_sales=teams.AFTER_SALES,
                  was_public=bool(team and team.visibility == "public"),
                  tickets=Ticket.select().where(Ticket.team == team.id).count() if team else 0)


@bp.route("/teams/new")
@requires("settings")
def new_team():
    values = {"visibility": "company", "assign_method": "tickets", "active": True,
              "auto_assign": False, "members": [], "followers": [], "after_sales": [],
              "order": ""}
    return _team_form(None, values)


@bp.route("/teams/<int:team_id>")
@requires("settings")
def edit_team(team_id):
    team = teams.get(team_id)
    return _team_form(team, teams.team_as_data(team))


@bp.route("/teams/new", methods=["POST"])
@bp.route("/teams/<int:team_id>", methods=["POST"])
@requires("settings")
def save_team(team_id=None):
    team = teams.get(team_id) if team_id is not None else None
    raw = _posted_team()
    if team is not None and team.visibility == "public" and raw["visibility"] != "public":
        # the seed's warning, done: leaving public drops the portal followers (the engine
        # drops them from the tickets too), so the form does not refuse their ticks
        portal = {u.username for u in _portal_users()}
        raw["followers"] = [name for name in raw["followers"] if name not in portal]
    try:
        saved = teams.save_team(actor(), raw, team.id if team else None)
    except EngineError as exc:
        errors = field_errors(exc)
        return _team_form(team, raw, errors, None if errors else translate(exc))
    target = url_for("helpdesk_settings.team_list", saved=saved.name)
    if request.htmx:
        response = make_response("")
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


@bp.route("/teams/<int:team_id>/delete", methods=["POST"])
@requires("settings")
def delete_team(team_id):
    team = teams.get(team_id)
    name = team.name
    try:
        teams.delete_team(actor(), team.id)
    except EngineError as exc:
        if exc.status == 404:
            raise
        return _team_list(message=translate(exc))
    return _toast(make_response(_team_list()), gettext("Team %(name)s deleted.", name=name))


# --- stages -------------------------------------------------------------------------------------

def _stage_rows():
    links: dict[int, list[str]] = {}
    for link in (StageTeam.select(StageTeam, Team).join(Team)
                 .order_by(Team.sort_order, Team.name)):
        links.setdefault(link.stage_id, []).append(link.team.name)
    counts = {}
    for stage in Stage.select():
        counts[stage.id] = Ticket.select().where(Ticket.stage == stage.id).count()
    return [{"stage": s, "teams": links.get(s.id, []), "tickets": counts.get(s.id, 0)}
            for s in stages.ordered()]


def _stage_list(message: str | None = None):
    return render("helpdesk_settings/stages.html", "stages", rows=_stage_rows(),
                  message=message)


@bp.route("/stages")
@requires("read")
def stage_list():
    return _stage_list()


def _templates(kinds: tuple[str, ...], current: str = "") -> list[tuple[str, str]]:
    """Templates a stage may send: written for tickets or orders (not job results)."""
    rows = (MessageTemplate.select().where(MessageTemplate.kind.in_(kinds))
            .order_by(MessageTemplate.name))
    return [(t.name, t.kind) for t in rows
            if getattr(t, "context", "order") in ("ticket", "order") or t.name == current]


def _stage_dialog(stage: Stage | None, values: dict, errors: dict | None = None,
                  message: str | None = None):
    return dialog("helpdesk_settings/_stage.html", stage=stage, values=values,
                  errors=errors or {}, message=message,
                  all_teams=list(Team.select().order_by(Team.sort_order, Team.name)),
                  email_templates=_templates(("email",), values.get("email_template") or ""),
                  sms_templates=_templates(("sms", "alimtalk"), values.get("sms_template") or ""),
                  fields={f.name: f for f in stages.STAGE_FIELDS})


@bp.route("/stages/new")
@requires("settings")
def new_stage():
    return _stage_dialog(None, {"teams": [], "folded": False})


@bp.route("/stages/<int:stage_id>")
@requires("settings")
def edit_stage(stage_id):
    stage = stages.get(stage_id)
    return _stage_dialog(stage, stages.stage_as_data(stage))


@bp.route("/stages/new", methods=["POST"])
@bp.route("/stages/<int:stage_id>", methods=["POST"])
@requires("settings")
def save_stage(stage_id=None):
    stage = stages.get(stage_id) if stage_id is not None else None
    raw = {key: request.form.get(key, "") for key in
           ("name", "description", "email_template", "sms_template")}
    raw["folded"] = request.form.get("folded") == "1"
    raw["teams"] = request.form.getlist("teams")
    try:
        saved = stages.save_stage(actor(), raw, stage.id if stage else None)
    except EngineError as exc:
        errors = field_errors(exc)
        return _stage_dialog(stage, raw, errors, None if errors else translate(exc))
    return done(gettext("Stage %(name)s saved.", name=saved.name), STAGES_CHANGED)


@bp.route("/stages/<int:stage_id>/delete", methods=["POST"])
@requires("settings")
def delete_stage(stage_id):
    stage = stages.get(stage_id)
    name = stage.name
    try:
        stages.delete_stage(actor(), stage.id)
    except EngineError as exc:
        if exc.status == 404:
            raise
        return _stage_list(message=translate(exc))
    return _toast(make_response(_stage_list()), gettext("Stage %(name)s deleted.", name=name),
                  STAGES_CHANGED)


@bp.route("/stages/reorder", methods=["POST"])
@requires("settings")
def reorder_stages():
    """The drag-to-reorder endpoint (static/reorder.js posts ``ids`` in the new order); the
    stages list and the kanban's columns both post here. Answers with the list, re-read."""
    try:
        stages.reorder(actor(), request.form.getlist("ids"))
    except EngineError as exc:
        return _stage_list(message=translate(exc))
    return _toast(make_response(_stage_list()), gettext("The new order of the stages is saved."),
                  STAGES_CHANGED)


# --- the leave calendar (휴가) ---------------------------------------------------------------------

def _month_of(text: str | None, today: dt.date) -> dt.date:
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return dt.date(year, month, 1) if 2000 <= year <= 2100 else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def _next_month(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _holidays(days: list[dt.date]) -> dict[dt.date, str]:
    """Public holidays (of the country of the configured zone) and the shop's closure days."""
    from engine import jobs
    country = "JP" if str(current_app.config["TZ"]) == "Asia/Tokyo" else "KR"
    named = dict(public_holidays(country, days[0].year))
    named.update(jobs.calendar().closures)
    return {day: named[day] for day in days if day in named}


def _bars(leave_rows, days: list[dt.date]) -> list[dict]:
    """One row's cells for the month: an empty day, or a bar spanning the days of one leave."""
    cells, index = [], 0
    ordered = sorted(leave_rows, key=lambda l: (l.start, l.id))
    while index < len(days):
        day = days[index]
        leave = next((l for l in ordered if l.start <= day <= l.end), None)
        if leave is None:
            cells.append({"day": day, "span": 1, "leave": None})
            index += 1
            continue
        last = min(leave.end, days[-1])
        span = (last - day).days + 1
        cells.append({"day": day, "span": span, "leave": leave,
                      "cut_start": leave.start < day, "cut_end": leave.end > last})
        index += span
    return cells


def _may_book(user: User) -> bool:
    return _can("operate") and (user.id == current_user.id or _can("settings"))


def _calendar_context(first: dt.date, message: str | None = None) -> dict:
    nxt = _next_month(first)
    days = [first + dt.timedelta(days=n) for n in range((nxt - first).days)]
    month_leaves = leaves.month(first)
    by_user: dict[int, list] = {}
    for leave in month_leaves:
        by_user.setdefault(leave.user_id, []).append(leave)
    people = [u for u in _internal_users() if users.can(u, "operate")]
    # the current user first: an agent looks for their own row
    people.sort(key=lambda u: u.id != current_user.id)
    rows = [{"user": u, "cells": _bars(by_user.get(u.id, []), days), "may_book": _may_book(u)}
            for u in people]
    today = _today()
    return dict(first=first, days=days, rows=rows, leaves=month_leaves, today=today,
                holidays=_holidays(days), message=message, may_book=_can("operate"),
                books_anyone=_can("settings") and _can("operate"),
                away_today=[u for u in people if u.id in leaves.on_leave([p.id for p in people],
                                                                         today)],
                prev_month=(first - dt.timedelta(days=1)).replace(day=1), next_month=nxt,
                this_month=today.replace(day=1), weekday=lambda d: format_date(d, "EEEEE"),
                month_title=format_date(first, "yyyy. M." if _locale_ko() else "yyyy/M"),
                may_delete=lambda leave: _may_book(leave.user))


def _locale_ko() -> bool:
    return (getattr(current_user, "language", None) or "ko") == "ko"


def _calendar(first: dt.date, message: str | None = None):
    return render("helpdesk_settings/leave.html", "calendar", **_calendar_context(first, message))


@bp.route("/leave")
@requires("read")
def leave_calendar():
    return _calendar(_month_of(request.args.get("month"), _today()))


def _leave_dialog(values: dict, errors: dict | None = None, message: str | None = None):
    if _can("settings"):
        bookable = [u for u in _internal_users() if users.can(u, "operate")]
    else:
        bookable = [current_user._get_current_object()]
    return dialog("helpdesk_settings/_leave.html", values=values, errors=errors or {},
                  message=message, bookable=bookable,
                  fields={f.name: f for f in leaves.LEAVE_FIELDS})


@bp.route("/leave/new")
@requires("operate")
def new_leave():
    today = _today()
    start = request.args.get("start") or today.isoformat()
    user = request.args.get("user") or str(current_user.id)
    return _leave_dialog({"user": user, "start": start, "end": start, "note": "",
                          "month": request.args.get("month", "")})


@bp.route("/leave/new", methods=["POST"])
@requires("operate")
def add_leave():
    raw = {key: request.form.get(key, "") for key in ("user", "start", "end", "note")}
    try:
        leave = leaves.add_leave(actor(), raw)
    except EngineError as exc:
        errors = field_errors(exc)
        return _leave_dialog({**raw, "month": request.form.get("month", "")}, errors,
                             None if errors else translate(exc))
    return done(gettext("Leave of %(name)s booked: %(start)s – %(end)s.",
                        name=leave.user.display_name, start=leave.start.isoformat(),
                        end=leave.end.isoformat()), LEAVE_CHANGED)


@bp.route("/leave/<int:leave_id>/delete", methods=["POST"])
@requires("operate")
def delete_leave(leave_id):
    first = _month_of(request.form.get("month"), _today())
    try:
        leaves.delete_leave(actor(), leave_id)
    except EngineError as exc:
        if exc.status == 404:
            raise
        return _calendar(first, message=translate(exc))
    return _toast(make_response(_calendar(first)), gettext("The leave is deleted."))
