"""The helpdesk as CS agents work it (seed 004): team dashboard, kanban per team, "my tickets"
and "all tickets" lists with merge, the ticket page, the new-ticket dialog, and the tickets of
an order shown in the order console's panel.

Thin views over ``engine.tickets``: every change goes through the engine function the API and
the rules use too (``move_stage``, ``assign``, ``add_message``, ``follow``, ``merge``…), and
what a user may see is the engine's ``visible`` / ``get(id, user)``: a ticket the user may not
see is a 404, never a 403, so its existence does not leak. Reading needs "read", changing
needs "operate".
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, make_response, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from engine import aftersales, stages as stage_rules, teams, tickets, users
from engine.paging import paginate
from engine.errors import EngineError, NotFound, ValidationError
from engine.models import Order, Team, Ticket, User
from engine.text import N_
from engine.users import is_internal, rank
from views.web import ctx, field_errors, render, requires, translate

bp = Blueprint("helpdesk", __name__, url_prefix="/helpdesk")

FOLDED_CARDS = 30    # a folded (closed) column shows the newest few; the list shows them all
STATE_LABELS = {"open": N_("Open"), "closed": N_("Closed"), "all": N_("All")}
KIND_LABELS = {"reply": N_("Reply to the customer"), "note": N_("Internal note")}
VISIBILITY_SHORT = {"private": N_("Private"), "company": N_("Company"), "public": N_("Public")}


@bp.context_processor
def _globals():
    """Links to the helpdesk settings appear once that blueprint is there."""
    return {"endpoints": current_app.view_functions, "visibility_short": VISIBILITY_SHORT}


def _user() -> User:
    return current_user._get_current_object()


def _trigger(response, **events):
    """HX-Trigger as ASCII JSON; closeDialog last (it empties the dialog the form is in)."""
    ordered = {k: v for k, v in events.items() if k != "ruledesk:closeDialog"}
    if "ruledesk:closeDialog" in events:
        ordered["ruledesk:closeDialog"] = events["ruledesk:closeDialog"]
    response.headers["HX-Trigger"] = json.dumps(ordered)
    return response


def _visible_team(team_id) -> Team:
    """The team, when the user may open it (else 404, like a ticket)."""
    found = teams.visible_teams(_user()).where(Team.id == team_id).first()
    if found is None:
        raise NotFound(N_("Team %(id)s does not exist."), id=team_id)
    return found


# --- words: initials and the history as sentences ---------------------------------------------

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def initials(name: str) -> str:
    """"장유리" → "유리" (how Korean teams call each other), "Kim Lee" → "KL", "sato" → "SA"."""
    name = (name or "").strip()
    if not name:
        return "?"
    words = name.split()
    if len(words) > 1:
        return (words[0][0] + words[1][0]).upper()
    if HANGUL.match(name[-1]) and len(name) >= 3:
        return name[-2:]
    return name[:2].upper()


LOG_SENTENCES = {
    # code → (message id, how the detail fills it)
    "created": N_("Opened the ticket (%(source)s)."),
    "assigned": N_("Assigned the ticket to %(name)s."),
    "assigned_auto": N_("The ticket was assigned automatically to %(name)s."),
    "unassigned": N_("Removed the assignee."),
    "nobody": N_("Nobody in the team is available: the ticket waits for an assignee."),
    "stage": N_("Moved the ticket from %(old)s to %(new)s."),
    "stage_first": N_("The ticket entered %(new)s."),
    "message_sent": N_("Sent %(template)s to %(to)s."),
    "message_failed": N_("Could not send %(template)s: %(problem)s"),
    "follower_added": N_("%(name)s follows the ticket now."),
    "follower_removed": N_("%(name)s no longer follows the ticket."),
    "merged_into": N_("Merged into ticket #%(id)s."),
    "merged": N_("Merged tickets %(ids)s into this one."),
    "rule": N_("Opened by the rule %(name)s."),
    "rule_failed": N_("The rule %(name)s failed: %(problem)s"),
    # after-sales from the ticket (engine.aftersales), detail as written there
    "refund": N_("Refunded %(detail)s (credit note)."),
    "coupon": N_("Issued the coupon %(detail)s."),
    "coupon_sent": N_("Sent the coupon %(detail)s."),
    "return": N_("Started the return (pickup) %(detail)s."),
    "repair": N_("Opened the repair order %(detail)s."),
    "field_service": N_("Planned the field-service task %(detail)s."),
    "repair_status": N_("Repair order %(id)s: %(old)s → %(new)s."),
    "task_status": N_("Field-service task %(id)s: %(old)s → %(new)s."),
}


def sentence(body: str) -> str:
    """A log line ("code:detail", see engine.tickets) as a translated sentence; a line of a
    kind this screen does not know (after-sales, later additions) is shown as written."""
    code, _, detail = (body or "").partition(":")
    say = lambda key, **params: gettext(LOG_SENTENCES[key], **params)  # noqa: E731
    if code == "created":
        return say("created", source=gettext(tickets.SOURCES.get(detail, detail)))
    if code == "assigned":
        if detail.endswith(" (auto)"):
            return say("assigned_auto", name=detail[:-len(" (auto)")])
        return say("assigned", name=detail)
    if code == "unassigned":
        return say("nobody") if detail == "nobody available" else say("unassigned")
    if code == "stage":
        old, _, new = detail.partition(" → ")
        return say("stage", old=old, new=new) if old else say("stage_first", new=new)
    if code == "message":
        if " → " in detail:
            template, _, to = detail.partition(" → ")
            return say("message_sent", template=template, to=to)
        template, _, problem = detail.partition(": ")
        return say("message_failed", template=template, problem=problem)
    if code == "follower" and detail[:1] in "+-" and detail:
        return say("follower_added" if detail[0] == "+" else "follower_removed",
                   name=detail[1:])
    if code == "merged_into":
        return say("merged_into", id=detail)
    if code == "merged":
        return say("merged", ids=detail)
    if code == "rule":
        return say("rule", name=detail.rsplit(" [", 1)[0])
    if code == "rule_failed":
        name, _, problem = detail.partition(": ")
        return say("rule_failed", name=name, problem=problem)
    if code == "aftersales":
        what, _, rest = detail.partition(" ")
        if what in ("refund", "coupon", "coupon_sent", "return", "repair", "field_service"):
            return say(what, detail=rest)
        if what in ("repair_status", "task_status"):   # "#3 draft → confirmed"
            number, _, change = rest.partition(" ")
            old, _, new = change.partition(" → ")
            labels = (aftersales.REPAIR_STATUSES if what == "repair_status"
                      else aftersales.TASK_STATUSES)
            return say(what, id=number, old=gettext(labels.get(old, old)),
                       new=gettext(labels.get(new, new)))
    return body


@bp.app_template_filter("ticket_initials")
def _initials_filter(name):
    return initials(name)


# --- dashboard -------------------------------------------------------------------------------

def _counts(user: User, team: Team) -> dict:
    """The team card's counts, over the tickets this user sees (a private team's follower
    sees only their tickets, so the card never counts the others)."""
    return {**teams.team_stats(team, tickets.visible(user)),
            "stages": len(stage_rules.for_team(team))}


@bp.route("/")
@requires("read")
def index():
    user = _user()
    cards = [(team, _counts(user, team)) for team in teams.visible_teams(user)
             .where(Team.active == True)]  # noqa: E712
    mine, _ = tickets.search(user, {"state": "open"}, mine=True)
    return render("helpdesk/index.html", cards=cards, mine_open=mine.count(),
                  visibilities=teams.VISIBILITIES)


# --- kanban ----------------------------------------------------------------------------------

@bp.route("/teams/<int:team_id>")
@requires("read")
def kanban(team_id):
    team = _visible_team(team_id)
    return render("helpdesk/kanban.html", "board", team=team, columns=tickets.kanban(_user(), team),
                  folded_cards=FOLDED_CARDS, reorder_url=_reorder_url(),
                  all_stages=",".join(str(s.id) for s in stage_rules.ordered()))


def _reorder_url() -> str | None:
    """Where the column order is saved: the stages settings' reorder endpoint ("settings")."""
    if not users.can(_user(), "settings"):
        return None
    endpoint = "helpdesk_settings.reorder_stages"
    return url_for(endpoint) if endpoint in current_app.view_functions else None


