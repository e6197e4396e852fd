"""Returns to the vendor or repair centre (RMA).

A defective part back from the field opens one automatically (one per ledger line, so one
per unit of a serialised part); the back office opens others by hand. Status changes follow
``ALLOWED``; each change writes an outbox event. Warranty is the asset's warranty on the day
the return is opened, that day taken in the organisation's time zone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import check_version, get_scoped, keyset_page
from server.customers import Asset
from server.errors import Conflict, InvalidTransition, Unprocessable
from server.events import service as events
from server.orgs import service as orgs
from server.pagination import Page
from server.parts.ledger import service as ledger
from server.parts.ledger.service import Line
from server.parts.locations import ensure_quarantine, shown_name
from server.parts.models import (
    LocationKind,
    MovementKind,
    Part,
    PartReturn,
    ReturnStatus,
    StockLocation,
    StockMovement,
    StockUnit,
    UnitStatus,
)
from server.parts.schemas import MovementCreate
from server.parts.serials import service as serials
from server.tickets import Ticket, visible_ticket_ids

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
# A return is open until the unit is back (repaired) or written off (scrapped, credited).
_CLOSED = (S.REPAIRED.value, S.SCRAPPED.value, S.CREDITED.value)


def _manager(actor: Actor) -> None:
    actor.require_manager("manage returns")


def _visible(actor: Actor) -> Any:
    """Engineers see the returns of work orders assigned to them."""
    if (mine := visible_ticket_ids(actor)) is not None:
        return PartReturn.ticket_id.in_(mine)
    return None


async def lock_returns(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Serialise opening returns per organisation for this transaction (numbering, one open
    return per unit); taking it again in the same transaction is a no-op. A movement that
    will open a return takes it *before* its stock rows (service.create_movement), so a
    transaction holding many movements (a sync push) never waits for it while holding a
    balance row another one needs."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('part_returns:' || :org, 0))"),
        {"org": str(org_id)},
    )


async def _next_number(session: AsyncSession, org_id: uuid.UUID) -> int:
    await lock_returns(session, org_id)  # the unique key backs it
    top = await session.scalar(
        select(func.max(PartReturn.number)).where(PartReturn.org_id == org_id)
    )
    return (top or 0) + 1


async def _warranty(
    session: AsyncSession,
    org_id: uuid.UUID,
    asset_id: uuid.UUID | None,
    now: dt.datetime | None = None,
) -> bool:
    """Whether the asset's warranty covers the organisation's today (its last day included)."""
    if asset_id is None:
        return False
    end = await session.scalar(select(Asset.warranty_end).where(Asset.id == asset_id))
    return end is not None and await orgs.local_today(session, org_id, now) <= end


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
    now: dt.datetime | None = None,
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
        warranty=await _warranty(session, actor.org_id, asset_id, now),
        location_id=location_id,
        notes=notes,
        version=1,
    )
    session.add(rma)
    await session.flush()
    _event(session, rma, "part_return.opened", opened_by=actor.label)
    return rma


def opens_returns(data: MovementCreate) -> bool:
    """Whether a movement will open returns in ``open_for_lines``: a defective part back
    from the field (a defective return, or defective units removed by a consume)."""
    if data.kind is MovementKind.RETURN:
        return data.condition == "defective"
    removed = data.kind is MovementKind.CONSUME and bool(data.removed_serial_numbers)
    return removed and data.removed_condition != "good"


async def open_for_lines(
    session: AsyncSession,
    actor: Actor,
    lines: list[Line],
    *,
    now: dt.datetime | None = None,
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
            now=now,
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


async def _serial_asset(
    session: AsyncSession,
    actor: Actor,
    part: Part,
    serial_number: str,
    asset_id: uuid.UUID | None,
) -> uuid.UUID | None:
    """Check a serial named by hand against the part and the unit's record; returns the asset
    the return is for (the unit's, when it is installed and the return names none)."""
    if not part.serialised:
        raise Unprocessable(
            f"part {part.sku} is not serialised: leave serial_number out", field="serial_number"
        )
    unit = await _unit(session, actor.org_id, part.id, serial_number)
    # A serial never recorded is accepted: a unit fitted at the factory or before tracking.
    if unit is None or unit.status != UnitStatus.INSTALLED.value:
        return asset_id
    if asset_id is None:
        return unit.asset_id
    if unit.asset_id != asset_id:
        raise Unprocessable(
            f"{part.sku} serial {serial_number} is installed in another asset "
            f"({unit.asset_id}), not in {asset_id}",
            field="serial_number",
            unit_id=str(unit.id),
            unit_asset_id=str(unit.asset_id) if unit.asset_id else None,
        )
    return asset_id


async def _refuse_second_open(
    session: AsyncSession, actor: Actor, part: Part, serial_number: str
) -> None:
    """One open return per unit (under the returns lock, so two requests cannot both pass)."""
    await lock_returns(session, actor.org_id)
    existing = await session.scalar(
        select(PartReturn)
        .where(
            PartReturn.org_id == actor.org_id,
            PartReturn.part_id == part.id,
            PartReturn.serial_number == serial_number,
            PartReturn.status.not_in(_CLOSED),
        )
        .order_by(PartReturn.number)
        .limit(1)
    )
    if existing is not None:
        raise Conflict(
            f"{existing.display_number} is already open for {part.sku} serial {serial_number} "
            f"({existing.status})",
            field="serial_number",
            return_id=str(existing.id),
            return_number=existing.display_number,
        )


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
    now: dt.datetime | None = None,
    from_location_id: uuid.UUID | None = None,
    quantity: Decimal = Decimal(1),
) -> PartReturn:
    """Open a return by hand (a part found defective in the warehouse, a late claim).

    A serial number is only for a serialised part; it may be left out when it is not known.
    A unit recorded as installed must be installed in the return's asset (and gives the
    return its asset when none is named); a unit has at most one open return. With
    ``from_location_id`` the part (``quantity`` of it, or the named unit) is transferred
    from that stock location into quarantine, and the return then holds it there like a
    return opened from the field."""
    _manager(actor)

    def scoped(model: Any, object_id: uuid.UUID) -> Any:
        return select(model.id).where(model.id == object_id, model.org_id == actor.org_id)

    part = await session.scalar(select(Part).where(Part.id == part_id, Part.org_id == actor.org_id))
    if part is None:
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
    if serial_number is not None:
        asset_id = await _serial_asset(session, actor, part, serial_number, asset_id)
        await _refuse_second_open(session, actor, part, serial_number)
    movement_id = None
    if from_location_id is not None:
        line = await _quarantine_shelf_stock(
            session, actor, part, from_location_id, serial_number, quantity
        )
        movement_id = line.id
    return await _open(
        session,
        actor,
        part_id=part_id,
        serial_number=serial_number,
        ticket_id=ticket_id,
        asset_id=asset_id,
        location_id=location_id,
        movement_id=movement_id,
        notes=notes,
        now=now,
    )


