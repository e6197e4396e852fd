"""The services' face of the instant rule (shared/times.py): a value a service was handed
(a sync mutation's ISO string, a datetime from another service or a job) becomes the
checked UTC instant or a 422 naming the field. Request types use ``server.schemas.Instant``
and ``Day``, which call the same functions, so HTTP and sync refuse the same values."""

from __future__ import annotations

import datetime as dt

from server.errors import Unprocessable
from shared import times


def utc(value: dt.datetime | str, field: str) -> dt.datetime:
    """``value`` (a datetime or an ISO 8601 string with its offset) as a UTC instant."""
    try:
        parsed = times.parse_instant(value) if isinstance(value, str) else value
        return times.as_utc(parsed)
    except times.InstantError as exc:
        raise Unprocessable(exc.message, field=field) from None


def day(value: dt.date, field: str) -> dt.date:
    try:
        return times.check_day(value)
    except times.InstantError as exc:
        raise Unprocessable(exc.message, field=field) from None
