"""Helpdesk tickets (seed 004): create, see, assign, move between stages, talk, follow, merge.

Every path that makes or changes a ticket comes here: the app's form, the public form of a
public team, a rule action, an order's panel, an inquiry collected from a marketplace and the
API. Each operation runs in one transaction, writes a log line on the ticket, and raises its
domain events (``created``, ``changed``, ``stage_entered``) after commit, so rules see tickets
exactly as they see orders.

Who sees a ticket follows the team's visibility (``engine.teams``): admins see every ticket;
other internal users see all tickets of company and public teams, and of private teams they
are invited to (member or follower), plus any ticket they follow or are assigned; portal users
see only tickets of public teams that they follow. A ticket one may not see is "not found",
never "forbidden", so its existence does not leak.
"""
from __future__ import annotations

import datetime as dt
import re

from peewee import JOIN

from engine import assignment, events, sending, stages as stage_rules
from engine.errors import NotFound, PermissionDenied, StateError, ValidationError
from engine.models import (
    AppSetting, Coupon, CreditNote, FieldTask, Order, RepairOrder, SenderNumber, Stage,
    StageTeam, Team, TeamFollower, Ticket, TicketFollower, TicketMessage,
    TicketPickup, User, db,
)
from engine.order_core import Context
from engine.schema import Field, parse
from engine.teams import invited_teams, sees_all_tickets, visible_teams
from engine.text import N_
from engine.users import can, is_internal, rank

SOURCES = {"app": N_("App"), "form": N_("Public form"), "rule": N_("Automation"),
           "order": N_("Order"), "inquiry": N_("Marketplace inquiry"), "api": N_("API")}
INQUIRY_TEAM = "inquiry_team"   # AppSetting: the team that gets collected inquiries


def _team_choices():
    return [(str(t.id), t.name) for t in Team.select().where(Team.active == True)  # noqa: E712
            .order_by(Team.sort_order, Team.name)]


TICKET_FIELDS = [
    Field("team_id", N_("Team"), kind="choice", required=True, choices=_team_choices),
    Field("subject", N_("Subject"), required=True, max_length=200),
    Field("description", N_("Description"), kind="textarea", max_length=20000),
    Field("customer_name", N_("Customer name"), max_length=100),
    Field("customer_phone", N_("Customer phone"), kind="phone"),
    Field("customer_email", N_("Customer email"), max_length=200),
    Field("order_id", N_("Order"), kind="int", min=1, max=2**31 - 1),
]

# the public form of a public team: what a customer types (the team is in the URL)
PUBLIC_FIELDS = [
    Field("customer_name", N_("Your name"), required=True, max_length=100),
    Field("customer_email", N_("Email"), max_length=200),
    Field("customer_phone", N_("Phone"), kind="phone"),
    Field("subject", N_("Subject"), required=True, max_length=200),
    Field("description", N_("Description"), kind="textarea", required=True, max_length=5000),
]

MESSAGE_FIELDS = [
    Field("body", N_("Message"), kind="textarea", required=True, max_length=20000),
    Field("kind", N_("Type"), kind="choice",
          choices=lambda: [("reply", N_("Reply to the customer")), ("note", N_("Internal note"))]),
]

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# --- seeing ------------------------------------------------------------------------------------

def can_see(user: User | None, ticket: Ticket) -> bool:
    if user is None or not user.active:
        return False
    team = ticket.team
    if not is_internal(user):
        return (team.visibility == "public" and TicketFollower.select().where(
            (TicketFollower.ticket == ticket.id) & (TicketFollower.user == user.id)).exists())
    if sees_all_tickets(user, team) or ticket.assignee_id == user.id:
        return True
    return TicketFollower.select().where((TicketFollower.ticket == ticket.id)
                                         & (TicketFollower.user == user.id)).exists()