@bp.route("/tickets/<int:ticket_id>/move", methods=["POST"])
@requires("operate")
def move(ticket_id):
    """A card dropped on another column: the engine moves it (version checked); the answer
    re-renders both columns out of band. A refusal is a 409/422 the board turns into a toast
    and a card that snaps back."""
    before = tickets.get(ticket_id, _user())
    old_stage = before.stage_id
    try:
        ticket = tickets.move_stage(ctx(), ticket_id, request.form.get("stage_id", ""),
                                    request.form.get("version", ""))
    except EngineError as exc:
        if exc.status == 404:
            raise
        response = make_response("", exc.status)
        return _trigger(response, **{"helpdesk:refused": translate(exc)})
    columns = [c for c in tickets.kanban(_user(), ticket.team) if c[0].id in (old_stage, ticket.stage_id)]
    body = "".join(_column_html(ticket.team, stage, cards, oob=True)
                   for stage, cards in columns)
    return make_response(body)


def _column_html(team, stage, cards, oob=False) -> str:
    return render_template("helpdesk/_column.html", team=team, stage=stage, cards=cards,
                           oob=oob, folded_cards=FOLDED_CARDS, reorder_url=_reorder_url())


# --- lists -----------------------------------------------------------------------------------

def _list_context(mine: bool) -> dict:
    user = _user()
    raw = {f.name: request.args.get(f.name, "") for f in tickets.LIST_FIELDS}
    errors = {}
    try:
        query, filters = tickets.search(user, raw, mine=mine)
    except EngineError as exc:
        errors = field_errors(exc)
        query = tickets.visible(user).where(Ticket.id == 0)
    page = request.args.get("page", "1")
    rows, total, page, pages = paginate(query, int(page) if page.isdigit() else 1,
                                        current_app.config["PAGE_SIZE"])
    return dict(rows=rows, total=total, page=page, pages=pages, raw=raw, errors=errors,
                mine=mine, query={k: v for k, v in raw.items() if v},
                endpoint="helpdesk.my_tickets" if mine else "helpdesk.all_tickets",
                team_choices=list(teams.visible_teams(user)), agents=_agents(),
                state_labels=STATE_LABELS)


