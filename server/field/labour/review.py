"""Labour review: a work order's labour sheet, approval, and an engineer's day.

- Admins and dispatchers **approve** entries one by one or a whole work order at once
  (approving twice is a no-op; voided and replaced entries cannot be approved). Integration
  keys do not: an approval names a person.
- **Totals** count active entries only (not voided, not replaced): per work order by kind,
  and per engineer per day in the organisation's time zone, where an entry crossing
  midnight counts on each day for the part that falls in it. ``worked_seconds`` is travel
  plus work; breaks are reported but not worked time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import instants
from server.auth import Actor
from server.engineers import service as engineers_service
from server.errors import NotFound, Unprocessable
from server.field import access
from server.field.labour.service import (
    MAX_ENTRY,
    EntryState,
    LabourNotActive,
    Totals,
    states,
    totals,
)
from server.field.models import LabourApproval, LabourEntry, LabourVoid
from server.orgs import service as orgs


async def sheet(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> tuple[list[EntryState], list[LabourVoid]]:
    """A work order's labour: every entry (oldest first) and every void."""
    ticket = await access.work_order(session, actor, ticket_id)
    entries = list(
        await session.scalars(
            select(LabourEntry)
            .where(LabourEntry.ticket_id == ticket.id, LabourEntry.org_id == actor.org_id)
            .order_by(LabourEntry.started_at, LabourEntry.id)
        )
    )
    voids = list(
        await session.scalars(
            select(LabourVoid)
            .where(LabourVoid.ticket_id == ticket.id, LabourVoid.org_id == actor.org_id)
            .order_by(LabourVoid.received_at, LabourVoid.id)
        )
    )
    return await states(session, entries), voids


async def approve(
    session: AsyncSession,
    actor: Actor,
    *,
    entry_ids: list[uuid.UUID] | None = None,
    ticket_id: uuid.UUID | None = None,
) -> list[EntryState]:
    """Approve the named entries, or every active entry of a work order; returns them."""
    access.require_back_office(actor, "approve labour", keys=False)
    if (entry_ids is None) == (ticket_id is None):
        raise Unprocessable("name either entry_ids or a work order", field="entry_ids")
    query = select(LabourEntry).where(LabourEntry.org_id == actor.org_id).with_for_update()
    if ticket_id is not None:
        ticket = await access.work_order(session, actor, ticket_id)
        query = query.where(LabourEntry.ticket_id == ticket.id)
    else:
        assert entry_ids is not None
        query = query.where(LabourEntry.id.in_(entry_ids))
    entries = list(await session.scalars(query.order_by(LabourEntry.started_at, LabourEntry.id)))
    if entry_ids is not None:
        missing = sorted(set(entry_ids) - {e.id for e in entries}, key=str)
        if missing:
            raise NotFound(
                f"labour entry {missing[0]} not found", missing=[str(m) for m in missing]
            )
    found = await states(session, entries)
    if entry_ids is not None:
        inactive = [s for s in found if s.state != "active"]
        if inactive:
            raise LabourNotActive(
                f"labour entry {inactive[0].entry.id} is {inactive[0].state}: only active "
                "entries are approved",
                entries=[str(s.entry.id) for s in inactive],
            )
    out: list[EntryState] = []
    stamp = access.now()
    for item in found:
        if item.state != "active":
            continue
        approval = item.approval
        if approval is None:
            approval = LabourApproval(
                entry_id=item.entry.id,
                org_id=actor.org_id,
                ticket_id=item.entry.ticket_id,
                approved_by=actor.label,
                approved_at=stamp,
            )
            session.add(approval)
        out.append(EntryState(item.entry, None, None, approval))
    await session.flush()
    return out


async def day_totals(
    session: AsyncSession, actor: Actor, *, engineer_id: uuid.UUID, day: dt.date
) -> tuple[Totals, str]:
    """An engineer's active labour on one day of the organisation's time zone."""
    day = instants.day(day, "date")  # its bounds, and the day before, stay in range
    engineer = await engineers_service.get(session, actor, engineer_id=engineer_id)
    zone = ZoneInfo(await orgs.zone(session, actor.org_id))
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    entries = list(
        await session.scalars(
            select(LabourEntry).where(
                LabourEntry.org_id == actor.org_id,
                LabourEntry.engineer_id == engineer.id,
                LabourEntry.started_at < end,
                LabourEntry.ended_at > start,
                # Entries are at most 24 hours long: this bound keeps the index range small.
                LabourEntry.started_at > start - MAX_ENTRY,
            )
        )
    )
    return totals(await states(session, entries), (start, end)), zone.key