def visible(user: User | None):
    """Every ticket ``user`` may see, as one query (lists, kanban, search, API)."""
    query = Ticket.select(Ticket, Team).join(Team)
    if user is None or not user.active:
        return query.where(Ticket.id == 0)
    followed = TicketFollower.select(TicketFollower.ticket).where(TicketFollower.user == user.id)
    if not is_internal(user):
        return query.where((Team.visibility == "public") & Ticket.id.in_(followed))
    if rank(user.role) >= rank("admin"):
        return query
    invited = invited_teams(user)
    return query.where((Team.visibility != "private") | Team.id.in_(invited)
                       | (Ticket.assignee == user.id) | Ticket.id.in_(followed))


def get(ticket_id, user: User | None = None) -> Ticket:
    """The ticket, when ``user`` (None = the system) may see it; else NotFound."""
    try:
        ticket = Ticket.get_or_none(Ticket.id == int(ticket_id))
    except (TypeError, ValueError):
        ticket = None
    if ticket is None or (user is not None and not can_see(user, ticket)):
        raise NotFound(N_("Ticket %(id)s does not exist."), id=ticket_id)
    return ticket


def _require_worker(actor: User | None) -> None:
    """Changing tickets is work: agents and up (portal users only talk, see ``add_message``)."""
    if actor is not None and not can(actor, "operate"):
        raise PermissionDenied(N_("You do not have permission to do this."))


# --- small pieces ------------------------------------------------------------------------------

def log(ticket: Ticket, ctx: Context, text: str, kind: str = "log") -> TicketMessage:
    actor = ctx.actor
    return TicketMessage.create(ticket=ticket.id, kind=kind, author=actor.id if actor else None,
                                author_name=actor.display_name if actor else "", body=text,
                                created_at=ctx.now)


def _follow(ticket: Ticket, user_ids) -> None:
    have = {f.user_id for f in TicketFollower.select().where(TicketFollower.ticket == ticket.id)}
    for user_id in sorted(set(user_ids) - have - {None}):
        TicketFollower.create(ticket=ticket.id, user=user_id)


def _touch(ticket: Ticket, ctx: Context) -> None:
    ticket.version += 1
    ticket.updated_at = ctx.now
    ticket.save()


def _check_version(ticket: Ticket, version) -> None:
    from engine.errors import ConflictError
    if version not in (None, "") and str(version) != str(ticket.version):
        raise ConflictError(N_("The ticket was changed by someone else; reload it."))


def _raise(ticket: Ticket, ctx: Context, kind: str, changes: dict | None = None) -> None:
    events.raise_event(events.Event("ticket", ticket.id, kind, ctx.now,
                                    ctx.actor.id if ctx.actor else None, changes or {},
                                    key=f"v{ticket.version}"))


# --- creating ----------------------------------------------------------------------------------

def _portal_user_for(email: str) -> User | None:
    if not email:
        return None
    return User.get_or_none((User.username == email) & (User.role == "portal"))


