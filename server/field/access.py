"""What every field write shares: who may write, the work order it is on, client ids.

Client ids: the phone names each record it creates with its own UUIDv7. Creating a record
whose id exists already answers the existing record when the content is the same (a retry)
and 409 ``client_id_reused`` naming the differing fields when it is not (two different
records may never share an id). A record the caller cannot see (another organisation's, or
a colleague's on a work order not assigned to the engineer) is never compared: 409
``client_id_reused`` with ``fields`` ``["id"]`` and nothing more (``require_visible``).
``insert`` turns the race of two concurrent creations of one id into the same answers: the
loser re-reads the winner's row.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import fastpaths, feed, instants
from server.auth import Actor
from server.db import driver, fetchrow
from server.errors import ClientIdReused, NotFound, Unprocessable
from server.field.models import Visit
from server.tickets import Ticket
from server.tickets import service as tickets_service

R = TypeVar("R")


def require_field_writer(actor: Actor, what: str, *, agents: bool = False) -> None:
    """Field records are written by the assigned engineer (work orders are scoped to them
    by ``work_order``), by admins and dispatchers acting for them, and by integration keys
    holding tickets:write. Service desk agents only write notes (``agents=True``); viewers
    write nothing. Checked before any lookup, so a refused role gets the same 403 for any id."""
    actor.require_field_writer(what, agents=agents)


def require_back_office(actor: Actor, what: str, *, keys: bool = True) -> None:
    """Admins and dispatchers (and, with ``keys``, integration keys)."""
    actor.require_manager(f"can {what}", keys=keys)


async def work_order(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, *, for_update: bool = False
) -> Ticket:
    """The work order, in the caller's organisation; for an engineer only one assigned to
    them (404 otherwise, like a work order that does not exist)."""
    return await tickets_service.get(session, actor, ticket_id=ticket_id, for_update=for_update)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def instant(value: dt.datetime | str, field: str) -> dt.datetime:
    """A device time: an ISO 8601 string or a datetime with its UTC offset, within the
    bounds of every instant (server/instants.py), as the UTC instant."""
    return instants.utc(value, field)


def text(value: str | None, field: str, *, limit: int, required: bool = True) -> str | None:
    """Stripped text within its limit; blank is missing."""
    cleaned = value.strip() if value is not None else ""
    if not cleaned:
        if required:
            raise Unprocessable("required", field=field)
        return None
    if len(cleaned) > limit:
        raise Unprocessable(f"at most {limit} characters", field=field)
    if "\x00" in cleaned:
        raise Unprocessable("text cannot contain the NUL character (U+0000)", field=field)
    return cleaned


def same_content(
    what: str, record_id: uuid.UUID, stored: Mapping[str, Any], sent: Mapping[str, Any]
) -> None:
    """A retry must repeat the record exactly: 409 naming the fields that differ."""
    differing = sorted(name for name, value in sent.items() if stored.get(name) != value)
    if differing:
        raise ClientIdReused(
            f"{what} {record_id} already exists with a different {', '.join(differing)}; "
            "a new record needs a new id",
            id=str(record_id),
            fields=differing,
        )


def foreign_id(what: str, record_id: uuid.UUID) -> ClientIdReused:
    """An id taken by a record the caller may not see: refused without saying more."""
    return ClientIdReused(
        f"{what} id {record_id} is already in use; a new record needs a new id",
        id=str(record_id),
        fields=["id"],
    )


async def require_visible(
    session: AsyncSession,
    actor: Actor,
    *,
    org_id: uuid.UUID,
    ticket_id: uuid.UUID,
    what: str,
    record_id: uuid.UUID,
) -> None:
    """A record found by the id the caller sent is compared (or answered) only when the
    caller can see it: in their organisation, on a work order they can see (an engineer's
    own). Another organisation's record and a colleague's on a work order the engineer
    cannot see are refused alike, ``foreign_id``: the id reveals nothing of its content."""
    if org_id != actor.org_id:
        raise foreign_id(what, record_id)
    try:
        await work_order(session, actor, ticket_id)
    except NotFound:
        raise foreign_id(what, record_id) from None


async def insert(
    session: AsyncSession,
    rows: list[Any],
    *,
    existing: Callable[[], Awaitable[R | None]],
    what: str,
    record_id: uuid.UUID,
) -> R | None:
    """Insert ``rows`` in a savepoint. If a concurrent request created the same id first
    (unique violation), answer what ``existing`` finds now (the caller compares it);
    None when the rows went in."""
    # Flush what came before (a transition, an audit event): only these rows are in the
    # savepoint a clash rolls back.
    await session.flush()
    try:
        async with session.begin_nested():
            session.add_all(rows)
            await session.flush()
    except IntegrityError:
        found = await existing()
        if found is None:
            raise ClientIdReused(
                f"{what} {record_id} conflicts with a record written at the same time; "
                "read the work order again",
                id=str(record_id),
                fields=["id"],
            ) from None
        return found
    return None


async def check_visit(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, visit_id: uuid.UUID | None
) -> None:
    """A visit named by a field record must be one of the work order's (422 otherwise)."""
    if visit_id is None:
        return
    found = await session.scalar(
        select(Visit.ticket_id).where(Visit.id == visit_id, Visit.org_id == actor.org_id)
    )
    if found != ticket_id:
        raise Unprocessable(f"visit {visit_id} is not a visit of this work order", field="visit_id")


