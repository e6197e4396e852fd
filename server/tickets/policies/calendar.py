"""Business-hours calendar arithmetic for SLA deadlines.

Semantics
---------
* A calendar lists, per weekday (0=Monday .. 6=Sunday), half-open intervals ``[open, close)``
  in local wall-clock time of ``tz``.  As an interval *end*, ``time(0)`` (``END_OF_DAY``, written
  ``"24:00"`` in config) means the following midnight.  An interval belongs to the local date
  it opens on, so a holiday closes exactly the intervals listed for that date.
* Business time is **real elapsed time** (a difference of UTC instants) spent inside open
  intervals, not a difference of wall-clock readings.  Consequently an interval that spans a
  spring-forward gap is an hour shorter and one spanning a fall-back is an hour longer.
* Local -> UTC conversion is done per date with ``fold=0``: an ambiguous wall time (fall-back)
  means its first occurrence.  A wall time that does not exist (spring-forward gap) maps to the
  transition instant, i.e. the first local time after the gap: an opening at 02:30 on the
  Europe/Berlin spring-forward day opens at 03:00 local.  An interval lying entirely inside
  the gap therefore has no duration at all.
* ``add_business_time`` with ``delta > 0`` returns the instant at which the last bit of
  ``delta`` is consumed, which may be exactly a closing time (a deadline "Friday 17:00" stays
  Friday 17:00 rather than becoming Monday's opening).  With ``delta == 0`` it returns the first
  open instant at or after ``start``.
* A deadline more than five years (``HORIZON``) after ``start`` is refused with ``ValueError``:
  such a calendar/target pair is a configuration mistake, and searching further would only
  burn CPU until the datetime range overflows.
* ``business_time_between(cal, s, add_business_time(cal, s, d)) == d`` for every ``d >= 0``.
* All results are aware datetimes in UTC; inputs may be aware datetimes in any zone.  Naive
  datetimes are rejected because their meaning would depend on the server's clock settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.text import quote

__all__ = [
    "END_OF_DAY",
    "HORIZON",
    "BusinessCalendar",
    "add_business_time",
    "business_time_between",
    "is_open",
]

Interval = tuple[time, time]
_UtcInterval = tuple[datetime, datetime]

END_OF_DAY = time(0)
"""As the end of an interval, midnight means 24:00 (an end can never precede its start)."""

_DAY_NAMES: Mapping[str, int] = {
    name: index
    for index, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}
_SHORT_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)
HORIZON = timedelta(days=5 * 365 + 2)
"""How far past ``start`` add_business_time searches: five years, leap days included."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly opening hours in a time zone, minus whole-day holidays (see module docstring)."""

    tz: ZoneInfo
    # weekday (0=Monday .. 6=Sunday) -> sorted, non-overlapping open intervals in local wall time
    # Excluded from the hash because callers may pass a plain dict; equality still compares it.
    hours: Mapping[int, tuple[tuple[time, time], ...]] = field(hash=False)
    holidays: frozenset[date]  # local dates that are closed all day

    def __post_init__(self) -> None:
        if not isinstance(self.tz, ZoneInfo):
            raise ValueError(f"tz must be a zoneinfo.ZoneInfo, got {quote(self.tz)}")
        normalized: dict[int, tuple[Interval, ...]] = {}
        for day, intervals in self.hours.items():
            if not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(
                    f"weekday keys must be ints 0 (Monday) .. 6 (Sunday), got {quote(day)}"
                )
            checked = _check_intervals(_SHORT_NAMES[day], intervals)
            if checked:
                normalized[day] = checked
        # Frozen means frozen: copy so later mutation of the caller's dict cannot change us.
        object.__setattr__(self, "hours", MappingProxyType(normalized))
        object.__setattr__(self, "holidays", _check_holidays(self.holidays))

    @classmethod
    def from_config(
        cls,
        tz: str,
        hours: Mapping[str, Sequence[Sequence[str]]],
        holidays: Iterable[date],
    ) -> BusinessCalendar:
        """Build from config such as ``{"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}``.

        Missing days are closed; ``"24:00"`` is allowed as an end.  Raises ``ValueError`` naming
        the offending entry on any malformed input.
        """
        parsed: dict[int, tuple[Interval, ...]] = {}
        for name, intervals in hours.items():
            day = _parse_day(name)
            if day in parsed:
                raise ValueError(f"day {quote(name)} is given more than once")
            if isinstance(intervals, str):
                raise ValueError(
                    f"{name}: expected a list of [start, end] pairs, got {quote(intervals)}"
                )
            parsed[day] = tuple(_parse_interval(str(name), pair) for pair in intervals)
        return cls(tz=_parse_zone(tz), hours=parsed, holidays=frozenset(holidays))

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        """24x7 in UTC with no holidays: business time equals elapsed time."""
        full_day = ((time(0), END_OF_DAY),)
        return cls(
            tz=ZoneInfo("UTC"), hours=dict.fromkeys(range(7), full_day), holidays=frozenset()
        )


