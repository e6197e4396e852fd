"""Small helpers the domain services share: scoped get, keyset list, patch."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import DateTime, Integer, Select, String, Uuid, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from server.errors import NotFound, PreconditionFailed, Unprocessable
from server.pagination import (
    MAX_SORT_TEXT,
    Page,
    cursor_datetime,
    cursor_int,
    cursor_str,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
)

M = TypeVar("M", bound=Any)


class InOrg(Protocol):
    """A caller of one organisation (the Actor of server/auth is one)."""

    @property
    def org_id(self) -> uuid.UUID: ...


async def get_scoped(
    session: AsyncSession,
    actor: InOrg,
    model: type[M],
    object_id: uuid.UUID,
    *,
    label: str,
    visible: Any = None,
    for_update: bool = False,
) -> M:
    """Load a row of the caller's organisation (optionally narrowed), or 404."""
    query = select(model).where(model.id == object_id, model.org_id == actor.org_id)
    if visible is not None:
        query = query.where(visible)
    if for_update:
        query = query.with_for_update()
    row: M | None = await session.scalar(query)
    if row is None:
        raise NotFound(f"{label} {object_id} not found")
    return row


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    sort_column: Any,
    id_column: InstrumentedAttribute[Any],
    limit: int,
    cursor: str | None,
    sort_value: Callable[[Any], Any] | None = None,
) -> Page[M]:
    """Ascending keyset pagination over (sort_column, id); ``sort_column`` may be the id
    itself (UUIDv7 ids are ordered by time), or an expression over the row with
    ``sort_value`` computing its value for the cursor (a cursor is readable base64: it
    holds only what the caller may read of the row)."""
    sort_type = sort_column.type
    if isinstance(sort_type, String) and not 0 < (sort_type.length or 0) <= MAX_SORT_TEXT:
        # Its cursors could outgrow what the cursor parameter accepts (pagination.py).
        raise TypeError(f"keyset_page sorts by text of at most {MAX_SORT_TEXT}: {sort_column}")
    if cursor:
        value, last_id = decode_cursor(cursor, length=2)
        after = (_cursor_value(sort_column, value), cursor_uuid(last_id))
        query = query.where(tuple_(sort_column, id_column) > after)
    query = query.order_by(sort_column, id_column).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        value = sort_value(last) if sort_value else getattr(last, sort_column.key)
        next_cursor = encode_cursor([value, str(last.id)])
    return Page(items=rows, next_cursor=next_cursor)


def _cursor_value(column: Any, value: Any) -> Any:
    """The decoded sort value, checked against the column's type (400 if it does not fit)."""
    column_type = column.type
    if isinstance(column_type, String):
        return cursor_str(value, max_length=column_type.length or MAX_SORT_TEXT)
    if isinstance(column_type, Integer):
        return cursor_int(value)
    if isinstance(column_type, DateTime):
        return cursor_datetime(value)
    if isinstance(column_type, Uuid):
        return cursor_uuid(value)
    raise TypeError(f"keyset_page has no cursor check for {column} ({column_type!r})")


def escape_like(text: str) -> str:
    """Make user text literal inside a LIKE pattern (used with ``escape="\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# What a weak If-Match tag asks for (server/http.py): no object is ever at a negative
# version (and no strong tag names one), so the check answers it like a stale version.
NEVER_MATCHES = -1


def check_version(current: int, expected: int | None, *, label: str = "it") -> None:
    """412 with ``current_version`` unless ``expected`` (the If-Match version; None: the
    operation was not made conditional) is the object's ``current`` version."""
    if expected is None or expected == current:
        return
    sent = "a weak ETag, which never matches" if expected == NEVER_MATCHES else expected
    raise PreconditionFailed(
        f"{label} changed since you read it (version {current}, you sent {sent}); "
        "read it again and retry",
        current_version=current,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def patch(
    row: Any,
    changes: dict[str, Any],
    *,
    expected_version: int | None,
    shown: Callable[[Any], Any] = _text,
    bump: bool = True,
) -> dict[str, Any]:
    """Apply the fields of ``changes`` (a partial update: the fields sent) that differ, after
    the If-Match check and the null check; returns {field: [old, new]} for those, each value
    as ``shown`` renders it (text unless the caller's audit records it otherwise). The
    version goes up by one when anything changed, unless ``bump`` is False (a caller that
    counts the change in a bump of its own)."""
    check_version(row.version, expected_version)
    reject_nulls(row, changes)
    diff: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(row, name)
        if old != value:
            diff[name] = [shown(old), shown(value)]
            setattr(row, name, value)
    if diff and bump:
        row.version += 1
    return diff


def reject_nulls(row: Any, changes: dict[str, Any]) -> None:
    """A PATCH may clear an optional field with null, never a required one (422, not a
    NOT NULL violation at commit)."""
    columns = row.__table__.columns
    required = sorted(
        name
        for name, value in changes.items()
        if value is None and name in columns and not columns[name].nullable
    )
    if required:
        raise Unprocessable(
            f"{', '.join(required)} cannot be null; leave a field out to keep its value",
            fields=required,
        )
