"""Next-run computation (seed 000): weekdays, windows, every N hours, once a day, holidays,
blackouts, month and year ends — pure functions of fixed clocks."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from engine.errors import ValidationError
from engine.schedules import Calendar, Schedule, next_run, next_runs

SEOUL = ZoneInfo("Asia/Seoul")
TOKYO = ZoneInfo("Asia/Tokyo")
WORKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def at(*args, tz=SEOUL):
    return dt.datetime(*args, tzinfo=tz)


def schedule(**values):
    values.setdefault("weekdays", WORKDAYS)
    values.setdefault("start", "09:00")
    values.setdefault("end", "18:00")
    values.setdefault("every_hours", 3)
    return Schedule.from_values(**values)


def test_every_three_hours_from_the_start_time_end_exclusive():
    runs = next_runs(schedule(), at(2026, 11, 24, 8, 0), Calendar(), 4)
    assert [r.strftime("%a %H:%M") for r in runs] == ["Tue 09:00", "Tue 12:00", "Tue 15:00",
                                                      "Wed 09:00"]


def test_a_slot_exactly_at_end_is_not_run_and_now_is_strictly_after():
    spec = schedule(start="09:00", end="15:00", every_hours=3)
    assert next_run(spec, at(2026, 11, 24, 12, 0), Calendar()) == at(2026, 11, 25, 9, 0)


def test_once_a_day_and_weekdays_skip_the_weekend():
    spec = schedule(once_a_day=True, every_hours=None, start="05:00", end="06:00")
    friday_evening = at(2026, 11, 27, 20, 0)
    assert next_run(spec, friday_evening, Calendar()) == at(2026, 11, 30, 5, 0)  # Monday


def test_korean_holidays_with_substitute_days_are_skipped():
    spec = schedule(once_a_day=True, every_hours=None, skip_holidays=True)
    # 2026-10-03 개천절 is a Saturday → substitute holiday Monday 10-05
    assert next_run(spec, at(2026, 10, 2, 10, 0), Calendar()) == at(2026, 10, 6, 9, 0)
    # Chuseok 9/24–26 (Thu–Sat)
    assert next_run(spec, at(2026, 9, 23, 10, 0), Calendar()) == at(2026, 9, 28, 9, 0)


def test_holidays_apply_only_when_asked():
    spec = schedule(once_a_day=True, every_hours=None)
    assert next_run(spec, at(2026, 10, 2, 10, 0), Calendar()) == at(2026, 10, 5, 9, 0)


def test_japanese_calendar_and_zone():
    spec = schedule(once_a_day=True, every_hours=None, skip_holidays=True,
                    holiday_country="JP", weekdays=["tue"])
    # 2026-09-22 is 国民の休日 (a Tuesday): the next Tuesday instead
    assert next_run(spec, at(2026, 9, 21, 10, 0, tz=TOKYO), Calendar()) == \
        at(2026, 9, 29, 9, 0, tz=TOKYO)


def test_user_closures_and_temporary_holidays():
    spec = schedule(once_a_day=True, every_hours=None, skip_holidays=True)
    calendar = Calendar({dt.date(2026, 11, 25): "창립기념일"})
    assert next_run(spec, at(2026, 11, 24, 10, 0), calendar) == at(2026, 11, 26, 9, 0)
    assert calendar.name(dt.date(2026, 11, 25), "KR") == "창립기념일"


def test_blackout_slots_are_skipped_not_moved():
    spec = schedule(start="09:00", end="18:00", every_hours=1,
                    blackouts=[["12:00", "13:30"], ["16:00", "17:00"]])
    runs = next_runs(spec, at(2026, 11, 24, 8, 0), Calendar(), 7)
    assert [r.strftime("%H:%M") for r in runs] == ["09:00", "10:00", "11:00", "14:00",
                                                   "15:00", "17:00", "09:00"]


def test_month_and_year_end():
    spec = schedule(weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start="22:00",
                    end="24:00", every_hours=1)
    runs = next_runs(spec, at(2026, 12, 31, 22, 30), Calendar(), 2)
    assert runs == [at(2026, 12, 31, 23, 0), at(2027, 1, 1, 22, 0)]  # 1/1 is no holiday skip
    spec = schedule(weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    once_a_day=True, every_hours=None, skip_holidays=True)
    assert next_run(spec, at(2026, 12, 31, 10, 0), Calendar()) == at(2027, 1, 2, 9, 0)


def test_after_in_another_zone_is_converted():
    spec = schedule(once_a_day=True, every_hours=None)
    utc_evening = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone.utc)  # 10:00 in Seoul
    assert next_run(spec, utc_evening, Calendar(), ) is not None
    assert next_runs(spec, utc_evening, Calendar(), 1, tz=SEOUL)[0] == at(2026, 11, 25, 9, 0)


@pytest.mark.parametrize("values, field", [
    ({"weekdays": []}, "weekdays"),
    ({"weekdays": ["monday"]}, "weekdays"),
    ({"start": "9시"}, "start"),
    ({"start": "18:00", "end": "09:00"}, "end"),
    ({"every_hours": 0}, "every_hours"),
    ({"every_hours": "3"}, "every_hours"),
    ({"holiday_country": "US"}, "holiday_country"),
    ({"blackouts": [["10:00", "11:00"]] * 4}, "blackouts"),
    ({"blackouts": [["07:00", "10:00"]]}, "blackouts"),
    ({"blackouts": [["11:00", "10:00"]]}, "blackouts"),
])
def test_bad_settings_name_the_field(values, field):
    with pytest.raises(ValidationError) as err:
        schedule(**values)
    assert err.value.field == field