def _agents() -> list[User]:
    """People who can be given tickets (agents and up), for filters and the assignee menu."""
    return [u for u in User.select().where(User.active == True)  # noqa: E712
            .order_by(User.display_name) if rank(u.role) >= rank("agent")]


@bp.route("/tickets")
@requires("read")
def all_tickets():
    return render("helpdesk/list.html", "results", **_list_context(mine=False))


@bp.route("/tickets/mine")
@requires("read")
def my_tickets():
    return render("helpdesk/list.html", "results", **_list_context(mine=True))


@bp.route("/tickets/merge", methods=["GET"])
@requires("operate")
def merge_dialog():
    ids = [i for i in request.args.getlist("ids") if i.isdigit()]
    chosen, message = [], None
    try:
        chosen = sorted((tickets.get(i, _user()) for i in set(ids)), key=lambda t: t.id)
    except NotFound as exc:
        message = translate(exc)
    if not message and len(chosen) < 2:
        message = gettext("Select at least two tickets to merge.")
    # the oldest is kept unless the agent chooses another: usually the original inquiry
    return render("helpdesk/_merge.html", chosen=chosen, keep=chosen[0].id if chosen else None,
                  message=message)


@bp.route("/tickets/merge", methods=["POST"])
@requires("operate")
def merge():
    ids = [i for i in request.form.getlist("ids") if i.isdigit()]
    keep = request.form.get("keep", "")
    try:
        kept = tickets.merge(ctx(), keep, [i for i in ids if i != keep])
    except EngineError as exc:
        chosen = []
        for i in dict.fromkeys(ids):
            try:
                chosen.append(tickets.get(i, _user()))
            except NotFound:
                pass
        return render("helpdesk/_merge.html", chosen=chosen, keep=keep, message=translate(exc))
    others = [i for i in ids if i != str(kept.id)]
    return _trigger(make_response(""), **{
        "helpdesk:ticketsChanged": True,
        "ruledesk:toast": gettext("Merged %(ids)s into ticket #%(id)s.",
                                  ids=", ".join("#" + i for i in others), id=kept.id),
        "ruledesk:closeDialog": True})


# --- the ticket page -------------------------------------------------------------------------

