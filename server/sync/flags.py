"""Flags: collisions between the field and the office that a dispatcher must look at.

Raised by the push when a mutation cannot apply because the office changed the work order
while the engineer was offline, but what the engineer did must not be lost: a completion
(``work_order.resolve``) that arrives after the office cancelled the work order. The
engineer's evidence in the same push (visits, labour, notes, photos) is applied as usual;
the completion is stored rejected with its data, and the flag carries that data too. Each
flag writes a work-order event (``field_conflict``, with its outbox twin) in the same
transaction. Admins and dispatchers (and keys with ``tickets:write``) list them and close
them as resolved or dismissed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.models import Role
from server.crud import keyset_page
from server.errors import Conflict, Forbidden, NotFound
from server.pagination import Page
from server.sync.models import FlagKind, FlagStatus, SyncFlag
from server.tickets import audit
from server.tickets.models import Ticket


def _dispatcher(actor: Actor, *, write: bool) -> None:
    if actor.role in (Role.ADMIN, Role.DISPATCHER):
        return
    if actor.role is None and actor.can("tickets:write" if write else "tickets:read"):
        return
    raise Forbidden("field conflicts are for dispatchers and admins")


async def raise_flag(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket: Ticket,
    kind: FlagKind,
    detail: str,
    payload: dict[str, Any],
    client_id: uuid.UUID | None = None,
    seq: int | None = None,
) -> SyncFlag:
    flag = SyncFlag(
        org_id=ticket.org_id,
        work_order_id=ticket.id,
        engineer_id=actor.engineer_id,
        client_id=client_id,
        seq=seq,
        kind=kind.value,
        status=FlagStatus.OPEN.value,
        detail=detail,
        payload=payload,
    )
    session.add(flag)
    await session.flush()
    audit.record(
        session,
        ticket,
        kind="field_conflict",
        actor=actor.label,
        reason=detail,
        changes={"flag_id": str(flag.id), "flag_kind": kind.value, **payload},
    )
    return flag


async def list_flags(
    session: AsyncSession,
    actor: Actor,
    *,
    status: FlagStatus | None,
    work_order_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[SyncFlag]:
    _dispatcher(actor, write=False)
    query = select(SyncFlag).where(SyncFlag.org_id == actor.org_id)
    if status is not None:
        query = query.where(SyncFlag.status == status.value)
    if work_order_id is not None:
        query = query.where(SyncFlag.work_order_id == work_order_id)
    return await keyset_page(
        session,
        query,
        sort_column=SyncFlag.created_at,
        id_column=SyncFlag.id,
        limit=limit,
        cursor=cursor,
    )


async def close_flag(
    session: AsyncSession,
    actor: Actor,
    *,
    flag_id: uuid.UUID,
    outcome: FlagStatus,
    note: str | None,
) -> SyncFlag:
    _dispatcher(actor, write=True)
    flag = await session.scalar(
        select(SyncFlag)
        .where(SyncFlag.id == flag_id, SyncFlag.org_id == actor.org_id)
        .with_for_update()
    )
    if flag is None:
        raise NotFound(f"flag {flag_id} not found")
    if flag.status != FlagStatus.OPEN.value:
        raise Conflict(f"the flag is already {flag.status}", current_status=flag.status)
    flag.status = outcome.value
    flag.closed_at = dt.datetime.now(dt.UTC)
    flag.closed_by = actor.label
    flag.note = note
    return flag
