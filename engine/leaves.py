"""The leave calendar (휴가): days a user gets no automatically assigned tickets (seed 004).

Days are local calendar days (the configured zone), inclusive at both ends, because that is
how people book leave; ``on_leave`` answers for one local day.
"""
from __future__ import annotations

import datetime as dt

from engine.errors import NotFound, PermissionDenied, ValidationError
from engine.models import Leave, User, db
from engine.schema import Field, parse
from engine.text import N_
from engine.users import can, is_internal

LEAVE_FIELDS = [
    Field("user", N_("User"), kind="choice", required=True,
          choices=lambda: [(str(u.id), u.display_name) for u in
                           User.select().where(User.active == True, User.role != "portal")  # noqa: E712
                           .order_by(User.display_name)]),
    Field("start", N_("From"), kind="date", required=True),
    Field("end", N_("Until"), kind="date", required=True),
    Field("note", N_("Note"), max_length=200),
]


def _may_book(actor: User | None, user_id: int) -> None:
    """Everyone books their own leave; admins book anybody's."""
    if actor is None:
        return
    if not is_internal(actor) or (actor.id != user_id and not can(actor, "settings")):
        raise PermissionDenied(N_("You may book only your own leave."))


def add_leave(actor: User | None, raw: dict) -> Leave:
    values = parse(LEAVE_FIELDS, raw)
    user_id = int(values["user"])
    _may_book(actor, user_id)
    if values["end"] < values["start"]:
        raise ValidationError(N_("The leave ends before it starts."), "end")
    if (values["end"] - values["start"]).days > 366:
        raise ValidationError(N_("A leave is at most a year long."), "end")
    with db.atomic():
        return Leave.create(user=user_id, start=values["start"], end=values["end"],
                            note=values.get("note") or "")


def delete_leave(actor: User | None, leave_id) -> None:
    with db.atomic():
        leave = Leave.get_or_none(Leave.id == int(leave_id)) if str(leave_id).isdigit() else None
        if leave is None:
            raise NotFound(N_("Leave %(id)s does not exist."), id=leave_id)
        _may_book(actor, leave.user_id)
        leave.delete_instance()


def on_leave(user_ids, day: dt.date) -> set[int]:
    """Which of ``user_ids`` are away on local ``day``."""
    ids = list(user_ids)
    if not ids:
        return set()
    return {l.user_id for l in Leave.select(Leave.user).where(
        Leave.user.in_(ids) & (Leave.start <= day) & (Leave.end >= day))}


def upcoming(day: dt.date, user: User | None = None):
    """Leaves that have not ended by ``day``, soonest first (the calendar page)."""
    query = (Leave.select(Leave, User).join(User).where(Leave.end >= day)
             .order_by(Leave.start, User.display_name))
    if user is not None:
        query = query.where(Leave.user == user.id)
    return query


def month(first: dt.date):
    """Leaves touching the month that starts at ``first`` (the calendar grid)."""
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return list(Leave.select(Leave, User).join(User)
                .where((Leave.start < nxt) & (Leave.end >= first))
                .order_by(Leave.start, User.display_name))
