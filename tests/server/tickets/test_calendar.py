"""Business-hours calendar arithmetic (server.tickets.policies.calendar).

Expected instants are worked out by hand and written in UTC with the local reading alongside,
so a mistake in zone handling cannot cancel itself out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.tickets.policies.calendar import (
    END_OF_DAY,
    HORIZON,
    BusinessCalendar,
    add_business_time,
    business_time_between,
    is_open,
)

LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = (*WEEKDAYS, "sat", "sun")

H = timedelta(hours=1)
M = timedelta(minutes=1)
US = timedelta(microseconds=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def office(tz: str, holidays: tuple[date, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar.from_config(tz, {d: [["09:00", "17:00"]] for d in WEEKDAYS}, holidays)


# UK bank holidays: Good Friday, Easter Monday, Christmas (Fri), Boxing Day substitute (Mon).
UK_HOLIDAYS = (date(2026, 4, 3), date(2026, 4, 6), date(2026, 12, 25), date(2026, 12, 28))


# --- Mon-Fri 09:00-17:00, Europe/London (GMT = UTC in January) -------------------------------


def test_created_inside_hours() -> None:
    cal = office("Europe/London")
    # Tue 2026-01-06 10:30 + 4h -> 14:30 the same day.
    assert add_business_time(cal, utc(2026, 1, 6, 10, 30), 4 * H) == utc(2026, 1, 6, 14, 30)
    # + 8h: 6.5h on Tuesday, 1.5h on Wednesday from 09:00.
    assert add_business_time(cal, utc(2026, 1, 6, 10, 30), 8 * H) == utc(2026, 1, 7, 10, 30)


def test_created_before_opening_counts_from_opening() -> None:
    cal = office("Europe/London")
    assert add_business_time(cal, utc(2026, 1, 6, 7, 15), 2 * H) == utc(2026, 1, 6, 11, 0)


def test_created_after_closing_rolls_to_next_day() -> None:
    cal = office("Europe/London")
    assert add_business_time(cal, utc(2026, 1, 6, 18, 0), 2 * H) == utc(2026, 1, 7, 11, 0)


def test_friday_evening_crosses_weekend() -> None:
    cal = office("Europe/London")
    # Fri 2026-01-09 16:00 + 4h: 1h on Friday, 3h on Monday 2026-01-12.
    assert add_business_time(cal, utc(2026, 1, 9, 16, 0), 4 * H) == utc(2026, 1, 12, 12, 0)
    # Created after Friday closing: counting starts Monday 09:00.
    assert add_business_time(cal, utc(2026, 1, 9, 19, 0), 1 * H) == utc(2026, 1, 12, 10, 0)
    assert business_time_between(cal, utc(2026, 1, 9, 16, 0), utc(2026, 1, 12, 12, 0)) == 4 * H


def test_created_on_holiday_starts_next_working_day() -> None:
    cal = office("Europe/London", UK_HOLIDAYS)
    # Christmas Fri 2026-12-25 is a holiday, the weekend is closed and Mon 12-28 is the
    # Boxing Day substitute, so work starts Tue 2026-12-29 09:00.
    assert add_business_time(cal, utc(2026, 12, 25, 11, 0), 2 * H) == utc(2026, 12, 29, 11, 0)


def test_holiday_on_following_monday() -> None:
    cal = office("Europe/London", UK_HOLIDAYS)
    # Easter 2026, BST (UTC+1): Thu 04-02 16:30 local + 1h -> 30 min Thursday, then Good
    # Friday, weekend and Easter Monday are closed -> Tue 04-07 09:30 BST = 08:30 UTC.
    start = datetime(2026, 4, 2, 16, 30, tzinfo=LONDON)
    assert start == utc(2026, 4, 2, 15, 30)
    assert add_business_time(cal, start, 1 * H) == utc(2026, 4, 7, 8, 30)
    assert business_time_between(cal, start, utc(2026, 4, 7, 8, 30)) == 1 * H


def test_lunch_break_splits_the_day() -> None:
    # Asia/Shanghai is UTC+8 all year.
    cal = BusinessCalendar.from_config(
        "Asia/Shanghai", {d: [["13:00", "18:00"], ["09:00", "12:00"]] for d in WEEKDAYS}, []
    )
    assert cal.hours[0] == ((time(9), time(12)), (time(13), time(18)))  # sorted on load
    # Mon 2026-01-05 11:00 CST (03:00 UTC) + 2h: 1h to 12:00, lunch, 13:00 + 1h = 14:00 CST.
    assert add_business_time(cal, utc(2026, 1, 5, 3, 0), 2 * H) == utc(2026, 1, 5, 6, 0)
    # Created during lunch (12:30 CST) + 30 min -> 13:30 CST.
    assert add_business_time(cal, utc(2026, 1, 5, 4, 30), 30 * M) == utc(2026, 1, 5, 5, 30)
    # Exactly reaching the lunch break stays at 12:00 rather than jumping to 13:00.
    assert add_business_time(cal, utc(2026, 1, 5, 3, 0), 1 * H) == utc(2026, 1, 5, 4, 0)
    assert not is_open(cal, utc(2026, 1, 5, 4, 0))
    assert is_open(cal, utc(2026, 1, 5, 5, 0))
    # A whole day is 8h.
    assert business_time_between(cal, utc(2026, 1, 4, 16, 0), utc(2026, 1, 5, 16, 0)) == 8 * H


def test_several_business_days() -> None:
    cal = office("Europe/London")
    # 5 business days (40h) from Mon 2026-01-05 10:00 -> Mon 2026-01-12 10:00.
    assert add_business_time(cal, utc(2026, 1, 5, 10, 0), 40 * H) == utc(2026, 1, 12, 10, 0)
    # 30 business days (240h) = 6 weeks -> Mon 2026-02-16 10:00.
    assert add_business_time(cal, utc(2026, 1, 5, 10, 0), 240 * H) == utc(2026, 2, 16, 10, 0)
    # Across the switch to BST (Sun 2026-03-29, closed): Mon 03-23 10:00 GMT + 40h
    # -> Mon 03-30 10:00 BST = 09:00 UTC.
    assert add_business_time(cal, utc(2026, 3, 23, 10, 0), 40 * H) == utc(2026, 3, 30, 9, 0)


def test_delta_zero_rolls_forward_to_open_instant() -> None:
    cal = office("Europe/London")
    inside = datetime(2026, 1, 6, 12, 0, 7, 123, tzinfo=SHANGHAI)  # 04:00:07 UTC, closed
    assert add_business_time(cal, inside, timedelta(0)) == utc(2026, 1, 6, 9, 0)
    assert add_business_time(cal, utc(2026, 1, 6, 10, 0), timedelta(0)) == utc(2026, 1, 6, 10)
    assert add_business_time(cal, utc(2026, 1, 6, 9, 0), timedelta(0)) == utc(2026, 1, 6, 9)
    # Closing time is not open (intervals are half-open).
    assert add_business_time(cal, utc(2026, 1, 6, 17, 0), timedelta(0)) == utc(2026, 1, 7, 9)
    assert add_business_time(cal, utc(2026, 1, 10, 12, 0), timedelta(0)) == utc(2026, 1, 12, 9)


def test_result_is_utc_and_input_zone_does_not_matter() -> None:
    cal = office("Europe/London")
    start_ny = datetime(2026, 1, 6, 5, 30, tzinfo=NEW_YORK)  # 10:30 UTC
    result = add_business_time(cal, start_ny, 4 * H)
    assert result.tzinfo is UTC
    assert result == utc(2026, 1, 6, 14, 30)


def test_is_open_boundaries() -> None:
    cal = office("Europe/London")
    assert is_open(cal, utc(2026, 1, 6, 9, 0))
    assert is_open(cal, utc(2026, 1, 6, 16, 59, 59, 999999))
    assert not is_open(cal, utc(2026, 1, 6, 17, 0))
    assert not is_open(cal, utc(2026, 1, 6, 8, 59, 59, 999999))
    assert not is_open(cal, utc(2026, 1, 10, 12, 0))  # Saturday


def test_business_time_between_basics() -> None:
    cal = office("Europe/London")
    assert business_time_between(cal, utc(2026, 1, 6, 12), utc(2026, 1, 6, 10)) == timedelta(0)
    assert business_time_between(cal, utc(2026, 1, 6, 12), utc(2026, 1, 6, 12)) == timedelta(0)
    # Mon 12:00 to next Mon 12:00 = 5 * 8h.
    assert business_time_between(cal, utc(2026, 1, 5, 12), utc(2026, 1, 12, 12)) == 40 * H


def test_always_open_is_plain_elapsed_time() -> None:
    cal = BusinessCalendar.always_open()
    start = datetime(2026, 3, 28, 23, 30, tzinfo=BERLIN)
    assert add_business_time(cal, start, 26 * H) == utc(2026, 3, 30, 0, 30)
    # Aware arithmetic within one tzinfo is wall-clock, so step from the UTC instant.
    twenty_days_later = start.astimezone(UTC) + timedelta(days=20)
    assert business_time_between(cal, start, twenty_days_later) == timedelta(days=20)
    assert is_open(cal, utc(2026, 12, 31, 23, 59))


# --- DST --------------------------------------------------------------------------------------


def night_shift(tz: str) -> BusinessCalendar:
    # 22:00-06:00 every night, written as two intervals that meet at midnight.
    return BusinessCalendar.from_config(
        tz, {d: [["00:00", "06:00"], ["22:00", "24:00"]] for d in ALL_DAYS}, []
    )


def test_berlin_spring_forward_night_shift_is_an_hour_shorter() -> None:
    cal = night_shift("Europe/Berlin")
    start = datetime(2026, 3, 28, 22, 0, tzinfo=BERLIN)  # Sat 22:00 CET = 21:00 UTC
    assert start == utc(2026, 3, 28, 21, 0)
    # The night ends Sun 06:00 CEST = 04:00 UTC: only 7h real time.
    assert business_time_between(cal, start, utc(2026, 3, 29, 12, 0)) == 7 * H
    # 8h therefore needs 1h of the next night: Sun 22:00 CEST (20:00 UTC) + 1h.
    result = add_business_time(cal, start, 8 * H)
    assert result == utc(2026, 3, 29, 21, 0)
    naive_wall_clock = datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)  # 22:00 + 8h on the wall
    assert naive_wall_clock == utc(2026, 3, 29, 4, 0)
    assert result != naive_wall_clock
    assert is_open(cal, utc(2026, 3, 29, 0, 59))  # 01:59 CET
    assert is_open(cal, utc(2026, 3, 29, 1, 0))  # 03:00 CEST


def test_berlin_fall_back_night_shift_is_an_hour_longer() -> None:
    cal = night_shift("Europe/Berlin")
    start = datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN)  # Sat 22:00 CEST = 20:00 UTC
    assert start == utc(2026, 10, 24, 20, 0)
    # Night ends Sun 06:00 CET = 05:00 UTC: 9h real time.
    assert business_time_between(cal, start, utc(2026, 10, 25, 12, 0)) == 9 * H
    result = add_business_time(cal, start, 8 * H)
    assert result == utc(2026, 10, 25, 4, 0)  # 05:00 CET
    naive_wall_clock = datetime(2026, 10, 25, 6, 0, tzinfo=BERLIN)
    assert naive_wall_clock == utc(2026, 10, 25, 5, 0)
    assert result != naive_wall_clock


def test_berlin_opening_inside_the_gap_opens_at_transition() -> None:
    cal = BusinessCalendar.from_config(
        "Europe/Berlin", {d: [["02:30", "05:00"]] for d in ALL_DAYS}, []
    )
    # 2026-03-29: 02:30 does not exist; the shop opens at 03:00 CEST = 01:00 UTC.
    assert add_business_time(cal, utc(2026, 3, 29, 0, 0), timedelta(0)) == utc(2026, 3, 29, 1, 0)
    assert not is_open(cal, utc(2026, 3, 29, 1, 0) - US)
    assert is_open(cal, utc(2026, 3, 29, 1, 0))
    assert add_business_time(cal, utc(2026, 3, 29, 0, 0), 1 * H) == utc(2026, 3, 29, 2, 0)
    # 03:00-05:00 CEST = 2h that day, against 2.5h (01:30-04:00 UTC) the day before.
    sunday = business_time_between(cal, utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 23, 0))
    assert sunday == 2 * H
    saturday = business_time_between(cal, utc(2026, 3, 27, 23, 0), utc(2026, 3, 28, 23, 0))
    assert saturday == 2 * H + 30 * M


def test_berlin_interval_entirely_in_gap_is_closed() -> None:
    cal = BusinessCalendar.from_config("Europe/Berlin", {"sun": [["02:00", "02:45"]]}, [])
    # Sun 2026-03-29 02:00-02:45 never happens; the next opening is Sun 04-05 02:00 CEST.
    assert business_time_between(cal, utc(2026, 3, 28), utc(2026, 3, 30)) == timedelta(0)
    assert add_business_time(cal, utc(2026, 3, 28, 12), timedelta(0)) == utc(2026, 4, 5, 0, 0)
    assert add_business_time(cal, utc(2026, 3, 28, 12), 45 * M) == utc(2026, 4, 5, 0, 45)


def test_berlin_interval_across_fall_back() -> None:
    cal = BusinessCalendar.from_config("Europe/Berlin", {"sun": [["01:00", "04:00"]]}, [])
    # Sun 2026-10-25 01:00 CEST (23:00 UTC Sat) .. 04:00 CET (03:00 UTC) = 4h real time.
    assert business_time_between(cal, utc(2026, 10, 24), utc(2026, 10, 26)) == 4 * H
    # 3h in: 02:00 UTC = 03:00 CET, while wall-clock arithmetic would say 04:00 (03:00 UTC).
    assert add_business_time(cal, utc(2026, 10, 24, 12), 3 * H) == utc(2026, 10, 25, 2, 0)
    assert add_business_time(cal, utc(2026, 10, 24, 12), 4 * H) == utc(2026, 10, 25, 3, 0)


def test_fall_back_across_midnight() -> None:
    # Antarctica/Casey, 2010-03-05 02:00 +11 (15:00 UTC) fell back to 2010-03-04 23:00 +08:
    # instants whose local date is 03-04 then belong to the 03-05 interval.
    cal = BusinessCalendar.from_config(
        "Antarctica/Casey", {d: [["00:00", "03:00"]] for d in ALL_DAYS}, []
    )
    # 03-05 opens at its first 00:00 (+11) = 13:00 UTC and closes at 03:00 +08 = 19:00 UTC.
    late_evening = utc(2010, 3, 4, 15, 30)
    assert late_evening.astimezone(cal.tz).date() == date(2010, 3, 4)
    assert is_open(cal, late_evening)
    assert business_time_between(cal, utc(2010, 3, 4, 12), late_evening) == 2 * H + 30 * M
    assert business_time_between(cal, utc(2010, 3, 4, 12), utc(2010, 3, 5)) == 6 * H


def test_new_york_spring_forward() -> None:
    cal = BusinessCalendar.from_config(
        "America/New_York", {d: [["00:00", "06:00"]] for d in ALL_DAYS}, []
    )
    # Sun 2026-03-08 00:00 EST (05:00 UTC) .. 06:00 EDT (10:00 UTC) is only 5h.
    start = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)
    assert start == utc(2026, 3, 8, 5, 0)
    # 6h: 5h on Sunday, then Mon 00:00 EDT (04:00 UTC) + 1h.
    assert add_business_time(cal, start, 6 * H) == utc(2026, 3, 9, 5, 0)
    assert business_time_between(cal, start, utc(2026, 3, 9, 5, 0)) == 6 * H


def test_new_york_office_across_spring_forward_weekend() -> None:
    cal = office("America/New_York")
    # Fri 2026-03-06 16:00 EST (21:00 UTC) + 2h -> Mon 03-09 10:00 EDT = 14:00 UTC.
    assert add_business_time(cal, utc(2026, 3, 6, 21, 0), 2 * H) == utc(2026, 3, 9, 14, 0)


# --- Pause / resume ---------------------------------------------------------------------------


def test_pause_extends_deadline_by_business_time_on_hold() -> None:
    cal = office("Europe/London")
    created = utc(2026, 1, 7, 10, 0)  # Wed
    sla = 16 * H
    # Wed 7h + Thu 8h + Fri 1h -> Fri 2026-01-09 10:00.
    deadline = add_business_time(cal, created, sla)
    assert deadline == utc(2026, 1, 9, 10, 0)
    # On hold from Thu 15:00 over Thursday night, Friday, the weekend, to Mon 11:00.
    paused, resumed = utc(2026, 1, 8, 15, 0), utc(2026, 1, 12, 11, 0)
    on_hold = business_time_between(cal, paused, resumed)
    assert on_hold == 12 * H  # Thu 2h + Fri 8h + Mon 2h
    # 3h were left when paused (Thu 2h + Fri 1h): resumed Mon 11:00 + 3h = Mon 14:00.
    extended = add_business_time(cal, deadline, on_hold)
    assert extended == utc(2026, 1, 12, 14, 0)
    assert add_business_time(cal, created, sla + on_hold) == extended


# --- Validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"funday": [["09:00", "17:00"]]}, "unknown day name 'funday'"),
        ({"mon": [["9am", "17:00"]]}, r"mon: bad time '9am'; expected HH:MM"),
        ({"mon": [["09:00", "25:00"]]}, "hours 00-23"),
        ({"mon": [["09:60", "17:00"]]}, "minutes 00-59"),
        ({"mon": [["24:00", "24:00"]]}, "24:00 is only allowed as an interval end"),
        ({"mon": [["17:00", "09:00"]]}, "17:00-09:00 must end after it starts"),
        ({"mon": [["09:00", "09:00"]]}, "must end after it starts"),
        ({"mon": [["22:00", "00:00"]]}, "use 24:00 for midnight"),
        ({"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}, "08:00-12:00 and 11:00-13:00 overlap"),
        ({"mon": [["09:00"]]}, r"\[start, end\] pair"),
        ({"mon": "09:00-17:00"}, "list of"),
        ({"mon": [], "Monday": []}, "more than once"),
    ],
)
def test_bad_config_raises_value_error(hours: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_config("Europe/London", hours, [])  # type: ignore[arg-type]


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "Europe", "/etc/localtime", "../x"])
def test_unknown_time_zone(tz: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        BusinessCalendar.from_config(tz, {"mon": [["09:00", "17:00"]]}, [])


def test_config_accepts_24_00_and_full_day_names() -> None:
    cal = BusinessCalendar.from_config("UTC", {"Saturday": [["20:00", "24:00"]], "sun": []}, [])
    assert cal.hours == {5: ((time(20), END_OF_DAY),)}
    # Sat 2026-01-03 21:00 + 3h ends exactly at midnight; + 4h needs 1h of the next Saturday.
    assert add_business_time(cal, utc(2026, 1, 3, 21), 3 * H) == utc(2026, 1, 4, 0)
    assert add_business_time(cal, utc(2026, 1, 3, 21), 4 * H) == utc(2026, 1, 10, 21)


def test_holiday_must_be_a_date() -> None:
    with pytest.raises(ValueError, match=r"datetime\.date"):
        BusinessCalendar.from_config("UTC", {"mon": [["09:00", "17:00"]]}, [utc(2026, 1, 5)])


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError, match="overlap"):
        BusinessCalendar(
            ZoneInfo("UTC"), {0: ((time(9), time(12)), (time(11), time(13)))}, frozenset()
        )
    with pytest.raises(ValueError, match="weekday keys"):
        BusinessCalendar(ZoneInfo("UTC"), {7: ((time(9), time(12)),)}, frozenset())


def test_naive_datetimes_rejected() -> None:
    cal = office("Europe/London")
    naive = datetime(2026, 1, 6, 10, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(cal, naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(cal, naive, utc(2026, 1, 7))
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(cal, utc(2026, 1, 5), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(cal, naive)


def test_negative_delta_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(office("UTC"), utc(2026, 1, 6), -H)


def test_calendar_without_open_hours() -> None:
    cal = BusinessCalendar.from_config("Europe/London", {"sat": [], "sun": []}, [])
    with pytest.raises(ValueError, match="no open hours"):
        add_business_time(cal, utc(2026, 1, 6), H)
    assert business_time_between(cal, utc(2026, 1, 1), utc(2026, 2, 1)) == timedelta(0)
    assert not is_open(cal, utc(2026, 1, 6, 12))


def test_deadline_past_five_year_horizon_is_refused_quickly() -> None:
    # One open minute a week: a one-year target would lie ~10,000 years ahead (and used to
    # spin for seconds, then overflow the date range).
    cal = BusinessCalendar.from_config("Europe/London", {"mon": [["09:00", "09:01"]]}, [])
    with pytest.raises(ValueError, match="5-year horizon"):
        add_business_time(cal, utc(2026, 1, 6), timedelta(days=365))
    # About 260 open minutes fit in five years.
    assert add_business_time(cal, utc(2026, 1, 6), 100 * M) == utc(2027, 12, 6, 9, 1)


def test_horizon_boundary_with_always_open_calendar() -> None:
    cal = BusinessCalendar.always_open()
    start = utc(2026, 1, 6, 12)
    assert add_business_time(cal, start, HORIZON) == start + HORIZON
    with pytest.raises(ValueError, match="5-year horizon"):
        add_business_time(cal, start, HORIZON + US)


def test_holidays_covering_every_open_day_hit_the_horizon() -> None:
    start = date(2026, 1, 5)  # a Monday
    mondays = [start + timedelta(weeks=n) for n in range(300)]  # to ~2031-09
    cal = BusinessCalendar.from_config("UTC", {"mon": [["09:00", "17:00"]]}, mondays)
    with pytest.raises(ValueError, match="5-year horizon"):
        add_business_time(cal, utc(2026, 1, 5), M)


# --- Properties -------------------------------------------------------------------------------

# Includes a 30-minute DST shift (Lord Howe) and DST changes at midnight (Santiago).
ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Shanghai",
    "Australia/Lord_Howe",
    "America/Santiago",
)
FIXED_ZONES = ("UTC", "Asia/Shanghai")
QUARTER = timedelta(minutes=15)
YEAR_START = utc(2026, 1, 1)


def grid_time(slot: int) -> time:
    return END_OF_DAY if slot == 96 else time(slot // 4, slot % 4 * 15)


@st.composite
def calendars(draw: st.DrawFn, zones: tuple[str, ...] = ZONES) -> BusinessCalendar:
    hours: dict[int, tuple[tuple[time, time], ...]] = {}
    for day in range(7):
        slots = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
        hours[day] = tuple(
            (grid_time(a), grid_time(b)) for a, b in zip(slots[::2], slots[1::2], strict=False)
        )
    if not any(hours.values()):
        hours[draw(st.integers(0, 6))] = ((time(9), time(17)),)
    holidays = draw(st.frozensets(st.dates(date(2025, 12, 25), date(2027, 6, 30)), max_size=30))
    return BusinessCalendar(ZoneInfo(draw(st.sampled_from(zones))), hours, holidays)


# Quarter-hour grid values hit interval boundaries; microsecond values hit everything else.
instants = st.one_of(
    st.integers(0, 365 * 96 - 1).map(lambda n: YEAR_START + n * QUARTER),
    st.integers(0, 365 * 86_400 * 10**6 - 1).map(lambda n: YEAR_START + n * US),
).flatmap(lambda at: st.sampled_from(ZONES).map(lambda tz: at.astimezone(ZoneInfo(tz))))
deltas = st.one_of(
    st.just(timedelta(0)),
    st.integers(0, 20 * 96).map(lambda n: n * QUARTER),
    st.integers(0, 20 * 86_400 * 10**6).map(lambda n: n * US),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cal=calendars(), start=instants, delta=deltas, other=deltas)
@example(  # open 15 minutes a week: 2 d 17.5 h of business time is beyond five years
    cal=BusinessCalendar(ZoneInfo("UTC"), {6: ((time(0), time(0, 15)),)}, frozenset()),
    start=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
    delta=timedelta(0),
    other=timedelta(days=2, hours=17, minutes=30),
)
def test_inverse_property(
    cal: BusinessCalendar, start: datetime, delta: timedelta, other: timedelta
) -> None:
    result = _deadline(cal, start, delta)
    if result is None:
        return
    assert result.tzinfo is UTC
    assert result >= start
    assert business_time_between(cal, start, result) == delta
    if delta:
        # Either still open or exactly at a closing time: the instant before was open.
        assert is_open(cal, result) or is_open(cal, result - US)
    else:
        assert is_open(cal, result)
        assert (result == start) == is_open(cal, start)
    low, high = sorted((delta, other))
    later = _deadline(cal, start, high)
    if later is not None:
        assert add_business_time(cal, start, low) <= later


def _deadline(cal: BusinessCalendar, start: datetime, delta: timedelta) -> datetime | None:
    """``add_business_time``, or None when the calendar cannot fit ``delta`` in the
    five-year horizon (one open a quarter of an hour a week, say), which is then checked."""
    try:
        return add_business_time(cal, start, delta)
    except ValueError:
        assert business_time_between(cal, start, start + HORIZON) < delta
        return None


def wall_clock_open(cal: BusinessCalendar, at: datetime) -> bool:
    local = at.astimezone(cal.tz)
    if local.date() in cal.holidays:
        return False
    now = local.time()
    return any(
        start <= now and (end == END_OF_DAY or now < end)
        for start, end in cal.hours.get(local.weekday(), ())
    )


@settings(max_examples=100, deadline=None)
@given(
    cal=calendars(FIXED_ZONES),
    first=st.integers(0, 365 * 96 - 1),
    length=st.integers(0, 7 * 96),
)
def test_between_matches_brute_force_without_dst(
    cal: BusinessCalendar, first: int, length: int
) -> None:
    # Without DST, wall-clock sampling on the quarter-hour grid is an independent oracle.
    start = YEAR_START + first * QUARTER
    samples = [start + k * QUARTER for k in range(length)]
    expected = QUARTER * sum(wall_clock_open(cal, at) for at in samples)
    assert business_time_between(cal, start, start + length * QUARTER) == expected
    assert all(is_open(cal, at) == wall_clock_open(cal, at) for at in samples)
