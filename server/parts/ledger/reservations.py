"""Reservations beyond the ledger line: an engineer's pick list for a day, and releasing
what a cancelled work order still holds.

Outstanding reservation = reserve - release lines per work order, part and location (a
consume for the work order writes its own release line first; see ledger.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import instants
from server.auth import Actor
from server.engineers import Engineer
from server.errors import NotFound, Unprocessable
from server.orgs import service as orgs
from server.parts.ledger import service as ledger
from server.parts.locations import shown_name
from server.parts.models import (
    LocationKind,
    MovementKind,
    Part,
    StockBalance,
    StockLocation,
    StockMovement,
)
from server.tickets import Ticket, format_number
from shared.lifecycle import Status

_DONE = (Status.RESOLVED.value, Status.CLOSED.value, Status.CANCELLED.value)


def _outstanding(org_id: uuid.UUID) -> Any:
    signed = case(
        (StockMovement.kind == MovementKind.RESERVE.value, StockMovement.quantity),
        else_=-StockMovement.quantity,
    )
    return (
        select(
            StockMovement.ticket_id,
            StockMovement.part_id,
            StockMovement.from_location_id.label("location_id"),
            func.sum(signed).label("quantity"),
        )
        .where(
            StockMovement.org_id == org_id,
            StockMovement.kind.in_([MovementKind.RESERVE.value, MovementKind.RELEASE.value]),
        )
        .group_by(StockMovement.ticket_id, StockMovement.part_id, StockMovement.from_location_id)
        .having(func.sum(signed) > 0)
    )


@dataclass(frozen=True)
class PickLine:
    ticket_id: uuid.UUID
    ticket_number: str  # WO-000123, as everywhere a person reads it
    window_start: dt.datetime | None
    part_id: uuid.UUID
    sku: str
    part_name: str
    unit: str
    quantity: Decimal
    location_id: uuid.UUID
    location_name: str


async def pick_list(
    session: AsyncSession, actor: Actor, *, engineer_id: uuid.UUID | None, day: dt.date
) -> list[PickLine]:
    """What to pick up for the engineer's work on ``day`` (in the organisation's time zone):
    open work orders assigned to them with a window that day, or with no window at all."""
    if actor.is_engineer:
        if engineer_id not in (None, actor.engineer_id):
            raise NotFound(f"engineer {engineer_id} not found")  # another engineer: invisible
        engineer_id = actor.engineer_id
    if engineer_id is None:
        raise Unprocessable("name the engineer", field="engineer_id")
    found = await session.scalar(
        select(Engineer.id).where(Engineer.id == engineer_id, Engineer.org_id == actor.org_id)
    )
    if found is None:
        raise NotFound(f"engineer {engineer_id} not found")
    zone = ZoneInfo(await orgs.zone(session, actor.org_id))
    start = dt.datetime.combine(instants.day(day, "date"), dt.time(), zone)
    end = start + dt.timedelta(days=1)
    window = and_(
        Ticket.window_start < end, func.coalesce(Ticket.window_end, Ticket.window_start) >= start
    )
    outstanding = _outstanding(actor.org_id).subquery()
    rows = await session.execute(
        select(Ticket, Part, StockLocation, outstanding.c.quantity)
        .join(outstanding, outstanding.c.ticket_id == Ticket.id)
        .join(Part, Part.id == outstanding.c.part_id)
        .join(StockLocation, StockLocation.id == outstanding.c.location_id)
        .where(
            Ticket.org_id == actor.org_id,
            Ticket.assignee_id == engineer_id,
            Ticket.status.not_in(_DONE),
            or_(window, Ticket.window_start.is_(None)),
        )
        .order_by(Ticket.window_start.nulls_last(), Ticket.number, Part.sku)
    )
    return [
        PickLine(
            ticket_id=ticket.id,
            ticket_number=format_number(ticket.number),
            window_start=ticket.window_start,
            part_id=part.id,
            sku=part.sku,
            part_name=part.name,
            unit=part.unit,
            quantity=quantity,
            location_id=location.id,
            location_name=shown_name(actor, location.kind, location.name),
        )
        for ticket, part, location, quantity in rows
    ]


async def release_for_ticket(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID, reason: str
) -> list[ledger.Line]:
    """Release everything a work order still has reserved (called when it is cancelled)."""
    query = _outstanding(actor.org_id).where(StockMovement.ticket_id == ticket_id)
    lines = []
    found = [(location_id, part_id) for _, part_id, location_id, _ in await session.execute(query)]
    # In lock order; and re-read under the lock: a consumption may have used some meanwhile.
    for location_id, part_id in sorted(set(found)):
        await ledger.lock_balance(session, location_id, part_id)
        quantity = await ledger.outstanding_reservation(
            session, location_id=location_id, part_id=part_id, ticket_id=ticket_id
        )
        if quantity <= 0:
            continue
        part = await session.get(Part, part_id)
        location = await session.get(StockLocation, location_id)
        assert part is not None and location is not None
        move = ledger.Move(
            kind=MovementKind.RELEASE,
            part=part,
            quantity=quantity,
            source=location,
            ticket_id=ticket_id,
            reason=reason,
        )
        lines.append(await ledger.record(session, actor, move))
    return lines


async def needed_parts(
    session: AsyncSession, org_id: uuid.UUID, ticket_ids: list[uuid.UUID]
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """The parts each work order still has reserved (dispatch: does the van hold them?)."""
    if not ticket_ids:
        return {}
    outstanding = _outstanding(org_id).where(StockMovement.ticket_id.in_(ticket_ids)).subquery()
    rows = await session.execute(select(outstanding.c.ticket_id, outstanding.c.part_id))
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for ticket_id, part_id in rows:
        found.setdefault(ticket_id, set()).add(part_id)
    return {ticket: frozenset(parts) for ticket, parts in found.items()}


async def van_parts(
    session: AsyncSession, org_id: uuid.UUID, engineer_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """The parts each engineer's van has on hand (dispatch: a van that holds the parts a
    job needs is worth a detour). ``engineer_ids`` None: every engineer's van."""
    query = (
        select(StockLocation.engineer_id, StockBalance.part_id)
        .join(StockBalance, StockBalance.location_id == StockLocation.id)
        .where(
            StockLocation.org_id == org_id,
            StockLocation.kind == LocationKind.VAN.value,
            StockLocation.engineer_id.is_not(None),
            StockBalance.on_hand > 0,
        )
    )
    if engineer_ids is not None:
        query = query.where(StockLocation.engineer_id.in_(engineer_ids))
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for engineer_id, part_id in await session.execute(query):
        if engineer_id is not None:
            found.setdefault(engineer_id, set()).add(part_id)
    return {engineer: frozenset(parts) for engineer, parts in found.items()}
