"""Returns to the vendor or repair centre (RMA).

A defective part back from the field opens one automatically (one per ledger line, so one
per unit of a serialised part); the back office opens others by hand. Status changes follow
``ALLOWED``; each change writes an outbox event. Warranty is the asset's warranty on the day
the return is opened.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.models import Role
from server.crud import get_scoped, keyset_page
from server.customers.models import Asset
from server.errors import Forbidden, InvalidTransition, Unprocessable
from server.events import service as events
from server.pagination import Page
from server.parts.models import LocationKind, MovementKind, Part, StockLocation, StockMovement
from server.parts.tracking_models import PartReturn, ReturnStatus, StockUnit, UnitStatus
from server.tickets.models import Ticket

S = ReturnStatus
ALLOWED: dict[ReturnStatus, tuple[ReturnStatus, ...]] = {
    S.AWAITING_RETURN: (S.RECEIVED, S.SCRAPPED),
    S.RECEIVED: (S.UNDER_REPAIR, S.SCRAPPED, S.CREDITED),
    S.UNDER_REPAIR: (S.REPAIRED, S.SCRAPPED),
    S.REPAIRED: (),
    S.SCRAPPED: (S.CREDITED,),  # the vendor credits a part it could not repair
    S.CREDITED: (),
}
_VENDOR_KINDS = (LocationKind.VENDOR.value, LocationKind.REPAIR_CENTRE.value)


def _manager(actor: Actor) -> None:
    if actor.role in (Role.ADMIN, Role.DISPATCHER) or actor.role is None:
        return
    raise Forbidden("only admins and dispatchers manage returns")


def _visible(actor: Actor) -> Any:
    """Engineers see the returns of work orders assigned to them."""
    if actor.is_engineer:
        mine = select(Ticket.id).where(Ticket.assignee_id == actor.engineer_id)
        return PartReturn.ticket_id.in_(mine)
    return None


async def _next_number(session: AsyncSession, org_id: uuid.UUID) -> int:
    # Serialise numbering per organisation for this transaction; the unique key backs it.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('part_returns:' || :org, 0))"),
        {"org": str(org_id)},
    )
    top = await session.scalar(
        select(func.max(PartReturn.number)).where(PartReturn.org_id == org_id)
    )
    return (top or 0) + 1


async def _warranty(session: AsyncSession, asset_id: uuid.UUID | None) -> bool:
    if asset_id is None:
        return False
    end = await session.scalar(select(Asset.warranty_end).where(Asset.id == asset_id))
    return end is not None and dt.date.today() <= end


def _event(session: AsyncSession, rma: PartReturn, topic: str, **extra: Any) -> None:
    events.emit(
        session,
        org_id=rma.org_id,
        topic=topic,
        aggregate_id=rma.id,
        payload={
            "id": str(rma.id),
            "number": rma.display_number,
            "status": rma.status,
            "part_id": str(rma.part_id),
            "serial_number": rma.serial_number,
            "ticket_id": str(rma.ticket_id) if rma.ticket_id else None,
            "warranty": rma.warranty,
            **extra,
        },
    )


async def _open(
    session: AsyncSession,
    actor: Actor,
    *,
    part_id: uuid.UUID,
    serial_number: str | None,
    ticket_id: uuid.UUID | None,
    asset_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    movement_id: uuid.UUID | None,
    notes: str,
) -> PartReturn:
    rma = PartReturn(
        org_id=actor.org_id,
        number=await _next_number(session, actor.org_id),
        part_id=part_id,
        serial_number=serial_number,
        ticket_id=ticket_id,
        asset_id=asset_id,
        movement_id=movement_id,
        status=ReturnStatus.AWAITING_RETURN.value,
        warranty=await _warranty(session, asset_id),
        location_id=location_id,
        notes=notes,
        version=1,
    )
    session.add(rma)
    await session.flush()
    _event(session, rma, "part_return.opened", opened_by=actor.label)
    return rma


async def open_for_lines(
    session: AsyncSession, actor: Actor, lines: list[StockMovement]
) -> list[PartReturn]:
    """Open a return for every defective part brought back (hooked into create_movement)."""
    opened = []
    for line in lines:
        if line.kind != MovementKind.RETURN.value or line.condition != "defective":
            continue
        asset_id = None
        if line.ticket_id is not None:
            asset_id = await session.scalar(
                select(Ticket.asset_id).where(Ticket.id == line.ticket_id)
            )
        await session.flush()  # the ledger line must exist before a return points at it
        rma = await _open(
            session,
            actor,
            part_id=line.part_id,
            serial_number=line.serial_number,
            ticket_id=line.ticket_id,
            asset_id=asset_id,
            location_id=None,
            movement_id=line.id,
            notes=line.reason or "",
        )
        opened.append(rma)
    return opened


async def _vendor(session: AsyncSession, actor: Actor, location_id: uuid.UUID) -> uuid.UUID:
    kind = await session.scalar(
        select(StockLocation.kind).where(
            StockLocation.id == location_id, StockLocation.org_id == actor.org_id
        )
    )
    if kind is None:
        raise Unprocessable(f"stock location {location_id} not found", field="location_id")
    if kind not in _VENDOR_KINDS:
        raise Unprocessable("a return goes to a vendor or repair centre", field="location_id")
    return location_id


async def create(
    session: AsyncSession,
    actor: Actor,
    *,
    part_id: uuid.UUID,
    serial_number: str | None,
    ticket_id: uuid.UUID | None,
    asset_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    notes: str,
) -> PartReturn:
    """Open a return by hand (a part found defective in the warehouse, a late claim)."""
    _manager(actor)

    def scoped(model: Any, object_id: uuid.UUID) -> Any:
        return select(model.id).where(model.id == object_id, model.org_id == actor.org_id)

    if await session.scalar(scoped(Part, part_id)) is None:
        raise Unprocessable(f"part {part_id} not found", field="part_id")
    if ticket_id is not None:
        ticket = await session.scalar(
            select(Ticket).where(Ticket.id == ticket_id, Ticket.org_id == actor.org_id)
        )
        if ticket is None:
            raise Unprocessable(f"work order {ticket_id} not found", field="ticket_id")
        if asset_id is not None and ticket.asset_id not in (None, asset_id):
            raise Unprocessable("the asset is not the work order's asset", field="asset_id")
        asset_id = asset_id or ticket.asset_id
    if asset_id is not None and await session.scalar(scoped(Asset, asset_id)) is None:
        raise Unprocessable(f"asset {asset_id} not found", field="asset_id")
    if location_id is not None:
        await _vendor(session, actor, location_id)
    return await _open(
        session,
        actor,
        part_id=part_id,
        serial_number=serial_number,
        ticket_id=ticket_id,
        asset_id=asset_id,
        location_id=location_id,
        movement_id=None,
        notes=notes,
    )


async def get(
    session: AsyncSession, actor: Actor, *, return_id: uuid.UUID, for_update: bool = False
) -> PartReturn:
    return await get_scoped(
        session,
        actor,
        PartReturn,
        return_id,
        label="part return",
        visible=_visible(actor),
        for_update=for_update,
    )


async def list_returns(
    session: AsyncSession,
    actor: Actor,
    *,
    status: ReturnStatus | None,
    part_id: uuid.UUID | None,
    ticket_id: uuid.UUID | None,
    asset_id: uuid.UUID | None,
    warranty: bool | None,
    limit: int,
    cursor: str | None,
) -> Page[PartReturn]:
    query = select(PartReturn).where(PartReturn.org_id == actor.org_id)
    if (own := _visible(actor)) is not None:
        query = query.where(own)
    if status is not None:
        query = query.where(PartReturn.status == status.value)
    if part_id is not None:
        query = query.where(PartReturn.part_id == part_id)
    if ticket_id is not None:
        query = query.where(PartReturn.ticket_id == ticket_id)
    if asset_id is not None:
        query = query.where(PartReturn.asset_id == asset_id)
    if warranty is not None:
        query = query.where(PartReturn.warranty.is_(warranty))
    return await keyset_page(
        session,
        query,
        sort_column=PartReturn.number,
        id_column=PartReturn.id,
        limit=limit,
        cursor=cursor,
    )


async def transition(
    session: AsyncSession,
    actor: Actor,
    *,
    return_id: uuid.UUID,
    status: ReturnStatus,
    location_id: uuid.UUID | None,
    notes: str | None,
) -> PartReturn:
    _manager(actor)
    rma = await get(session, actor, return_id=return_id, for_update=True)
    current = ReturnStatus(rma.status)
    allowed = ALLOWED[current]
    if status not in allowed:
        names = ", ".join(s.value for s in allowed) or "none: it is final"
        raise InvalidTransition(
            f"a return that is {current.value} cannot become {status.value}; allowed: {names}",
            current_status=current.value,
            allowed=[s.value for s in allowed],
        )
    if location_id is not None:
        rma.location_id = await _vendor(session, actor, location_id)
    if notes:
        rma.notes = f"{rma.notes}\n{notes}".strip()
    rma.status = status.value
    rma.version += 1
    rma.updated_at = dt.datetime.now(dt.UTC)
    if status is ReturnStatus.REPAIRED and rma.serial_number is not None:
        # A repaired unit is good stock again wherever it now is.
        unit = await session.scalar(
            select(StockUnit).where(
                StockUnit.org_id == actor.org_id,
                StockUnit.part_id == rma.part_id,
                StockUnit.serial_number == rma.serial_number,
                StockUnit.status == UnitStatus.RETURNED.value,
            )
        )
        if unit is not None:
            unit.status = UnitStatus.IN_STOCK.value
    _event(session, rma, "part_return.status_changed", from_status=current.value, by=actor.label)
    return rma