def create_ticket(ctx: Context, raw: dict, source: str = "app") -> Ticket:
    """Open a ticket in a team: first unfolded stage, team followers follow, auto-assignment.

    ``ctx.actor`` None is the system (public form, rule, inquiry); a person must be able to
    work tickets and to see the team.
    """
    _require_worker(ctx.actor)
    values = parse(TICKET_FIELDS, raw, ctx.tz)
    email = (values.get("customer_email") or "").strip()
    if email and not EMAIL.fullmatch(email):
        raise ValidationError(N_("%(value)s is not an email address."), "customer_email",
                              value=email)
    with events.collecting(), db.atomic():
        team = Team.get_or_none(Team.id == int(values["team_id"]))
        if team is None or not team.active or (
                ctx.actor is not None
                and not visible_teams(ctx.actor).where(Team.id == team.id).exists()):
            raise ValidationError(N_("Unknown team %(name)s."), "team_id",
                                  name=values["team_id"])
        order = None
        if values.get("order_id"):
            order = Order.get_or_none(Order.id == values["order_id"])
            if order is None:
                raise ValidationError(N_("Order %(id)s does not exist."), "order_id",
                                      id=values["order_id"])
        phone = "".join(c for c in values.get("customer_phone") or "" if c.isdigit())
        name = values.get("customer_name") or ""
        if order is not None:   # a ticket from an order knows its customer
            name = name or order.buyer_name
            phone = phone or "".join(c for c in (order.buyer_mobile or order.recipient_mobile
                                                 or order.buyer_phone) if c.isdigit())
            email = email or order.buyer_email or ""
        stage = stage_rules.first_open(team)
        ticket = Ticket.create(
            team=team.id, stage=stage.id if stage else None, subject=values["subject"],
            description=values.get("description") or "", customer_name=name,
            customer_phone=phone, customer_email=email, order=order.id if order else None,
            source=source if source in SOURCES else "app", created_at=ctx.now,
            updated_at=ctx.now, created_by=ctx.actor.id if ctx.actor else None)
        followers = [f.user_id for f in TeamFollower.select().where(TeamFollower.team == team.id)]
        if ctx.actor is not None:
            followers.append(ctx.actor.id)
        portal = _portal_user_for(email)
        if portal is not None and team.visibility == "public":
            followers.append(portal.id)
        _follow(ticket, followers)
        log(ticket, ctx, "created:" + ticket.source)
        if team.auto_assign:
            _auto_assign(ticket, ctx, announce=False)
        if stage is not None:
            _entered(ticket, stage, ctx)
        _raise(ticket, ctx, events.CREATED)
        if stage is not None:
            _raise(ticket, ctx, events.STAGE_ENTERED, {"stage": (None, stage.name)})
    return ticket


def submit_public(team_id, raw: dict, now: dt.datetime, tz=None,
                  portal_user: User | None = None) -> Ticket:
    """The public ticket form of a public team (seed 004): only public teams take tickets."""
    team = Team.get_or_none(Team.id == int(team_id)) if str(team_id).isdigit() else None
    if team is None or not team.active or team.visibility != "public":
        raise NotFound(N_("Team %(id)s does not exist."), id=team_id)
    values = parse(PUBLIC_FIELDS, raw, tz)
    if not values.get("customer_email") and not values.get("customer_phone"):
        raise ValidationError(N_("Leave an email address or a phone number so we can answer."),
                              "customer_email")
    ctx = Context(None, now, tz)
    ticket = create_ticket(ctx, {**values, "team_id": str(team.id)}, source="form")
    if portal_user is not None and not is_internal(portal_user):
        with db.atomic():
            _follow(ticket, [portal_user.id])
    return ticket


def open_from_order(ctx: Context, order_id, raw: dict) -> Ticket:
    """A ticket from an order's panel: the order's customer, linked to it."""
    return create_ticket(ctx, {**raw, "order_id": order_id}, source="order")


def open_from_inquiry(inquiry, now: dt.datetime, team_name: str | None = None) -> Ticket | None:
    """A collected marketplace inquiry (문의 수집) becomes a ticket of the inquiry team.

    The team is ``team_name`` (the job's option), else the ``inquiry_team`` setting, else the
    first active company or public team; with no team at all the inquiry stays in its list.
    The answer written on the ticket goes back through the 문의답변 전송 job.
    """
    team = None
    setting = AppSetting.get_or_none(AppSetting.key == INQUIRY_TEAM)
    for name in (team_name, setting.value if setting else None):
        if name:
            team = Team.get_or_none((Team.name == name) & (Team.active == True))  # noqa: E712
            if team:
                break
    if team is None:
        team = (Team.select().where((Team.active == True)  # noqa: E712
                                    & (Team.visibility != "private"))
                .order_by(Team.sort_order, Team.id).first())
    if team is None:
        return None
    kind_label = {"product_qna": "상품문의", "urgent": "긴급메시지", "review": "리뷰"}
    subject = f"[{kind_label.get(inquiry.kind, inquiry.kind)}] {inquiry.title or ''}".strip()
    raw = {"team_id": str(team.id), "subject": subject[:200] or "-",
           "description": inquiry.body or "", "customer_name": inquiry.author or "",
           # a marketplace's phone field may hold anything; only a number is kept
           "customer_phone": (inquiry.phone or "") if 9 <= sum(
               c.isdigit() for c in inquiry.phone or "") <= 12 else "",
           "order_id": inquiry.order_id if getattr(inquiry, "order_id", None) else None}
    ticket = create_ticket(Context(None, now), raw, source="inquiry")
    type(inquiry).update(ticket_id=ticket.id).where(type(inquiry).id == inquiry.id).execute()
    return ticket


