"""Opaque keyset cursors: base64url(JSON list of the last row's sort values)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from server.errors import BadRequest

T = TypeVar("T")

MALFORMED = "cursor is malformed; start again without a cursor"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    # UTF-8, not \u escapes: a CJK character costs 4 cursor characters instead of 8 (an
    # astral one 5-6 instead of 16), so the longest sort value fits MAX_CURSOR.
    text = json.dumps(values, default=str, separators=(",", ":"), ensure_ascii=False)
    raw = text.encode("utf-8", "surrogatepass")  # total: a lone surrogate decodes as malformed
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The longest text a list sorts by (a column of String(MAX_SORT_TEXT) at most; a test holds
# every keyset sort column to it) and the longest cursor such a value makes: every character
# astral, with the row's id. The cursor query parameter accepts exactly that much, so the
# server never refuses a cursor it wrote (a customer named with 56 Chinese characters made
# a cursor past the old limit of 500, and its list stopped there).
MAX_SORT_TEXT = 500
MAX_CURSOR = len(encode_cursor([chr(0x10FFFF) * MAX_SORT_TEXT, str(uuid.UUID(int=0))]))


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("cursor is malformed; pass next_cursor from the previous page") from exc
    if not isinstance(values, list) or len(values) != length:
        raise BadRequest("cursor does not match this sort order; start again without a cursor")
    return values


# A cursor is base64(JSON) in the caller's hands, so each decoded value is checked against
# the type of the column it is compared with before it reaches asyncpg (which would answer a
# wrong type, an out-of-range number, a NUL byte or a lone surrogate with a 500).


def cursor_str(value: Any, *, max_length: int) -> str:
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise BadRequest(MALFORMED)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a JSON \\ud800 escape
        raise BadRequest(MALFORMED) from exc
    return value


def cursor_int(value: Any, *, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    # bool is an int subclass; JSON true is not a row number.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadRequest(MALFORMED)
    return value


def cursor_datetime(value: Any) -> dt.datetime:
    """An aware ISO 8601 instant, returned in UTC (an offset that pushes it past Python's
    datetime range is refused here rather than overflowing in the driver)."""
    if not isinstance(value, str):
        raise BadRequest(MALFORMED)
    try:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError("naive datetime")
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(MALFORMED) from exc


def cursor_uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise BadRequest(MALFORMED)
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise BadRequest(MALFORMED) from exc