# --- the hot path: a new record in one statement ----------------------------------------------


@dataclass(frozen=True)
class NewRecord:
    """``INSERT`` of a record the phone names by its id, on a work order, in one statement
    that also checks what ``work_order`` and ``check_visit`` check and writes the record's
    change-feed row (server/feed.py: for the work order's engineer, as the ORM capture
    writes it). The fast path ``field.new_record`` (server/fastpaths.py).

    Parameters: $1 organisation, $2 work order, $3 the engineer the caller is limited to
    (None: any), $4 the visit the record names (None: none), then ``columns`` in order
    (each ``(name, PostgreSQL type)``; ``org_id`` and ``ticket_id`` are $1 and $2).

    The work order is read ``FOR KEY SHARE`` (the lock the record's foreign key takes
    anyway): were the office reassigning it at that moment, the statement waits for that
    transaction and then sees the work order as it committed, so the record is refused
    (the ORM path then answers 404) rather than written and announced to the engineer
    who no longer holds it.
    The statement answers ``returning`` when the row went in, and no row when it did not:
    the work order is not the caller's, the visit is not the work order's, or the id
    exists (a retry, or a clash). The caller then takes the ordinary path, which tells
    those apart: nothing was written."""

    table: str
    entity: str
    columns: tuple[tuple[str, str], ...]
    returning: str = "id"
    sql: str = field(init=False)

    def __post_init__(self) -> None:
        assert self.columns[0][0] == "id", "the record's own id comes first"
        names = ", ".join(name for name, _ in self.columns)
        values = ", ".join(f"${n}::{kind}" for n, (_, kind) in enumerate(self.columns, start=5))
        announce = feed.for_assignee(
            "t.assignee_id",
            org="$1",
            entity=feed.literal(self.entity),
            entity_id="$5::text",
            source="t, row",
        )
        sql = f"""
            WITH t AS (
                SELECT t.id, t.assignee_id
                  FROM tickets t
                 WHERE t.id = $2 AND t.org_id = $1
                   AND ($3::uuid IS NULL OR t.assignee_id = $3::uuid)
                   AND ($4::uuid IS NULL OR EXISTS (
                        SELECT 1 FROM visits v
                         WHERE v.id = $4::uuid AND v.org_id = $1 AND v.ticket_id = t.id))
                   FOR KEY SHARE OF t
            ), row AS (
                INSERT INTO {self.table} (org_id, ticket_id, {names})
                SELECT $1, t.id, {values} FROM t
                ON CONFLICT (id) DO NOTHING
                RETURNING {self.returning}
            ), feed AS (
                {announce}
            )
            SELECT {self.returning} FROM row
        """  # noqa: S608 (table and column names are the callers' constants)
        object.__setattr__(self, "sql", sql)


async def insert_new(session: AsyncSession, actor: Actor, record: NewRecord, row: Any) -> Any:
    """Write ``row`` (a new ORM object of ``record``'s table, not added to the session)
    when nothing stands in the way; the ``returning`` value, or None when the caller must
    take the ordinary path (see NewRecord)."""
    if not actor.work_scope_known or not fastpaths.enabled("field.new_record"):
        return None
    values = [
        json.dumps(getattr(row, name)) if kind == "jsonb" else getattr(row, name)
        for name, kind in record.columns
    ]
    found = await fetchrow(
        await driver(session),
        record.sql,
        actor.org_id,
        row.ticket_id,
        actor.work_scope,
        row.visit_id,
        *values,
    )
    return None if found is None else found[0]
