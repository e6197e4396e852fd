"""Checks of the values the REST bodies and the phone's mutations carry (the phone's arrive
as JSON: string ids and times, float sizes), each failing as a 422 naming the field."""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from server import instants
from server.config import get_settings
from server.errors import Unprocessable

# Matched whole (fullmatch): "$" also matches before a final newline, and a digest with one
# got as far as the 64-character column (a 500). MIME tokens are ASCII (RFC 6838).
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_MIME = re.compile(r"[\w.+-]+/[\w.+-]+", re.ASCII)
MAX_STROKES, MAX_POINTS = 1_000, 100_000


def check_sha256(value: Any, field: str = "sha256") -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise Unprocessable("must be a SHA-256 as 64 hexadecimal characters", field=field)
    return value.lower()


def as_id(value: uuid.UUID | str, field: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Unprocessable("must be a UUID", field=field) from None


def opt_id(value: uuid.UUID | str | None, field: str) -> uuid.UUID | None:
    return None if value is None else as_id(value, field)


def size(value: float, field: str = "size") -> int:
    limit = get_settings().UPLOAD_MAX_BYTES
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise Unprocessable("must be a whole number of bytes", field=field)
    if not 1 <= value <= limit:
        raise Unprocessable(f"must be between 1 and {limit} bytes", field=field)
    return int(value)


def instant(value: dt.datetime | str | None, field: str) -> dt.datetime | None:
    """A device time with its UTC offset, as the UTC instant (422 when it has none): the
    rule of every instant (server/instants.py), as field records apply it."""
    return None if value is None else instants.utc(value, field)


def text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise Unprocessable(f"must be text of at most {limit} characters", field=field)
    return value


def gps(value: Mapping[str, Any] | None) -> dict[str, float] | None:
    if value is None:
        return None
    bounds = {"lat": 90.0, "lon": 180.0, "accuracy_m": 100_000.0}
    if not isinstance(value, Mapping) or set(value) - set(bounds):
        raise Unprocessable("must be an object with lat, lon, accuracy_m", field="gps")
    out: dict[str, float] = {}
    for key, bound in bounds.items():
        number = value.get(key)
        if key == "accuracy_m" and number is None:
            continue
        low = 0.0 if key == "accuracy_m" else -bound
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise Unprocessable("must be a number", field=f"gps.{key}")
        if not low <= number <= bound:
            raise Unprocessable(f"must be between {low} and {bound}", field=f"gps.{key}")
        out[key] = float(number)
    return out


# Screen coordinates in pixels and a time in milliseconds: far below this.
MAX_COORDINATE = 1e9


def strokes(value: Any) -> list[list[list[float]]]:
    """``[[[x, y], [x, y, t], ...], ...]``: strokes of points (t: ms since the first)."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_STROKES:
        raise Unprocessable(f"must be a list of 1 to {MAX_STROKES} strokes", field="strokes")
    total = 0
    for i, stroke in enumerate(value):
        if not isinstance(stroke, list) or not stroke:
            raise Unprocessable("a stroke is a non-empty list of points", field=f"strokes[{i}]")
        total += len(stroke)
        for j, point in enumerate(stroke):
            ok = (
                isinstance(point, list)
                and len(point) in (2, 3)
                and all(
                    isinstance(n, int | float)
                    and not isinstance(n, bool)
                    and abs(n) <= MAX_COORDINATE  # compared exactly, even for huge ints
                    and math.isfinite(n)
                    for n in point
                )
            )
            if not ok:
                raise Unprocessable(
                    f"a point is [x, y] or [x, y, t], each at most {MAX_COORDINATE:g} in size",
                    field=f"strokes[{i}][{j}]",
                )
    if total > MAX_POINTS:
        raise Unprocessable(f"at most {MAX_POINTS} points in all", field="strokes")
    return value


def declared_mime(value: str) -> str:
    if not isinstance(value, str) or len(value) > 100 or not _MIME.fullmatch(value):
        raise Unprocessable("must be a MIME type such as image/jpeg", field="mime")
    return value.lower()