async def _quarantine_shelf_stock(
    session: AsyncSession,
    actor: Actor,
    part: Part,
    from_location_id: uuid.UUID,
    serial_number: str | None,
    quantity: Decimal,
) -> Line:
    """Move a part found defective on a shelf into quarantine (a guarded transfer)."""
    shelf = await session.scalar(
        select(StockLocation).where(
            StockLocation.id == from_location_id, StockLocation.org_id == actor.org_id
        )
    )
    if shelf is None:
        raise Unprocessable(
            f"stock location {from_location_id} not found", field="from_location_id"
        )
    if shelf.kind in (LocationKind.QUARANTINE.value, LocationKind.CUSTOMER_SITE.value):
        raise Unprocessable(
            "quarantine takes parts from a warehouse, van, repair centre or vendor",
            field="from_location_id",
        )
    if part.serialised and serial_number is None:
        raise Unprocessable(
            f"part {part.sku} is serialised: name the unit in serial_number",
            field="serial_number",
        )
    quarantine = await ensure_quarantine(session, actor.org_id)
    reason = "found defective: quarantined for a return"
    move = ledger.Move(
        kind=MovementKind.TRANSFER,
        part=part,
        quantity=Decimal(1) if part.serialised else quantity,
        source=shelf,
        destination=quarantine,
        reason=reason,
    )
    if part.serialised:
        data = MovementCreate(
            kind=MovementKind.TRANSFER,
            part_id=part.id,
            quantity=Decimal(1),
            from_location_id=shelf.id,
            to_location_id=quarantine.id,
            reason=reason,
            serial_numbers=[serial_number] if serial_number else None,
        )
        return (await serials.record(session, actor, move, data))[0]
    return await ledger.record(session, actor, move)


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
    to_location_id: uuid.UUID | None = None,
    expected_version: int | None = None,
) -> PartReturn:
    _manager(actor)
    rma = await get(session, actor, return_id=return_id, for_update=True)
    check_version(rma.version, expected_version, label="the return")
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
    if to_location_id is not None and status is not ReturnStatus.REPAIRED:
        raise Unprocessable("to_location_id goes with repaired", field="to_location_id")
    moved = await _settle_quarantine(session, actor, rma, current, status, to_location_id)
    if moved is None and to_location_id is not None:
        raise Unprocessable(
            "this return holds no quarantined part (it was opened by hand): "
            "move the repaired part with a transfer",
            field="to_location_id",
        )
    if status is ReturnStatus.REPAIRED and moved is None and rma.serial_number is not None:
        # Opened by hand: a repaired unit is good stock again wherever it now is.
        await _repaired_unit(session, actor.org_id, rma.part_id, rma.serial_number)
    rma.status = status.value
    rma.version += 1
    rma.updated_at = dt.datetime.now(dt.UTC)
    extra = {"movement_id": str(moved.id)} if moved is not None else {}
    _event(
        session,
        rma,
        "part_return.status_changed",
        from_status=current.value,
        by=actor.label,
        **extra,
    )
    return rma