def inquiry_of(ticket: Ticket):
    """The marketplace inquiry behind a ticket, when the connectors module has inquiries."""
    from engine import models
    model = getattr(models, "Inquiry", None)
    if model is None:
        return None
    return model.get_or_none(model.ticket_id == ticket.id)


# --- assignment --------------------------------------------------------------------------------

def _auto_assign(ticket: Ticket, ctx: Context, announce: bool = True) -> bool:
    user = assignment.pick(ticket.team, ctx.now, ctx.tz)
    if user is None:
        if not ticket.needs_assignment:
            log(ticket, ctx, "unassigned:nobody available")
        ticket.needs_assignment = True
        ticket.save()
        return False
    old = ticket.assignee.display_name if ticket.assignee_id else ""
    ticket.assignee = user.id
    ticket.needs_assignment = False
    ticket.save()
    _follow(ticket, [user.id])
    log(ticket, ctx, f"assigned:{user.display_name} (auto)")
    if announce:   # a new ticket is announced once, by its "created" event
        _raise(ticket, ctx, events.CHANGED, {"assignee": (old, user.display_name)})
    return True


def auto_assign(ticket_id: int, now: dt.datetime, tz=None) -> bool:
    """Retry automatic assignment of a flagged ticket (the scheduler calls this)."""
    with events.collecting(), db.atomic():
        # claim the flag first: of two scheduler processes only one gets the row
        claimed = (Ticket.update(needs_assignment=False)
                   .where((Ticket.id == ticket_id) & (Ticket.needs_assignment == True)  # noqa: E712
                          & (Ticket.closed == False)).execute())  # noqa: E712
        if not claimed:
            return False
        ticket = Ticket.get_by_id(ticket_id)
        ticket.needs_assignment = True      # as it was, in case nobody is available yet
        return _auto_assign(ticket, Context(None, now, tz))


def assign(ctx: Context, ticket_id, user_id, version=None) -> Ticket:
    """Give the ticket to a person (None/"" = nobody; "auto" = automatic assignment)."""
    _require_worker(ctx.actor)
    with events.collecting(), db.atomic():
        ticket = get(ticket_id, ctx.actor)
        _check_version(ticket, version)
        if user_id == "auto":
            if not _auto_assign(ticket, ctx):
                raise StateError(N_("Nobody in the team is available right now."))
            _touch(ticket, ctx)
            return ticket
        user = None
        if user_id not in (None, ""):
            user = User.get_or_none(User.id == int(user_id)) if str(user_id).isdigit() else None
            if user is None or not user.active:
                raise ValidationError(N_("Unknown user %(name)s."), "assignee", name=user_id)
            if rank(user.role) < rank("agent") or not sees_all_tickets(user, ticket.team) and \
                    not TicketFollower.select().where((TicketFollower.ticket == ticket.id)
                                                      & (TicketFollower.user == user.id)).exists():
                raise ValidationError(N_("%(name)s cannot work tickets of this team."),
                                      "assignee", name=user.display_name)
        old = ticket.assignee.display_name if ticket.assignee_id else ""
        ticket.assignee = user.id if user else None
        ticket.needs_assignment = False
        _touch(ticket, ctx)
        if user:
            _follow(ticket, [user.id])
        new = user.display_name if user else ""
        log(ticket, ctx, f"assigned:{new}" if user else "unassigned:")
        _raise(ticket, ctx, events.CHANGED, {"assignee": (old, new)})
    return ticket


