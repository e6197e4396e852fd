"""Rejected mutations, for the back office: nothing the engineer did disappears.

Every mutation the push rejected stays in ``sync_mutations`` with what the phone sent (name,
arguments, device time) and the problem it was refused with. Dispatchers and admins (and
keys with ``tickets:read``) list them, oldest first, filtered by engineer, work order and
receipt time, to re-enter what should be kept (travel time that arrived after the job was
reassigned, a note the server failed on).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server import instants
from server.auth import Actor
from server.pagination import (
    Page,
    cursor_datetime,
    cursor_int,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
)
from server.sync.flags import require_dispatcher
from server.sync.models import SyncClient, SyncMutation


@dataclass(frozen=True)
class Rejected:
    mutation: SyncMutation
    engineer_id: uuid.UUID

    @property
    def error(self) -> dict[str, Any] | None:
        error = self.mutation.result.get("error")
        return dict(error) if isinstance(error, dict) else None


async def list_rejected(
    session: AsyncSession,
    actor: Actor,
    *,
    engineer_id: uuid.UUID | None,
    ticket_id: uuid.UUID | None,
    since: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[Rejected]:
    """Rejected mutations of the caller's organisation by (received_at, client, seq)."""
    require_dispatcher(actor, write=False)
    query = (
        select(SyncMutation, SyncClient.engineer_id)
        .join(SyncClient, SyncClient.id == SyncMutation.client_id)
        .where(SyncMutation.org_id == actor.org_id, SyncMutation.outcome == "rejected")
    )
    if engineer_id is not None:
        query = query.where(SyncClient.engineer_id == engineer_id)
    if ticket_id is not None:
        query = query.where(SyncMutation.work_order_id == ticket_id)
    if since is not None:
        query = query.where(SyncMutation.received_at >= instants.utc(since, "since"))
    key = (SyncMutation.received_at, SyncMutation.client_id, SyncMutation.seq)
    if cursor:
        received, client_id, seq = decode_cursor(cursor, length=3)
        after = (cursor_datetime(received), cursor_uuid(client_id), cursor_int(seq))
        query = query.where(tuple_(*key) > after)
    rows = list(await session.execute(query.order_by(*key).limit(limit + 1)))
    items = [Rejected(mutation, engineer) for mutation, engineer in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1].mutation
        next_cursor = encode_cursor([last.received_at.isoformat(), str(last.client_id), last.seq])
    return Page(items=items, next_cursor=next_cursor)
