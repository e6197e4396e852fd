"""Flags: collisions between the field and the office that a dispatcher must look at.

Raised by the push when a mutation cannot apply because the office changed the work order
while the engineer was offline, but what the engineer did must not be lost:

- ``completed_after_cancel``: a completion (``work_order.resolve``) that arrives after the
  office cancelled the work order. The engineer's evidence in the same push (visits,
  labour, notes, photos) is applied as usual; the completion is stored rejected with its
  data, and the flag carries that data too.
- ``evidence_after_reassignment``: field evidence (a check-in or -out, labour, a note,
  parts, a photo, a signature, a checklist answer) on a work order the office gave to a
  colleague (or unassigned) before it arrived: the engineer may no longer write to it, so
  it is rejected 404, but the work order's events show it was theirs. One open flag per
  work order and engineer lists the rejected mutations (``payload.mutations``, with
  ``payload.count``); their arguments are in ``GET /api/v1/sync/rejected``.

Each new flag writes a work-order event (``field_conflict``, with its outbox twin) in the
same transaction. Admins and dispatchers (and keys with ``tickets:write``) list them and
close them as resolved or dismissed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import keyset_page
from server.errors import Conflict, Forbidden, NotFound
from server.pagination import Page
from server.sync.models import FlagKind, FlagStatus, SyncFlag
from server.tickets import Ticket, audit


def require_dispatcher(actor: Actor, *, write: bool) -> None:
    """Dispatchers and admins, or a key with tickets:read (:write to change): 403 else."""
    if actor.manages(keys=False):
        return
    if actor.is_key and actor.can("tickets:write" if write else "tickets:read"):
        return
    raise Forbidden("field conflicts and rejected mutations are for dispatchers and admins")


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


MAX_LISTED_MUTATIONS = 100  # in one evidence flag's payload; ``count`` keeps counting


async def evidence_after_reassignment(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket: Ticket,
    client_id: uuid.UUID,
    seq: int,
    name: str,
    device_time: dt.datetime | None,
) -> SyncFlag:
    """Flag (or add to the open flag of) evidence the engineer sent after the work order
    was taken from them."""
    entry = {
        "client_id": str(client_id),
        "seq": seq,
        "mutation": name,
        "device_time": device_time.isoformat() if device_time else None,
    }
    kind = FlagKind.EVIDENCE_AFTER_REASSIGNMENT
    flag = await session.scalar(
        select(SyncFlag)
        .where(
            SyncFlag.org_id == ticket.org_id,
            SyncFlag.status == FlagStatus.OPEN.value,
            SyncFlag.work_order_id == ticket.id,
            SyncFlag.engineer_id == actor.engineer_id,
            SyncFlag.kind == kind.value,
        )
        .order_by(SyncFlag.created_at, SyncFlag.id)
        .limit(1)
        .with_for_update()
    )
    if flag is None:
        return await raise_flag(
            session,
            actor,
            ticket=ticket,
            kind=kind,
            detail=(
                f"{actor.label} sent field work ({name}) after the work order was reassigned; "
                "it was not recorded on the work order: review it in the rejected mutations "
                f"(GET /api/v1/sync/rejected?work_order_id={ticket.id})"
            ),
            payload={"mutations": [entry], "count": 1},
            client_id=client_id,
            seq=seq,
        )
    listed = list(flag.payload.get("mutations") or [])
    if len(listed) < MAX_LISTED_MUTATIONS:
        listed.append(entry)
    count = int(flag.payload.get("count") or len(listed)) + 1
    flag.payload = {**flag.payload, "mutations": listed, "count": count}
    return flag


async def list_flags(
    session: AsyncSession,
    actor: Actor,
    *,
    status: FlagStatus | None,
    ticket_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[SyncFlag]:
    require_dispatcher(actor, write=False)
    query = select(SyncFlag).where(SyncFlag.org_id == actor.org_id)
    if status is not None:
        query = query.where(SyncFlag.status == status.value)
    if ticket_id is not None:
        query = query.where(SyncFlag.work_order_id == ticket_id)
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
    require_dispatcher(actor, write=True)
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