async def _settle_quarantine(
    session: AsyncSession,
    actor: Actor,
    rma: PartReturn,
    current: ReturnStatus,
    status: ReturnStatus,
    to_location_id: uuid.UUID | None,
) -> Line | None:
    """A return opened by a defective part from the field holds that part in quarantine
    until it ends: repaired, it is transferred back into stock (``to_location_id``);
    scrapped, or credited by a vendor that keeps it, it leaves the books with a scrap
    line. Returns the line written, if any."""
    if rma.movement_id is None:
        return None
    opened_by = await session.get(StockMovement, rma.movement_id)
    assert opened_by is not None and opened_by.to_location_id is not None
    quarantine = await session.get(StockLocation, opened_by.to_location_id)
    assert quarantine is not None
    if quarantine.kind != LocationKind.QUARANTINE.value:
        return None  # opened before defective returns were quarantined
    destination = None
    if status is ReturnStatus.REPAIRED:
        kind, reason = MovementKind.TRANSFER, f"{rma.display_number} repaired"
        destination = await _back_into_stock(session, actor, to_location_id)
    elif status is ReturnStatus.SCRAPPED:
        kind, reason = MovementKind.SCRAP, f"{rma.display_number} scrapped"
    elif status is ReturnStatus.CREDITED and current is not ReturnStatus.SCRAPPED:
        kind, reason = MovementKind.SCRAP, f"{rma.display_number} credited: the vendor keeps it"
    else:
        return None
    part = await session.get(Part, rma.part_id)
    assert part is not None
    serial = opened_by.serial_number
    if serial is not None and not await _still_quarantined(
        session, actor, part, serial, quarantine
    ):
        return None  # the unit left quarantine (fitted from a van): nothing to move
    data = MovementCreate(
        kind=kind,
        part_id=part.id,
        quantity=opened_by.quantity,
        from_location_id=quarantine.id,
        to_location_id=destination.id if destination else None,
        reason=reason,
        serial_numbers=[serial] if serial else None,
    )
    move = ledger.Move(
        kind=kind,
        part=part,
        quantity=opened_by.quantity,
        source=quarantine,
        destination=destination,
        reason=reason,
    )
    if serials.applies(part, data):
        line = (await serials.record(session, actor, move, data))[0]
        if status is ReturnStatus.REPAIRED:
            assert serial is not None  # serialised movements name their unit
            await _repaired_unit(session, actor.org_id, part.id, serial)
        return line
    return await ledger.record(session, actor, move)


async def _still_quarantined(
    session: AsyncSession, actor: Actor, part: Part, serial: str, quarantine: StockLocation
) -> bool:
    unit = await _unit(session, actor.org_id, part.id, serial)
    return unit is not None and unit.location_id == quarantine.id


async def _unit(
    session: AsyncSession, org_id: uuid.UUID, part_id: uuid.UUID, serial: str
) -> StockUnit | None:
    unit: StockUnit | None = await session.scalar(
        select(StockUnit).where(
            StockUnit.org_id == org_id,
            StockUnit.part_id == part_id,
            StockUnit.serial_number == serial,
        )
    )
    return unit


async def _repaired_unit(
    session: AsyncSession, org_id: uuid.UUID, part_id: uuid.UUID, serial: str
) -> None:
    """Only a repair makes a defective unit good stock again."""
    unit = await _unit(session, org_id, part_id, serial)
    if unit is not None and unit.status == UnitStatus.RETURNED.value:
        unit.status = UnitStatus.IN_STOCK.value


async def _back_into_stock(
    session: AsyncSession, actor: Actor, location_id: uuid.UUID | None
) -> StockLocation:
    if location_id is None:
        raise Unprocessable(
            "name the stock location the repaired part goes back into", field="to_location_id"
        )
    location = await session.scalar(
        select(StockLocation).where(
            StockLocation.id == location_id, StockLocation.org_id == actor.org_id
        )
    )
    if location is None:
        raise Unprocessable(f"stock location {location_id} not found", field="to_location_id")
    if location.kind in (LocationKind.QUARANTINE.value, LocationKind.CUSTOMER_SITE.value):
        raise Unprocessable(
            "a repaired part goes back into a warehouse, van, repair centre or vendor",
            field="to_location_id",
        )
    if not location.active:
        shown = shown_name(actor, location.kind, location.name)
        raise Unprocessable(f"{shown} is inactive", field="to_location_id")
    return location