# --- stages ------------------------------------------------------------------------------------

def _sender() -> str:
    found = (SenderNumber.select().where(SenderNumber.registered == True)  # noqa: E712
             .order_by(SenderNumber.id).first())
    return found.number if found else ""


def _entered(ticket: Ticket, stage: Stage, ctx: Context) -> None:
    """Send the stage's email and SMS templates to the customer (seed 004), once per entry.

    The messages are stored in the same transaction as the move (a rolled-back move sends
    nothing) under a key of (ticket, stage, ticket version, template, recipient), so a retried
    request never sends twice. What cannot be sent is written on the ticket, never raised:
    the agent's move stands.
    """
    for template, to in ((stage.email_template, ticket.customer_email),
                         (stage.sms_template, ticket.customer_phone)):
        if template is None:
            continue
        if not to:
            log(ticket, ctx, f"message:{template.name}: no address")
            continue
        values = {"channel": template.kind, "template": str(template.id), "sender": _sender()}
        recipient = sending.Recipient(to, ticket.order if ticket.order_id else None,
                                      sending.ticket_variables(ticket))
        try:
            drafts = sending.compose(values, [recipient], ctx.now, ctx.tz)
        except ValidationError as exc:
            log(ticket, ctx, f"message:{template.name}: {exc.render()}")
            continue
        bad = [d for d in drafts if not d.ok]
        if bad:
            message, params = bad[0].problems[0]
            log(ticket, ctx, f"message:{template.name}: " + (message % params if params
                                                              else message))
            continue
        stem = f"ticket:{ticket.id}:stage:{stage.id}:v{ticket.version}:{template.id}"
        sending.enqueue(drafts, f"ticket-{ticket.id}", ctx.actor, ctx.now,
                        sender=values["sender"], template_id=template.id,
                        key=lambda d: f"{stem}:{d.recipient.to}")
        log(ticket, ctx, f"message:{template.name} → {to}")


def move_stage(ctx: Context, ticket_id, stage_id, version=None) -> Ticket:
    """Move a ticket to a stage of its team; a folded stage closes it, an open one reopens it."""
    _require_worker(ctx.actor)
    with events.collecting(), db.atomic():
        ticket = get(ticket_id, ctx.actor)
        _check_version(ticket, version)
        if ticket.merged_into_id:
            raise StateError(N_("Ticket %(id)s was merged into %(into)s."), id=ticket.id,
                             into=ticket.merged_into_id)
        stage = Stage.get_or_none(Stage.id == int(stage_id)) if str(stage_id).isdigit() else None
        if stage is None or not StageTeam.select().where(
                (StageTeam.stage == stage.id) & (StageTeam.team == ticket.team_id)).exists():
            raise ValidationError(N_("%(stage)s is not a stage of the team %(team)s."), "stage",
                                  stage=stage.name if stage else stage_id, team=ticket.team.name)
        if ticket.stage_id == stage.id:
            return ticket
        old = ticket.stage.name if ticket.stage_id else ""
        was_closed = ticket.closed
        ticket.stage = stage.id
        ticket.closed = stage.folded
        ticket.closed_at = ctx.now if stage.folded else None
        _touch(ticket, ctx)
        log(ticket, ctx, f"stage:{old} → {stage.name}")
        _entered(ticket, stage, ctx)
        changes = {"stage": (old, stage.name)}
        if was_closed != ticket.closed:
            changes["closed"] = (was_closed, ticket.closed)
        _raise(ticket, ctx, events.CHANGED, changes)
        _raise(ticket, ctx, events.STAGE_ENTERED, {"stage": (old, stage.name)})
    return ticket


