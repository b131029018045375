"""The user's own closure days and temporary holidays (domain: Holidays).

Public holidays come from the ``holidays`` package (``engine.schedules.public_holidays``);
temporary holidays are announced late and a shop closes on days of its own, so a manager
adds those here. A job that skips holidays skips them too (``jobs.calendar``), and adding or
removing one moves the next run of such jobs at once (``jobs.reschedule``).
"""
from __future__ import annotations

import datetime as dt

from engine import clock, jobs
from engine.errors import NotFound, ValidationError
from engine.models import Closure, User, db, utcnow
from engine.schedules import public_holidays
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require

CLOSURE_FIELDS = [
    Field("day", N_("Date"), kind="date", required=True),
    Field("name", N_("Name"), required=True, max_length=60,
          placeholder=N_("e.g. company anniversary")),
]


def closures(since: dt.date | None = None) -> list[Closure]:
    query = Closure.select().order_by(Closure.day)
    if since is not None:
        query = query.where(Closure.day >= since)
    return list(query)


def add_closure(actor: User | None, raw: dict, now: dt.datetime | None = None,
                tz=None) -> Closure:
    """Add a closure day (date + name); jobs that skip holidays skip it from now on."""
    if actor is not None:
        require(actor, "automation")
    now, tz = now or utcnow(), tz or clock.zone()
    values = parse(CLOSURE_FIELDS, raw, tz)
    with db.atomic():
        clash = Closure.get_or_none(Closure.day == values["day"])
        if clash is not None:
            raise ValidationError(N_("%(day)s is a closure day already (%(name)s)."), "day",
                                  day=values["day"].isoformat(), name=clash.name)
        closure = Closure.create(day=values["day"], name=values["name"])
        jobs.reschedule(now, tz)
    return closure


def delete_closure(actor: User | None, closure_id: int, now: dt.datetime | None = None,
                   tz=None) -> Closure:
    if actor is not None:
        require(actor, "automation")
    now, tz = now or utcnow(), tz or clock.zone()
    with db.atomic():
        closure = Closure.get_or_none(Closure.id == closure_id)
        if closure is None:
            raise NotFound(N_("No such closure day."))
        closure.delete_instance()
        jobs.reschedule(now, tz)
    return closure


def upcoming_public_holidays(country: str, today: dt.date,
                             days: int = 365) -> list[tuple[dt.date, str]]:
    """The public holidays of ``country`` from ``today`` for ``days`` days (12 months)."""
    until = today + dt.timedelta(days=days)
    found = {}
    for year in range(today.year, until.year + 1):
        found.update(public_holidays(country, year))
    return sorted((day, name) for day, name in found.items() if today <= day < until)
