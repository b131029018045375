"""When a scheduled job runs (seed 000, PlayAuto 스케줄러): a pure function of its settings.

``next_runs(spec, after, calendar)`` walks the days from ``after``: a day counts when its
weekday is chosen and (with ``skip_holidays``) it is not a public holiday of the chosen
country nor one of the user's own closure days; on such a day the slots are ``start``,
``start + N h``, … while before ``end`` (start inclusive, end exclusive), or ``start`` alone
for once a day; a slot inside a blackout window is skipped, not moved. Everything is in the
app's time zone; nothing reads the clock — tests pass datetimes.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import holidays

from engine.errors import ValidationError
from engine.text import N_

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_BLACKOUTS = 3
HORIZON_DAYS = 400  # how far to look before saying "never"


def parse_time(value: str, field_name: str, allow_24: bool = False) -> dt.time | None:
    """"HH:MM" → time; "24:00" (end of day) → None when allowed."""
    text = (value or "").strip()
    if allow_24 and text == "24:00":
        return None
    try:
        hours, minutes = text.split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValidationError(N_("%(value)s is not a time like 09:00."), field_name,
                              value=value)


@dataclass(frozen=True)
class Schedule:
    """The timing part of a job, validated."""

    weekdays: tuple[int, ...]          # 0 = Monday
    start: dt.time
    end: dt.time | None                # None = 24:00
    every_hours: int | None            # None = once a day
    skip_holidays: bool = False
    holiday_country: str = "KR"
    blackouts: tuple[tuple[dt.time, dt.time | None], ...] = field(default_factory=tuple)

    @classmethod
    def from_values(cls, weekdays, start, end, every_hours=None, once_a_day=False,
                    skip_holidays=False, holiday_country="KR", blackouts=()) -> "Schedule":
        """Build from declared values (the form, the TOML file, the API) or raise."""
        if not weekdays or any(day not in WEEKDAYS for day in weekdays):
            raise ValidationError(N_("Choose at least one weekday (mon … sun)."), "weekdays")
        begin = parse_time(start, "start")
        finish = parse_time(end, "end", allow_24=True)
        if finish is not None and finish <= begin:
            raise ValidationError(N_("The end time must be after the start time."), "end")
        if once_a_day:
            every = None
        else:
            if not isinstance(every_hours, int) or isinstance(every_hours, bool) \
                    or not 1 <= every_hours <= 24:
                raise ValidationError(N_("Repeat every 1 to 24 hours, or once a day."),
                                      "every_hours")
            every = every_hours
        if holiday_country not in ("KR", "JP"):
            raise ValidationError(N_("The holiday calendar is KR or JP."), "holiday_country")
        windows = []
        if len(blackouts or ()) > MAX_BLACKOUTS:
            raise ValidationError(N_("At most %(n)d blackout windows."), "blackouts",
                                  n=MAX_BLACKOUTS)
        for pair in blackouts or ():
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValidationError(N_("A blackout window is [\"HH:MM\", \"HH:MM\"]."),
                                      "blackouts")
            b_start = parse_time(pair[0], "blackouts")
            b_end = parse_time(pair[1], "blackouts", allow_24=True)
            if b_end is not None and b_end <= b_start:
                raise ValidationError(N_("A blackout window must end after it starts."),
                                      "blackouts")
            if b_start < begin or (finish is not None and (b_end is None or b_end > finish)):
                raise ValidationError(N_("A blackout window must lie inside the start–end "
                                         "range."), "blackouts")
            windows.append((b_start, b_end))
        return cls(tuple(WEEKDAYS.index(d) for d in weekdays), begin, finish, every,
                   bool(skip_holidays), holiday_country, tuple(windows))

    def slots(self, day: dt.date, tz) -> list[dt.datetime]:
        """The run times of one day (before holidays are considered)."""
        start = dt.datetime.combine(day, self.start, tzinfo=tz)
        end = (dt.datetime.combine(day, self.end, tzinfo=tz) if self.end is not None
               else dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz))
        if self.every_hours is None:
            times = [start]
        else:
            times, slot = [], start
            while slot < end:
                times.append(slot)
                slot = slot + dt.timedelta(hours=self.every_hours)
        return [t for t in times if not self._blacked_out(t.timetz().replace(tzinfo=None))]

    def _blacked_out(self, clock: dt.time) -> bool:
        return any(b_start <= clock and (b_end is None or clock < b_end)
                   for b_start, b_end in self.blackouts)


@functools.lru_cache(maxsize=16)
def public_holidays(country: str, year: int) -> dict:
    """One year's public holidays (KR: lunar, substitute and election days; JP: 振替休日…)."""
    language = "ko" if country == "KR" else "ja"
    return dict(holidays.country_holidays(country, years=year, language=language))


class Calendar:
    """Public holidays of a country plus the user's own closure days and temporary holidays."""

    def __init__(self, closures: dict[dt.date, str] | None = None):
        self.closures = dict(closures or {})

    def is_holiday(self, day: dt.date, country: str) -> bool:
        return day in self.closures or day in public_holidays(country, day.year)

    def name(self, day: dt.date, country: str) -> str | None:
        return self.closures.get(day) or public_holidays(country, day.year).get(day)


def next_runs(spec: Schedule, after: dt.datetime, calendar: Calendar, count: int = 1,
              tz=None) -> list[dt.datetime]:
    """The next ``count`` run times strictly after ``after`` (aware), in ``after``'s zone."""
    tz = tz or after.tzinfo
    after = after.astimezone(tz)
    found: list[dt.datetime] = []
    day = after.date()
    for _ in range(HORIZON_DAYS):
        if day.weekday() in spec.weekdays and not (
                spec.skip_holidays and calendar.is_holiday(day, spec.holiday_country)):
            for slot in spec.slots(day, tz):
                if slot > after:
                    found.append(slot)
                    if len(found) == count:
                        return found
        day += dt.timedelta(days=1)
    return found


def next_run(spec: Schedule, after: dt.datetime, calendar: Calendar) -> dt.datetime | None:
    runs = next_runs(spec, after, calendar, 1)
    return runs[0] if runs else None
