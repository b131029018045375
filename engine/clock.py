"""Conversions between the store's naive UTC datetimes and the configured local zone.

Operations take ``now`` as an argument instead of reading the clock deep inside, so tests
pass fixed datetimes; this module only converts.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Seoul"


def zone(name: str | None = None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_ZONE)


def to_local(value: dt.datetime | None, tz: ZoneInfo) -> dt.datetime | None:
    """Naive UTC from the store → aware local time."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).astimezone(tz)


def to_utc(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Naive local (as typed by a user) or aware → naive UTC for the store."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def local_day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The naive-UTC [start, end) of a local calendar day."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = start + dt.timedelta(days=1)
    return to_utc(start, tz), to_utc(end, tz)


def iso(value: dt.datetime | None, tz: ZoneInfo) -> str | None:
    local = to_local(value, tz)
    return local.isoformat() if local else None
