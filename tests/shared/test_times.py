"""The instant rule (shared/times.py): an offset, and a UTC value from 1970 up to 2200.
Whatever a caller sends, the checks answer with the value or an InstantError, never with
another exception (an OverflowError here was a 500 there)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shared import times
from shared.times import InstantError, check_day, check_instant, parse_instant

OFFSETS = st.builds(
    dt.timezone,
    st.timedeltas(
        min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
    ),
)
ANY_AWARE = st.datetimes(timezones=OFFSETS)


@given(ANY_AWARE)
@example(dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14))))
@example(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(-dt.timedelta(hours=14))))
@example(dt.datetime(1, 1, 1, tzinfo=dt.UTC))
@example(dt.datetime.max.replace(tzinfo=dt.UTC))
def test_an_aware_time_is_kept_exactly_when_its_utc_value_is_in_the_bounds(
    value: dt.datetime,
) -> None:
    try:
        utc = value.astimezone(dt.UTC)
        inside = times.EARLIEST <= utc < times.LATEST
    except OverflowError:
        inside = False
    if inside:
        assert check_instant(value) is value
        # Within the bounds, a day either way and any zone stay on the calendar.
        for shift in (dt.timedelta(days=1), -dt.timedelta(days=1)):
            (value + shift).astimezone(dt.timezone(dt.timedelta(hours=14)))
            (value + shift).astimezone(dt.timezone(-dt.timedelta(hours=14)))
    else:
        with pytest.raises(InstantError) as refused:
            check_instant(value)
        assert refused.value.kind == "range" and "1970" in refused.value.message


@given(st.datetimes())
def test_a_time_without_an_offset_is_refused_saying_so(value: dt.datetime) -> None:
    with pytest.raises(InstantError) as refused:
        check_instant(value)
    assert refused.value.kind == "naive" and "offset" in refused.value.message


@given(st.text(max_size=40))
@example("9999-12-31T23:59:59-23:59")
@example("0001-01-01T00:00:00+23:59")
@example("2026-11-24")
@example("2026-11-24T09:00:00\x00")
def test_any_text_is_an_instant_or_an_instant_error(text: str) -> None:
    try:
        value = parse_instant(text)
    except InstantError as refused:
        assert refused.kind in ("format", "naive", "range")
    else:
        assert times.EARLIEST <= value.astimezone(dt.UTC) < times.LATEST


@given(
    st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2199, 12, 30)), OFFSETS
)
def test_an_instant_round_trips_through_its_iso_text(local: dt.datetime, zone: dt.tzinfo) -> None:
    value = local.replace(tzinfo=zone)
    assert parse_instant(value.isoformat()) == value


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("1970-01-01T00:00:00Z", None),
        ("1970-01-01T08:00:00+08:00", None),  # the same instant
        ("2199-12-31T23:59:59.999999Z", None),
        ("2200-01-01T13:59:59+14:00", None),  # 2199 in UTC
        ("1969-12-31T23:59:59.999999Z", "range"),
        ("1970-01-01T00:00:00+00:01", "range"),
        ("2200-01-01T00:00:00Z", "range"),
        ("2199-12-31T23:00:00-01:00", "range"),
        ("0001-01-01T00:00:00Z", "range"),  # stored as -infinity by the driver
        ("9999-12-31T23:59:59.999999Z", "range"),  # ... and as infinity
        ("2026-11-24T09:00:00", "naive"),
        ("yesterday", "format"),
    ],
)
def test_the_edges(text: str, kind: str | None) -> None:
    if kind is None:
        assert parse_instant(text) == dt.datetime.fromisoformat(text)
    else:
        with pytest.raises(InstantError) as refused:
            parse_instant(text)
        assert refused.value.kind == kind


@given(st.dates())
def test_a_day_is_within_the_instants_years(day: dt.date) -> None:
    inside = times.EARLIEST_DAY <= day <= times.LATEST_DAY
    if inside:
        assert check_day(day) is day
        # Its start and end anywhere on Earth are instants the calendar can hold.
        for hours in (-14, 14):
            zone = dt.timezone(dt.timedelta(hours=hours))
            start = dt.datetime.combine(day, dt.time(), zone)
            (start + dt.timedelta(days=1)).astimezone(dt.UTC)
            (start - dt.timedelta(days=1)).astimezone(dt.UTC)
    else:
        with pytest.raises(InstantError):
            check_day(day)


def test_a_datetime_is_not_a_day() -> None:
    with pytest.raises(InstantError):
        check_day(dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