# --- conversation and followers -------------------------------------------------------------

def add_message(ctx: Context, ticket_id, raw: dict) -> TicketMessage:
    """Write on the ticket. A reply goes to the customer: by email when the ticket has an
    address, and back to the marketplace (문의답변 전송) when the ticket came from an inquiry.
    Portal users may only reply, on tickets they see."""
    actor = ctx.actor
    values = parse(MESSAGE_FIELDS, raw, ctx.tz)
    kind = values.get("kind") or "reply"
    if actor is not None and not is_internal(actor):
        kind = "reply"
    elif actor is not None and not can(actor, "operate"):
        raise PermissionDenied(N_("You do not have permission to do this."))
    with events.collecting(), db.atomic():
        ticket = get(ticket_id, actor)
        if ticket.merged_into_id:
            raise StateError(N_("Ticket %(id)s was merged into %(into)s."), id=ticket.id,
                             into=ticket.merged_into_id)
        message = log(ticket, ctx, values["body"], kind=kind)
        _touch(ticket, ctx)
        from_customer = actor is not None and not is_internal(actor)
        if kind == "reply" and not from_customer:
            inquiry = inquiry_of(ticket)
            if inquiry is not None:
                from engine import inquiries
                inquiries.answer(inquiry.id, values["body"], actor, ctx.now)
            elif ticket.customer_email:
                _email_reply(ticket, message, ctx)
        _raise(ticket, ctx, events.CHANGED, {"message": ("", kind)})
    return message


def _email_reply(ticket: Ticket, message: TicketMessage, ctx: Context) -> None:
    subject = f"[#{ticket.id}] {ticket.subject}"
    draft = sending.Draft(sending.Recipient(ticket.customer_email, None), "email",
                          sending.EMAIL, subject, message.body, len(message.body.encode()))
    sending.enqueue([draft], f"ticket-{ticket.id}", ctx.actor, ctx.now,
                    key=lambda d: f"ticket:{ticket.id}:reply:{message.id}")


def follow(ctx: Context, ticket_id, user_id) -> Ticket:
    """Add a follower: an internal user, or a portal user on a ticket of a public team."""
    _require_worker(ctx.actor)
    with db.atomic():
        ticket = get(ticket_id, ctx.actor)
        user = User.get_or_none(User.id == int(user_id)) if str(user_id).isdigit() else None
        if user is None or not user.active:
            raise ValidationError(N_("Unknown user %(name)s."), "user", name=user_id)
        if not is_internal(user) and ticket.team.visibility != "public":
            raise ValidationError(N_("Portal users can follow only tickets of a public team."),
                                  "user")
        _follow(ticket, [user.id])
        log(ticket, ctx, f"follower:+{user.display_name}")
    return ticket


def unfollow(ctx: Context, ticket_id, user_id) -> Ticket:
    _require_worker(ctx.actor)
    with db.atomic():
        ticket = get(ticket_id, ctx.actor)
        removed = TicketFollower.delete().where((TicketFollower.ticket == ticket.id)
                                                & (TicketFollower.user == int(user_id))).execute()
        if removed:
            user = User.get_by_id(int(user_id))
            log(ticket, ctx, f"follower:-{user.display_name}")
    return ticket


def followers(ticket: Ticket) -> list[User]:
    return list(User.select().join(TicketFollower).where(TicketFollower.ticket == ticket.id)
                .order_by(User.display_name))


# --- merge -------------------------------------------------------------------------------------