def _ticket_context(ticket: Ticket, **extra) -> dict:
    log, conversation = [], []
    for m in tickets.history(ticket):
        (log if m.kind == "log" else conversation).append(m)
    followers = tickets.followers(ticket)
    following = {u.id for u in followers}
    addable = [u for u in User.select().where(User.active == True)  # noqa: E712
               .order_by(User.display_name)
               if u.id not in following
               and (is_internal(u) or ticket.team.visibility == "public")]
    assignable = [u for u in _agents()
                  if teams.sees_all_tickets(u, ticket.team) or u.id in following
                  or u.id == ticket.assignee_id]
    merged = list(Ticket.select(Ticket.id, Ticket.subject)
                  .where(Ticket.merged_into == ticket.id).order_by(Ticket.id))
    order = Order.get_or_none(Order.id == ticket.order_id) if ticket.order_id else None
    if tickets.inquiry_of(ticket) is not None:
        reply_route = N_("A reply goes back to the marketplace with the next answer push.")
    elif ticket.customer_email:
        reply_route = N_("A reply is emailed to the customer.")
    else:
        reply_route = N_("No email address: the customer sees a reply in the portal only.")
    context = dict(ticket=ticket, team=ticket.team, stages=stage_rules.for_team(ticket.team),
                   conversation=conversation, log=list(reversed(log)), followers=followers,
                   addable=addable, assignable=assignable, merged=merged, order=order,
                   sentence=sentence, kind_labels=KIND_LABELS, sources=tickets.SOURCES,
                   msg_values={"kind": "reply"}, msg_errors={}, problem=None,
                   reply_route=reply_route, can_work=not ticket.merged_into_id)
    context.update(extra)
    return context


@bp.route("/tickets/<int:ticket_id>")
@requires("read")
def ticket_page(ticket_id):
    ticket = tickets.get(ticket_id, _user())
    tickets.mark_seen(_user(), ticket)    # a follower's updates so far are read
    return render("helpdesk/ticket.html", "ticket", **_ticket_context(ticket))


@bp.route("/updates")
@requires("read")
def updates():
    """Followers' update notifications (seed 004): followed tickets with news from others."""
    return render("helpdesk/updates.html", rows=tickets.updates(_user()))


@bp.app_context_processor
def _update_count():
    """The top bar's badge: how many followed tickets have news (computed only when shown)."""
    def count() -> int:
        user = current_user
        if not getattr(user, "is_authenticated", False) or not is_internal(user):
            return 0
        return len(tickets.updates(user._get_current_object()))
    return {"helpdesk_update_count": count}


def _after_change(ticket_id, toast: str):
    ticket = tickets.get(ticket_id, _user())
    response = make_response(render("helpdesk/ticket.html", "ticket",
                                    **_ticket_context(ticket)))
    return _trigger(response, **{"ruledesk:toast": toast})


def _refused(ticket_id, exc: EngineError, **extra):
    """Nothing changed: the page again, fresh, with what was wrong said at the top."""
    if exc.status == 404:
        raise exc
    ticket = tickets.get(ticket_id, _user())
    return render("helpdesk/ticket.html", "ticket",
                  **_ticket_context(ticket, problem=None if extra.get("msg_errors")
                                    else translate(exc), **extra))


@bp.route("/tickets/<int:ticket_id>/stage", methods=["POST"])
@requires("operate")
def set_stage(ticket_id):
    try:
        ticket = tickets.move_stage(ctx(), ticket_id, request.form.get("stage_id", ""),
                                    request.form.get("version", ""))
    except EngineError as exc:
        return _refused(ticket_id, exc)
    return _after_change(ticket_id, gettext("Ticket #%(id)s is now in %(stage)s.",
                                            id=ticket.id, stage=ticket.stage.name))


@bp.route("/tickets/<int:ticket_id>/assign", methods=["POST"])
@requires("operate")
def assign(ticket_id):
    try:
        ticket = tickets.assign(ctx(), ticket_id, request.form.get("assignee", ""),
                                request.form.get("version", ""))
    except EngineError as exc:
        return _refused(ticket_id, exc)
    if ticket.assignee_id:
        toast = gettext("Ticket #%(id)s is assigned to %(name)s.", id=ticket.id,
                        name=ticket.assignee.display_name)
    else:
        toast = gettext("Ticket #%(id)s has no assignee now.", id=ticket.id)
    return _after_change(ticket_id, toast)