def add_business_time(cal: BusinessCalendar, start: datetime, delta: timedelta) -> datetime:
    """Return the UTC instant at which ``delta`` of business time has elapsed since ``start``."""
    cursor = _as_utc(start, "start")
    if delta < _ZERO:
        raise ValueError(f"delta must not be negative, got {delta}")
    if not cal.hours:
        raise ValueError("calendar has no open hours; a business-time deadline would never arrive")
    horizon = cursor + HORIZON
    remaining = delta
    for opens, closes in _intervals_from(cal, cursor, until=horizon):
        if closes <= cursor:
            continue
        begin = max(opens, cursor)
        # `closes > begin` always holds here, so a zero delta lands on the first open instant.
        if closes - begin >= remaining:
            if begin + remaining > horizon:
                break
            return begin + remaining
        remaining -= closes - begin
    raise ValueError("deadline beyond the 5-year horizon")


def business_time_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time elapsed in ``[start, end)``; zero if ``end <= start``."""
    low = _as_utc(start, "start")
    high = _as_utc(end, "end")
    if high <= low:
        return _ZERO
    # When a fall-back crosses midnight, instants whose local date is D can belong to the
    # intervals of D + 1, so look one date past the end's local date.
    last_day = high.astimezone(cal.tz).date() + _ONE_DAY
    total = _ZERO
    day = low.astimezone(cal.tz).date()
    while day <= last_day:
        for opens, closes in _day_intervals(cal, day):
            overlap = min(closes, high) - max(opens, low)
            if overlap > _ZERO:
                total += overlap
        day += _ONE_DAY
    return total


def is_open(cal: BusinessCalendar, at: datetime) -> bool:
    """Whether ``at`` lies inside an open interval (intervals are half-open)."""
    instant = _as_utc(at, "at")
    day = instant.astimezone(cal.tz).date()
    # Same fall-back-across-midnight reason as in business_time_between for checking day + 1.
    return any(
        opens <= instant < closes
        for candidate in (day, day + _ONE_DAY)
        for opens, closes in _day_intervals(cal, candidate)
    )


def _as_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {quote(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive datetime {value.isoformat()}")
    return value.astimezone(UTC)


def _intervals_from(
    cal: BusinessCalendar, instant: datetime, *, until: datetime
) -> Iterator[_UtcInterval]:
    # Intervals of earlier local dates all close at or before `instant`, so starting at its
    # local date misses nothing.  Closed days cost only a dict lookup, so long gaps are cheap.
    # Stops after the day past `until`'s local date (same fall-back reason as elsewhere).
    day = instant.astimezone(cal.tz).date()
    last_day = until.astimezone(cal.tz).date() + _ONE_DAY
    while day <= last_day:
        yield from _day_intervals(cal, day)
        day += _ONE_DAY


def _day_intervals(cal: BusinessCalendar, day: date) -> list[_UtcInterval]:
    if day in cal.holidays:
        return []
    result: list[_UtcInterval] = []
    for start, end in cal.hours.get(day.weekday(), ()):
        opens = _local_to_utc(cal.tz, day, start)
        closes = _local_to_utc(cal.tz, day + _ONE_DAY if end == END_OF_DAY else day, end)
        if closes > opens:  # an interval inside a spring-forward gap has no real duration
            result.append((opens, closes))
    return result


def _local_to_utc(tz: ZoneInfo, day: date, wall: time) -> datetime:
    local = datetime.combine(day, wall, tzinfo=tz)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return utc
    return _gap_end(tz, local)


def _gap_end(tz: ZoneInfo, local: datetime) -> datetime:
    # For a wall time inside a gap, fold=1 applies the post-transition offset and fold=0 the
    # pre-transition one, which brackets the transition instant in (early, late].  zoneinfo
    # exposes no transition list, so bisect for it; this runs only on DST-change days.
    early = local.replace(fold=1).astimezone(UTC)
    late = local.replace(fold=0).astimezone(UTC)
    before = early.astimezone(tz).utcoffset()
    while late - early > _EPSILON:
        middle = early + (late - early) // 2
        if middle.astimezone(tz).utcoffset() == before:
            early = middle
        else:
            late = middle
    return late


def _check_intervals(day_name: str, intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    checked: list[Interval] = []
    for pair in intervals:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(
                f"{day_name}: each interval must be a (start, end) pair, got {quote(pair)}"
            )
        start, end = pair
        for value in (start, end):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(
                    f"{day_name}: interval bounds must be naive times, got {quote(value)}"
                )
        # fold only disambiguates wall times that we already resolve with fold=0.
        start, end = start.replace(fold=0), end.replace(fold=0)
        if _end_offset(end) <= _start_offset(start):
            raise ValueError(
                f"{day_name}: interval {_fmt(start, end)} must end after it starts "
                "(use 24:00 for midnight at the end of the day)"
            )
        checked.append((start, end))
    checked.sort(key=lambda pair: _start_offset(pair[0]))
    for (start_a, end_a), (start_b, end_b) in pairwise(checked):
        if _start_offset(start_b) < _end_offset(end_a):
            raise ValueError(
                f"{day_name}: intervals {_fmt(start_a, end_a)} and {_fmt(start_b, end_b)} overlap"
            )
    return tuple(checked)


def _check_holidays(holidays: Iterable[date]) -> frozenset[date]:
    result = frozenset(holidays)
    for holiday in result:
        # A datetime never equals a date, so it would silently never match.
        if not isinstance(holiday, date) or isinstance(holiday, datetime):
            raise ValueError(f"holidays must be datetime.date values, got {quote(holiday)}")
    return result


def _start_offset(value: time) -> timedelta:
    return timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


def _end_offset(value: time) -> timedelta:
    return _ONE_DAY if value == END_OF_DAY else _start_offset(value)


def _fmt(start: time, end: time) -> str:
    end_text = "24:00" if end == END_OF_DAY else end.isoformat("minutes")
    return f"{start.isoformat('minutes')}-{end_text}"


def _parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # Malformed keys (absolute paths, "..", directories, non-strings) fail with these
    # rather than ZoneInfoNotFoundError; all mean the config is wrong.
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise ValueError(
            f"unknown time zone {quote(name)}; use an IANA name such as 'Europe/London'"
        ) from exc


def _parse_day(name: str) -> int:
    day = _DAY_NAMES.get(name.strip().lower()) if isinstance(name, str) else None
    if day is None:
        raise ValueError(
            f"unknown day name {quote(name)}; expected one of {', '.join(_SHORT_NAMES)}"
        )
    return day


def _parse_interval(day_name: str, pair: Sequence[str]) -> Interval:
    if isinstance(pair, str) or len(pair) != 2:
        raise ValueError(
            f"{day_name}: each interval must be a [start, end] pair, got {quote(pair)}"
        )
    start = _parse_time(day_name, pair[0], is_end=False)
    end = _parse_time(day_name, pair[1], is_end=True)
    if end == END_OF_DAY and pair[1].strip() != "24:00":
        # "00:00" as an end is almost certainly a typo for an interval ending before it starts.
        raise ValueError(
            f"{day_name}: interval {pair[0]}-{pair[1]} must end after it starts "
            "(use 24:00 for midnight at the end of the day)"
        )
    return start, end


def _parse_time(day_name: str, text: str, *, is_end: bool) -> time:
    match = _TIME_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{day_name}: bad time {quote(text)}; expected HH:MM such as '09:00'")
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        if not is_end:
            raise ValueError(f"{day_name}: 24:00 is only allowed as an interval end")
        return END_OF_DAY
    if hour > 23 or minute > 59:
        raise ValueError(f"{day_name}: bad time {quote(text)}; hours 00-23, minutes 00-59")
    return time(hour, minute)