def merge(ctx: Context, keep_id, other_ids) -> Ticket:
    """Merge duplicates into one ticket (seed 004): their conversation, followers, order link,
    after-sales records and inquiries move to the kept ticket; the others close, pointing at it."""
    _require_worker(ctx.actor)
    try:
        others = sorted({int(i) for i in other_ids or []} - {int(keep_id)})
    except (TypeError, ValueError):
        raise ValidationError(N_("Choose the tickets to merge."), "ticket_ids")
    if not others:
        raise ValidationError(N_("Choose at least one other ticket to merge."), "ticket_ids")
    with events.collecting(), db.atomic():
        keep = get(keep_id, ctx.actor)
        if keep.merged_into_id:
            raise StateError(N_("Ticket %(id)s was merged into %(into)s."), id=keep.id,
                             into=keep.merged_into_id)
        dupes = [get(i, ctx.actor) for i in others]
        for dupe in dupes:
            if dupe.merged_into_id:
                raise StateError(N_("Ticket %(id)s was merged into %(into)s."), id=dupe.id,
                                 into=dupe.merged_into_id)
        ids = [d.id for d in dupes]
        TicketMessage.update(ticket=keep.id).where(TicketMessage.ticket.in_(ids)).execute()
        for dupe in dupes:   # each duplicate's opening request joins the kept conversation
            if dupe.description:
                TicketMessage.create(ticket=keep.id, kind="request", author=None,
                                     author_name=dupe.customer_name or "",
                                     body=f"#{dupe.id} {dupe.subject}\n\n{dupe.description}",
                                     created_at=dupe.created_at)
        _follow(keep, [f.user_id for f in
                       TicketFollower.select().where(TicketFollower.ticket.in_(ids))])
        for model in (CreditNote, Coupon, RepairOrder, FieldTask, TicketPickup):
            model.update(ticket=keep.id).where(model.ticket.in_(ids)).execute()
        from engine import models
        inquiry = getattr(models, "Inquiry", None)
        if inquiry is not None:
            inquiry.update(ticket_id=keep.id).where(inquiry.ticket_id.in_(ids)).execute()
        if not keep.order_id:
            keep.order = next((d.order_id for d in dupes if d.order_id), None)
        for field_name in ("customer_email", "customer_phone", "customer_name"):
            if not getattr(keep, field_name):
                setattr(keep, field_name, next((getattr(d, field_name) for d in dupes
                                                if getattr(d, field_name)), ""))
        for dupe in dupes:
            was_closed = dupe.closed
            dupe.merged_into = keep.id
            dupe.closed = True
            dupe.closed_at = ctx.now
            _touch(dupe, ctx)
            log(dupe, ctx, f"merged_into:{keep.id}")
            changes = {"merged_into": (None, keep.id)}
            if not was_closed:
                changes["closed"] = (False, True)
            _raise(dupe, ctx, events.CHANGED, changes)
        _touch(keep, ctx)
        log(keep, ctx, "merged:" + ", ".join(f"#{i}" for i in ids))
        _raise(keep, ctx, events.CHANGED, {"merged": ("", ",".join(map(str, ids)))})
    return keep


# --- lists -------------------------------------------------------------------------------------

LIST_FIELDS = [
    Field("team", N_("Team"), kind="choice", choices=_team_choices),
    Field("state", N_("State"), kind="choice",
          choices=lambda: [("open", N_("Open")), ("closed", N_("Closed")), ("all", N_("All"))]),
    Field("assignee", N_("Assignee"), max_length=20),
    Field("q", N_("Search"), max_length=100),
]


