"""Instants and days: the one rule for every time a caller or a phone sends.

Standard library only: the server's request types (``server.schemas.Instant`` / ``Day``),
its services and the sync protocol (``shared.sync``) all call these functions, and the phone
checks its own mutations with them before queueing, so the bounds live here once.

- An **instant** carries its UTC offset (``Z`` or ``+08:00``): a time without one would mean
  whatever the server's clock settings say.
- Its UTC value lies in ``[EARLIEST, LATEST)``: 1970-01-01T00:00:00Z (a phone whose clock
  was reset counts from there, so it is kept) up to, not including, 2200-01-01T00:00:00Z.
  No field-service fact lies outside, and every instant inside can be shifted by a day or
  shown in any time zone without leaving Python's datetime range (years 1 to 9999), which
  is what the wider "anything that parses" rule used to break: ``0001-01-01T00:00:00Z`` and
  ``9999-12-31T23:59:59.999999Z`` are the two values the PostgreSQL driver stores as
  ``-infinity`` / ``infinity``, and ``9999-12-31T23:00-14:00`` has no UTC value at all.
- A **day** (a date a caller names to ask about "that day in the organisation's time zone")
  is within the years of the instants: ``EARLIEST_DAY`` to ``LATEST_DAY``.

A refusal is an :class:`InstantError` (a ``ValueError``) whose message says what to send;
callers add the field's name.
"""

from __future__ import annotations

import datetime as dt

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)  # not included
EARLIEST_DAY = EARLIEST.date()
LATEST_DAY = (LATEST - dt.timedelta(days=1)).date()

RANGE = "from 1970-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z"
NEEDS_OFFSET = "needs a UTC offset, e.g. 2026-11-24T09:00:00+08:00 or 2026-11-24T01:00:00Z"
NOT_ISO = "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-24T09:00:00+08:00"
OUT_OF_RANGE = f"must be an instant {RANGE} (in UTC)"
NOT_DATE = "must be an ISO 8601 date, e.g. 2026-11-24"
DAY_OUT_OF_RANGE = f"must be a date from {EARLIEST_DAY} to {LATEST_DAY}"


class InstantError(ValueError):
    """A time that breaks the rule; ``kind`` is ``"format"``, ``"naive"`` or ``"range"``."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def check_instant(value: dt.datetime) -> dt.datetime:
    """``value`` itself (its offset kept) when it is an instant the rule accepts."""
    if not isinstance(value, dt.datetime):
        raise InstantError(NOT_ISO, "format")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InstantError(NEEDS_OFFSET, "naive")
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 has no UTC value
        raise InstantError(OUT_OF_RANGE, "range") from None
    if not EARLIEST <= utc < LATEST:
        raise InstantError(OUT_OF_RANGE, "range")
    return value


def parse_instant(text: object) -> dt.datetime:
    """An ISO 8601 instant (as ``datetime.fromisoformat`` reads it), checked. Only text:
    a number (1700000000) is no instant, whatever a library would make of it (seconds or
    milliseconds since 1970, by its size)."""
    if not isinstance(text, str):
        raise InstantError(NOT_ISO, "format")
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InstantError(NOT_ISO, "format") from None
    return check_instant(value)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A checked instant in UTC (what the server stores and compares)."""
    return check_instant(value).astimezone(dt.UTC)


def parse_date(text: object) -> dt.date:
    """An ISO 8601 calendar date (``2026-11-24``), as ``date.fromisoformat`` reads it; not
    bounded (an install date may be 1965). A date-time (``2026-11-24T00:00:00Z``: which
    day is that, and where?) and a number are no date."""
    if isinstance(text, str):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise InstantError(NOT_DATE, "format")


def parse_day(text: object) -> dt.date:
    """A day a caller asks about: an ISO 8601 date within the instants' years."""
    return check_day(parse_date(text))


def check_day(value: dt.date) -> dt.date:
    """``value`` when it is a day the rule accepts (a ``datetime`` is not a day)."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InstantError(NOT_DATE, "format")
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise InstantError(DAY_OUT_OF_RANGE, "range")
    return value
