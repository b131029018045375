"""Helpdesk teams (seed 004): declared data, who may see them, and who follows them.

A team is declared with one schema (``TEAM_FIELDS`` + ``validate_team``) for the form, the TOML
file and the API; members and followers are named by username so a config file reads like the
screen. Visibility decides who sees the team and its tickets (``engine.tickets`` applies it to
tickets): private = invited internal users (members and followers of the team, and followers
of a ticket for that ticket), company = every internal user, public = every internal user and,
for the tickets they follow, portal users. Turning a team away from public removes its portal
followers, from the team and from every ticket of it (seed warning), in the same transaction.
"""
from __future__ import annotations

from engine.errors import NotFound, StateError, ValidationError
from engine.models import (
    Team, TeamFollower, TeamMember, Ticket, TicketFollower, User, db, utcnow,
)
from engine.schema import Field, parse
from engine.text import N_
from engine.users import is_internal, rank, require

VISIBILITIES = {
    "private": N_("Invited internal users (private)"),
    "company": N_("All internal users (company)"),
    "public": N_("Invited portal users and all internal users (public)"),
}
ASSIGN_METHODS = {
    "tickets": N_("Each user is assigned an equal number of tickets"),
    "open_tickets": N_("Each user is assigned an equal number of open tickets"),
}
AFTER_SALES = {
    "refund": N_("Refund"),
    "coupon": N_("Coupon"),
    "return": N_("Return"),
    "repair": N_("Repair"),
    "field_service": N_("Field service"),
}

LIST_LABELS = {"members": N_("Members"), "followers": N_("Followers"),
               "after_sales": N_("After-sales")}

TEAM_FIELDS = [
    Field("name", N_("Team name"), required=True, max_length=100),
    Field("description", N_("Public description"), kind="textarea", max_length=2000),
    Field("visibility", N_("Visibility"), kind="choice", required=True,
          choices=lambda: list(VISIBILITIES.items())),
    Field("auto_assign", N_("Automatic assignment"), kind="bool"),
    Field("assign_method", N_("Assignment method"), kind="choice",
          choices=lambda: list(ASSIGN_METHODS.items())),
    Field("order", N_("Order"), kind="int", min=0, max=100000),
    Field("active", N_("Active"), kind="bool"),
]