def search(user: User, raw: dict, mine: bool = False):
    """The "my tickets" / "all tickets" lists: visible tickets filtered, newest first."""
    filters = parse(LIST_FIELDS, {k: v for k, v in raw.items() if v not in (None, "")})
    query = (visible(user).switch(Ticket).join(Stage, JOIN.LEFT_OUTER).switch(Ticket)
             .join(User, JOIN.LEFT_OUTER, on=(Ticket.assignee == User.id))
             .select_extend(Stage, User))
    if mine:
        followed = TicketFollower.select(TicketFollower.ticket).where(
            TicketFollower.user == user.id)
        query = query.where((Ticket.assignee == user.id) | Ticket.id.in_(followed))
    if filters.get("team"):
        query = query.where(Ticket.team == int(filters["team"]))
    state = filters.get("state") or "open"
    if state == "open":
        query = query.where(Ticket.closed == False)  # noqa: E712
    elif state == "closed":
        query = query.where(Ticket.closed == True)  # noqa: E712
    assignee = filters.get("assignee") or ""
    if assignee == "none":
        query = query.where(Ticket.assignee.is_null())
    elif assignee == "flagged":
        query = query.where(Ticket.needs_assignment == True)  # noqa: E712
    elif assignee.isdigit():
        query = query.where(Ticket.assignee == int(assignee))
    for word in (filters.get("q") or "").split():
        like = f"%{word}%"
        cond = ((Ticket.subject ** like) | (Ticket.customer_name ** like)
                | (Ticket.customer_phone ** like) | (Ticket.customer_email ** like))
        if word.lstrip("#").isdigit():
            cond |= Ticket.id == int(word.lstrip("#"))
        query = query.where(cond)
    return query.order_by(Ticket.id.desc()), filters


def kanban(user: User, team: Team) -> list[tuple[Stage, list[Ticket]]]:
    """The team's pipeline: each stage with the visible, unmerged tickets in it."""
    columns = stage_rules.for_team(team)
    tickets = list(visible(user).where((Ticket.team == team.id) & Ticket.merged_into.is_null())
                   .switch(Ticket).join(User, JOIN.LEFT_OUTER, on=(Ticket.assignee == User.id))
                   .select_extend(User).order_by(Ticket.id.desc()))
    by_stage: dict = {}
    for ticket in tickets:
        by_stage.setdefault(ticket.stage_id, []).append(ticket)
    return [(stage, by_stage.get(stage.id, [])) for stage in columns]


def history(ticket: Ticket):
    return (TicketMessage.select().where(TicketMessage.ticket == ticket.id)
            .order_by(TicketMessage.created_at, TicketMessage.id))


def for_order(order_id: int, user: User):
    """Tickets linked to an order (shown on the order's panel)."""
    return visible(user).where(Ticket.order == order_id).order_by(Ticket.id.desc())


# --- followers' updates --------------------------------------------------------------------------

def mark_seen(user: User, ticket: Ticket) -> None:
    """The follower looked at the ticket: its updates so far are read."""
    from peewee import fn
    last = (TicketMessage.select(fn.MAX(TicketMessage.id))
            .where(TicketMessage.ticket == ticket.id).scalar())
    (TicketFollower.update(seen_message_id=last)
     .where((TicketFollower.ticket == ticket.id) & (TicketFollower.user == user.id)).execute())


def updates(user: User):
    """Followed tickets with something new from someone else since the user last looked
    (the followers' update notifications of seed 004), most recent first."""
    from peewee import fn
    news = (TicketMessage.select(TicketMessage.ticket, fn.COUNT(TicketMessage.id).alias("n"),
                                 fn.MAX(TicketMessage.created_at).alias("last"))
            .join(TicketFollower, on=(TicketFollower.ticket == TicketMessage.ticket))
            .where((TicketFollower.user == user.id)
                   & ((TicketMessage.author.is_null()) | (TicketMessage.author != user.id))
                   & ((TicketFollower.seen_message_id.is_null())
                      | (TicketMessage.id > TicketFollower.seen_message_id)))
            .group_by(TicketMessage.ticket))
    if not is_internal(user):   # customers are told of replies only
        news = news.where(TicketMessage.kind == "reply")
    counts = {row.ticket_id: (row.n, row.last) for row in news}
    if not counts:
        return []
    found = list(visible(user).where(Ticket.id.in_(list(counts))))
    for ticket in found:
        ticket.update_count, ticket.updated_last = counts[ticket.id]
    return sorted(found, key=lambda t: t.updated_last, reverse=True)
