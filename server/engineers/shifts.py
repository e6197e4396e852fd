"""An engineer's shifts on one date: the one rule for when an engineer is available.

The weekly working hours (``{"mon": [["08:00", "17:00"]], ...}``, wall-clock times in the
organisation's time zone, "24:00" the end of the day) give the date's intervals; time off
(``leave``, ``sick``, ``training``) is cut out of them and ``extra`` shifts are added, then
overlapping or touching intervals are merged. The result is a sorted list of ``[start,
end)`` aware datetimes. A wall-clock time that does not exist on the date (the hour skipped
when clocks go forward) is read as the instant after the gap; one that exists twice (clocks
go back) as the first of the two, as ``zoneinfo`` does with ``fold=0``.

The recommendation, the day planner, the claim pool and the board all ask this module, so
they agree on who works when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UNAVAILABLE = frozenset({"leave", "sick", "training"})
EXTRA = "extra"
KINDS = (*sorted(UNAVAILABLE), EXTRA)

Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Off:
    """One exception as this module needs it (``TimeOff`` rows have these attributes)."""

    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def _wall(date: dt.date, hhmm: str, tz: ZoneInfo) -> dt.datetime:
    if hhmm == "24:00":
        return _wall(date + dt.timedelta(days=1), "00:00", tz)
    hour, minute = (int(part) for part in hhmm.split(":"))
    # fold=0: in the spring-forward gap zoneinfo uses the offset before the gap, which
    # lands after it once in UTC; a repeated hour is its first occurrence.
    local = dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=tz)
    return local.astimezone(dt.UTC)


def weekly(date: dt.date, hours: Mapping[str, Any], tz: ZoneInfo) -> list[Interval]:
    """The date's intervals from the weekly working hours (UTC datetimes)."""
    day = DAYS[date.weekday()]
    out: list[Interval] = []
    for start, end in hours.get(day) or ():
        s, e = _wall(date, start, tz), _wall(date, end, tz)
        if e > s:
            out.append((s, e))
    return out


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(intervals: Sequence[Interval], cut: Interval) -> list[Interval]:
    out: list[Interval] = []
    for start, end in intervals:
        if cut[1] <= start or cut[0] >= end:
            out.append((start, end))
            continue
        if cut[0] > start:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def on_date(
    date: dt.date,
    hours: Mapping[str, Any],
    time_off: Iterable[Any],
    tz: ZoneInfo,
) -> list[Interval]:
    """The engineer's shifts on ``date`` (local to ``tz``), time off applied; UTC."""
    day_start = _wall(date, "00:00", tz)
    day_end = _wall(date, "24:00", tz)
    shifts = merge(weekly(date, hours, tz))
    rows = [r for r in time_off if r.ends_at > day_start and r.starts_at < day_end]
    extra = [
        (max(r.starts_at, day_start), min(r.ends_at, day_end)) for r in rows if r.kind == EXTRA
    ]
    shifts = merge([*shifts, *extra])
    for row in rows:
        if row.kind in UNAVAILABLE:
            shifts = subtract(shifts, (row.starts_at, row.ends_at))
    return [(s, e) for s, e in shifts if e > s]


def day_bounds(date: dt.date, tz: ZoneInfo) -> Interval:
    """The date's first and last instant in ``tz`` ([midnight, next midnight)), UTC."""
    return _wall(date, "00:00", tz), _wall(date, "24:00", tz)
