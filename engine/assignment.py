"""Automatic ticket assignment (seed 004 신규 상담 자동 배정).

Candidates are the team's members, or, when none are listed, every active internal user with
access to the team who can work tickets (agent and up). Whoever is on leave today (local day)
is left out. ``tickets`` gives the ticket to the candidate with the fewest tickets of the team
so far, ``open_tickets`` to the one with the fewest open ones; ties go to the candidate who
was given a ticket longest ago (then the lowest id), so a tie rotates instead of piling onto
one person. With nobody available the ticket stays unassigned and is flagged; the scheduler
retries flagged tickets (``assign_waiting``) so they are picked up when someone is back.
"""
from __future__ import annotations

import datetime as dt

from peewee import fn

from engine import clock, leaves
from engine.models import Team, TeamMember, Ticket, User
from engine.teams import sees_all_tickets
from engine.users import rank


def candidates(team: Team) -> list[User]:
    members = list(User.select().join(TeamMember).where(
        (TeamMember.team == team.id) & (User.active == True)).order_by(User.id))  # noqa: E712
    if members:
        return [u for u in members if rank(u.role) >= rank("agent")]
    everyone = User.select().where(User.active == True).order_by(User.id)  # noqa: E712
    return [u for u in everyone if rank(u.role) >= rank("agent") and sees_all_tickets(u, team)]


def pick(team: Team, now: dt.datetime, tz=None) -> User | None:
    """Who gets the next ticket of ``team`` now, or None when everyone is away."""
    people = candidates(team)
    away = leaves.on_leave([u.id for u in people], clock.to_local(now, tz or clock.zone()).date())
    people = [u for u in people if u.id not in away]
    if not people:
        return None
    ids = [u.id for u in people]
    mine = (Ticket.team == team.id) & Ticket.assignee.in_(ids)
    counted = Ticket.select(Ticket.assignee, fn.COUNT(Ticket.id).alias("n")).where(mine)
    if team.assign_method == "open_tickets":
        counted = counted.where(Ticket.closed == False)  # noqa: E712
    load = {r.assignee_id: r.n for r in counted.group_by(Ticket.assignee)}
    latest = {r.assignee_id: r.last for r in Ticket.select(
        Ticket.assignee, fn.MAX(Ticket.id).alias("last")).where(mine).group_by(Ticket.assignee)}
    return min(people, key=lambda u: (load.get(u.id, 0), latest.get(u.id, 0), u.id))


def assign_waiting(now: dt.datetime, tz=None) -> int:
    """Give flagged tickets to whoever is available now (someone came back from leave)."""
    from engine import tickets
    done = 0
    waiting = (Ticket.select().join(Team).where(
        (Ticket.needs_assignment == True) & (Ticket.closed == False)  # noqa: E712
        & (Team.auto_assign == True)).order_by(Ticket.id))  # noqa: E712
    for ticket in waiting:
        if tickets.auto_assign(ticket.id, now, tz):
            done += 1
    return done