@bp.route("/tickets/<int:ticket_id>/messages", methods=["POST"])
@requires("operate")
def post_message(ticket_id):
    raw = {"body": request.form.get("body", ""), "kind": request.form.get("kind", "reply")}
    try:
        message = tickets.add_message(ctx(), ticket_id, raw)
    except EngineError as exc:
        return _refused(ticket_id, exc, msg_values=raw,
                        msg_errors=field_errors(exc) if isinstance(exc, ValidationError)
                        else {})
    toast = (gettext("Note saved.") if message.kind == "note"
             else gettext("Reply sent to the customer."))
    return _after_change(ticket_id, toast)


@bp.route("/tickets/<int:ticket_id>/followers", methods=["POST"])
@requires("operate")
def add_follower(ticket_id):
    try:
        tickets.follow(ctx(), ticket_id, request.form.get("user_id", ""))
    except EngineError as exc:
        return _refused(ticket_id, exc)
    return _after_change(ticket_id, gettext("Follower added."))


@bp.route("/tickets/<int:ticket_id>/followers/<int:user_id>/remove", methods=["POST"])
@requires("operate")
def remove_follower(ticket_id, user_id):
    try:
        tickets.unfollow(ctx(), ticket_id, user_id)
    except EngineError as exc:
        return _refused(ticket_id, exc)
    return _after_change(ticket_id, gettext("Follower removed."))


# --- new ticket ------------------------------------------------------------------------------

FORM_FIELDS = {f.name: f for f in tickets.TICKET_FIELDS}


def _new_context(values: dict, errors: dict, message=None) -> dict:
    order = None
    order_id = str(values.get("order_id") or "")
    if values.get("from_order") and order_id.isdigit():
        order = Order.get_or_none(Order.id == int(order_id))
    return dict(values=values, errors=errors, message=message, fields=FORM_FIELDS,
                team_choices=list(teams.visible_teams(_user()).where(Team.active == True)),  # noqa: E712
                order=order)


@bp.route("/tickets/new", methods=["GET"])
@requires("operate")
def new_ticket():
    values = {"team_id": request.args.get("team_id", "")}
    order_id = request.args.get("order_id", "")
    if order_id.isdigit():
        order = Order.get_or_none(Order.id == int(order_id))
        if order is None:
            raise NotFound(N_("Order %(id)s does not exist."), id=order_id)
        values.update(order_id=str(order.id), from_order="1", customer_name=order.buyer_name,
                      customer_phone=order.buyer_mobile or order.recipient_mobile
                      or order.buyer_phone, customer_email=order.buyer_email or "")
    return render("helpdesk/_new.html", **_new_context(values, {}))


@bp.route("/tickets/new", methods=["POST"])
@requires("operate")
def create_ticket():
    raw = request.form.to_dict()
    from_order = bool(raw.get("from_order"))
    fields = {k: raw.get(k, "") for k in FORM_FIELDS}
    try:
        if from_order:
            ticket = tickets.open_from_order(ctx(), fields.get("order_id"), fields)
        else:
            ticket = tickets.create_ticket(ctx(), fields, source="app")
    except EngineError as exc:
        return render("helpdesk/_new.html", **_new_context(
            raw, field_errors(exc), None if exc.field in FORM_FIELDS else translate(exc)))
    toast = gettext("Ticket #%(id)s opened.", id=ticket.id)
    if from_order:   # stay in the console: the panel lists the order's tickets again
        return _trigger(make_response(""), **{"helpdesk:ticketsChanged": True,
                                              "ruledesk:toast": toast,
                                              "ruledesk:closeDialog": True})
    response = make_response("")
    response.headers["HX-Redirect"] = url_for("helpdesk.ticket_page", ticket_id=ticket.id)
    return response


# --- the order console's panel ---------------------------------------------------------------

@bp.route("/orders/<int:order_id>/tickets")
@requires("read")
def order_tickets(order_id):
    """The tickets of an order, loaded into the order panel (and refreshed when one is made)."""
    order = Order.get_or_none(Order.id == order_id)
    if order is None:
        raise NotFound(N_("Order %(id)s does not exist."), id=order_id)
    return render("helpdesk/_order_tickets.html", order=order,
                  rows=list(tickets.for_order(order_id, _user())))