def _names(raw, field_name: str, errors: dict) -> list[str]:
    """A list of names from a form (several values or one comma text), TOML or JSON."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = [part for part in raw.replace("\n", ",").split(",")]
    if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
        errors[field_name] = ValidationError(N_("%(label)s must be a list of names."),
                                             field_name, label=LIST_LABELS[field_name])
        return []
    seen = []
    for value in (v.strip() for v in raw):
        if value and value not in seen:
            seen.append(value)
    return seen


def _users(names: list[str], field_name: str, errors: dict, internal: bool) -> list[User]:
    found = {u.username: u for u in User.select().where(User.username.in_(names or [""]))}
    missing = [n for n in names if n not in found]
    if missing:
        errors[field_name] = ValidationError(N_("Unknown user %(name)s."), field_name,
                                             name=missing[0])
        return []
    users = [found[n] for n in names]
    if internal:
        portal = [u.username for u in users if rank(u.role) < rank("viewer")]
        if portal:
            errors[field_name] = ValidationError(
                N_("%(name)s is a portal user and cannot be a team member."), field_name,
                name=portal[0])
    return users


def validate_team(raw: dict) -> dict:
    """Parse a team in its one schema into columns plus ``members``/``followers`` (users)."""
    errors: dict = {}
    flat = dict(raw)
    flat.setdefault("visibility", "company")
    flat.setdefault("assign_method", "tickets")
    if "active" not in flat:
        flat["active"] = True
    values = {}
    try:
        values = parse(TEAM_FIELDS, flat)
    except ValidationError as exc:
        errors.update(exc.errors)
    members = _users(_names(raw.get("members"), "members", errors), "members", errors, True)
    followers = _users(_names(raw.get("followers"), "followers", errors), "followers", errors,
                       False)
    after_sales = _names(raw.get("after_sales"), "after_sales", errors)
    unknown = [a for a in after_sales if a not in AFTER_SALES]
    if unknown:
        errors["after_sales"] = ValidationError(
            N_("Unknown after-sales option %(name)s; use: %(known)s"), "after_sales",
            name=unknown[0], known=", ".join(AFTER_SALES))
    if values.get("visibility") != "public" and any(
            rank(u.role) < rank("viewer") for u in followers):
        errors["followers"] = ValidationError(
            N_("Portal users can follow only a public team."), "followers")
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, first.field, errors=errors, **first.params)
    columns = {
        "name": values["name"], "description": values.get("description") or "",
        "visibility": values["visibility"], "auto_assign": bool(values.get("auto_assign")),
        "assign_method": values.get("assign_method") or "tickets",
        "sort_order": values["order"] if values.get("order") is not None else 0,
        "active": bool(values.get("active")),
        "after_sales": [a for a in AFTER_SALES if a in after_sales],
    }
    return {"columns": columns, "members": members, "followers": followers}


def team_as_data(team: Team) -> dict:
    """The team in its schema (what export writes and the API reads back)."""
    return {
        "name": team.name, "description": team.description, "visibility": team.visibility,
        "auto_assign": team.auto_assign, "assign_method": team.assign_method,
        "order": team.sort_order, "active": team.active, "after_sales": list(team.after_sales),
        "members": [m.user.username for m in
                    team.members.join(User).order_by(User.username)],
        "followers": [f.user.username for f in
                      team.followers.join(User).order_by(User.username)],
    }


def get(team_id) -> Team:
    try:
        team = Team.get_or_none(Team.id == int(team_id))
    except (TypeError, ValueError):
        team = None
    if team is None:
        raise NotFound(N_("Team %(id)s does not exist."), id=team_id)
    return team


def save_team(actor: User | None, raw: dict, team_id: int | None = None) -> Team:
    """Create or change a team; members, followers and portal-follower clean-up in one go."""
    if actor is not None:
        require(actor, "settings")
    parsed = validate_team(raw)
    columns = parsed["columns"]
    with db.atomic():
        clash = Team.select().where(Team.name == columns["name"])
        if team_id is not None:
            clash = clash.where(Team.id != int(team_id))
        if clash.exists():
            raise ValidationError(N_("A team named %(name)s exists already."), "name",
                                  name=columns["name"])
        if team_id is None:
            team = Team.create(**columns)
        else:
            team = get(team_id)
            was_public = team.visibility == "public"
            for key, value in columns.items():
                setattr(team, key, value)
            team.version += 1
            team.updated_at = utcnow()
            team.save()
            if was_public and team.visibility != "public":
                remove_portal_followers(team)
        _set_users(TeamMember, team, parsed["members"])
        _set_users(TeamFollower, team, parsed["followers"])
    return team


def _set_users(model, team: Team, users: list[User]) -> None:
    wanted = {u.id for u in users}
    model.delete().where((model.team == team.id) & model.user.not_in(wanted or [0])).execute()
    have = {row.user_id for row in model.select().where(model.team == team.id)}
    for user_id in sorted(wanted - have):
        model.create(team=team.id, user=user_id)


def remove_portal_followers(team: Team) -> int:
    """Seed 004 warning: leaving "public" drops portal followers of the team and its tickets."""
    portal = [u.id for u in User.select(User.id).where(User.role == "portal")]
    if not portal:
        return 0
    removed = TeamFollower.delete().where(
        (TeamFollower.team == team.id) & TeamFollower.user.in_(portal)).execute()
    tickets = Ticket.select(Ticket.id).where(Ticket.team == team.id)
    removed += TicketFollower.delete().where(
        TicketFollower.ticket.in_(tickets) & TicketFollower.user.in_(portal)).execute()
    return removed


def delete_team(actor: User | None, team_id) -> None:
    """A team with tickets is kept (deactivate it instead): tickets must keep their team."""
    if actor is not None:
        require(actor, "settings")
    with db.atomic():
        team = get(team_id)
        if Ticket.select().where(Ticket.team == team.id).exists():
            raise StateError(N_("The team %(name)s has tickets; deactivate it instead."),
                             name=team.name)
        team.delete_instance(recursive=True)


# --- who sees a team ---------------------------------------------------------------------------

def is_invited(user: User, team: Team) -> bool:
    """Invited to a team = a member or a follower of it (seed 004)."""
    return (TeamMember.select().where((TeamMember.team == team.id) & (TeamMember.user == user.id))
            .exists()
            or TeamFollower.select().where((TeamFollower.team == team.id)
                                           & (TeamFollower.user == user.id)).exists())


def invited_teams(user: User):
    """The ids of the teams ``user`` is invited to, as a subquery: member or follower."""
    return (TeamMember.select(TeamMember.team).where(TeamMember.user == user.id)
            | TeamFollower.select(TeamFollower.team).where(TeamFollower.user == user.id))


def sees_all_tickets(user: User | None, team: Team) -> bool:
    """Whether ``user`` sees every ticket of ``team`` (else only those they follow or own)."""
    if not is_internal(user):
        return False
    if rank(user.role) >= rank("admin") or team.visibility in ("company", "public"):
        return True
    return is_invited(user, team)


def visible_teams(user: User | None):
    """The teams ``user`` may open: every one for admins, by visibility for the others."""
    query = Team.select().order_by(Team.sort_order, Team.name)
    if user is None:
        return query.where(Team.id == 0)
    if not is_internal(user):
        followed = (TicketFollower.select(Ticket.team).join(Ticket)
                    .where(TicketFollower.user == user.id))
        return query.where((Team.visibility == "public") & Team.id.in_(followed))
    if rank(user.role) >= rank("admin"):
        return query
    invited = invited_teams(user)
    following = (TicketFollower.select(Ticket.team).join(Ticket)
                 .where(TicketFollower.user == user.id))
    return query.where((Team.visibility != "private") | Team.id.in_(invited)
                       | Team.id.in_(following))


def team_stats(team: Team, tickets=None) -> dict:
    """Counts of the team's open tickets: open, unassigned, flagged (nobody was available).
    ``tickets`` narrows them to a query of tickets, e.g. those a user may see."""
    base = (tickets if tickets is not None else Ticket.select()).where(
        (Ticket.team == team.id) & (Ticket.closed == False))  # noqa: E712
    return {
        "open": base.count(),
        "unassigned": base.where(Ticket.assignee.is_null()).count(),
        "flagged": base.where(Ticket.needs_assignment == True).count(),  # noqa: E712
    }
