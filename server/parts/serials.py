"""Serial-numbered units: a serialised part moves one unit per ledger line, each line naming
its serial, so a unit's history is exact.

What each movement does to the units it names:

    receive        new units, in stock at the destination (a known serial is a 409)
    transfer       units in stock (or returned) at the source move to the destination
    consume        units in stock at the source are installed in the work order's asset
                   (their location becomes the customer site); an engineer's report is never
                   refused: a unit recorded elsewhere is moved anyway and flagged
    return         units installed in the work order's asset (or never seen: fitted at the
                   factory) come back: in stock when good, ``returned`` when defective
    adjust, scrap  units found (increase) or gone (decrease, scrap: status scrapped)
    reserve/release  by quantity: reservations do not pick units

``consume`` with ``removed_serial_numbers`` also takes those units out of the asset and
writes them back into the van as ``return`` lines (condition defective by default).
"""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.crud import get_scoped, keyset_page
from server.errors import Conflict, Unprocessable
from server.events import service as events
from server.pagination import Page
from server.parts import ledger
from server.parts.models import MovementKind, Part, StockLocation, StockMovement
from server.parts.schemas import MovementCreate
from server.parts.tracking_models import StockUnit, UnitStatus
from server.tickets.models import Ticket

_QUANTITY_ONLY = frozenset({MovementKind.RESERVE, MovementKind.RELEASE})
_MOVABLE = frozenset({UnitStatus.IN_STOCK.value, UnitStatus.RETURNED.value})


class UnitConflict(Conflict):
    code, title = "stock_unit_conflict", "Serial number is elsewhere"


def applies(part: Part, data: MovementCreate) -> bool:
    """Whether the movement goes unit by unit (or names serials it must not)."""
    return part.serialised or bool(data.serial_numbers) or bool(data.removed_serial_numbers)


def _check(part: Part, data: MovementCreate) -> list[str]:
    serials = list(data.serial_numbers or [])
    removed = list(data.removed_serial_numbers or [])
    if not part.serialised:
        raise Unprocessable(
            f"part {part.sku} is not serialised: leave serial numbers out",
            field="serial_numbers" if serials else "removed_serial_numbers",
        )
    if data.quantity != data.quantity.to_integral_value():
        raise Unprocessable(
            f"part {part.sku} is serialised: quantity must be a whole number", field="quantity"
        )
    if removed and data.kind is not MovementKind.CONSUME:
        raise Unprocessable(
            "removed_serial_numbers go with consume", field="removed_serial_numbers"
        )
    if data.kind in _QUANTITY_ONLY:
        if serials:
            raise Unprocessable(
                "reservations are by quantity: leave serial_numbers out", field="serial_numbers"
            )
        return []
    if not serials:
        raise Unprocessable(
            f"part {part.sku} is serialised: name each unit in serial_numbers",
            field="serial_numbers",
        )
    if len(serials) != data.quantity:
        raise Unprocessable(
            f"quantity is {data.quantity.normalize():f} but {len(serials)} serial numbers given",
            field="serial_numbers",
        )
    if len(set(serials)) != len(serials) or len(set(removed)) != len(removed):
        raise Unprocessable("a serial number is listed twice", field="serial_numbers")
    if set(serials) & set(removed):
        raise Unprocessable(
            "a unit cannot be both fitted and removed", field="removed_serial_numbers"
        )
    return serials


async def _unit(session: AsyncSession, actor: Actor, part: Part, serial: str) -> StockUnit | None:
    return await session.scalar(
        select(StockUnit)
        .where(
            StockUnit.org_id == actor.org_id,
            StockUnit.part_id == part.id,
            StockUnit.serial_number == serial,
        )
        .with_for_update()
    )


def _new_unit(actor: Actor, part: Part, serial: str) -> StockUnit:
    return StockUnit(org_id=actor.org_id, part_id=part.id, serial_number=serial)


def _elsewhere(unit: StockUnit, part: Part, where: StockLocation | None) -> UnitConflict:
    at = f"at {where.name}" if where is not None else "not there"
    return UnitConflict(
        f"{part.sku} serial {unit.serial_number} is {unit.status}, {at} "
        f"(its location is {unit.location_id})",
        serial_number=unit.serial_number,
        unit_id=str(unit.id),
        unit_status=unit.status,
        location_id=str(unit.location_id) if unit.location_id else None,
    )


async def _move_unit(
    session: AsyncSession,
    actor: Actor,
    move: ledger.Move,
    serial: str,
    asset_id: uuid.UUID | None,
) -> None:
    """Check the unit can make this movement and update where it is."""
    kind, part, source, destination = move.kind, move.part, move.source, move.destination
    unit = await _unit(session, actor, part, serial)
    if kind is MovementKind.RECEIVE or (kind is MovementKind.ADJUST and move.quantity > 0):
        if unit is not None and unit.status != UnitStatus.SCRAPPED.value:
            raise _elsewhere(unit, part, destination)
        unit = unit or _new_unit(actor, part, serial)
        unit.location_id, unit.asset_id = destination.id if destination else None, None
        unit.status = UnitStatus.IN_STOCK.value
    elif kind is MovementKind.RETURN:
        assert source is not None and destination is not None
        if unit is not None and unit.location_id != source.id:
            raise _elsewhere(unit, part, source)
        unit = unit or _new_unit(actor, part, serial)  # fitted before we tracked it
        unit.location_id, unit.asset_id = destination.id, None
        good = move.condition == "good"
        unit.status = (UnitStatus.IN_STOCK if good else UnitStatus.RETURNED).value
    else:
        here = destination if kind is MovementKind.ADJUST else source
        assert here is not None
        at_source = unit is not None and unit.location_id == here.id
        if not (at_source and unit is not None and unit.status in _MOVABLE):
            if not (kind is MovementKind.CONSUME and move.from_field):
                if unit is None:
                    raise UnitConflict(
                        f"{part.sku} serial {serial} is not known at {here.name}",
                        serial_number=serial,
                    )
                raise _elsewhere(unit, part, here)
            # The engineer fitted it: record what happened, flag what the books said.
            _flag(session, actor, part, serial, here, unit)
            unit = unit or _new_unit(actor, part, serial)
        _after(unit, kind, destination, asset_id)
    session.add(unit)


def _after(
    unit: StockUnit,
    kind: MovementKind,
    destination: StockLocation | None,
    asset_id: uuid.UUID | None,
) -> None:
    if kind is MovementKind.TRANSFER:
        assert destination is not None
        unit.location_id = destination.id
    elif kind is MovementKind.CONSUME:
        unit.location_id = destination.id if destination else None
        unit.asset_id, unit.status = asset_id, UnitStatus.INSTALLED.value
    else:  # scrap, or an adjustment down: the unit is gone
        unit.location_id, unit.asset_id = None, None
        unit.status = UnitStatus.SCRAPPED.value


def _flag(
    session: AsyncSession,
    actor: Actor,
    part: Part,
    serial: str,
    van: StockLocation,
    unit: StockUnit | None,
) -> None:
    events.emit(
        session,
        org_id=actor.org_id,
        topic="stock_unit.discrepancy",
        aggregate_id=van.id,
        payload={
            "part_id": str(part.id),
            "sku": part.sku,
            "serial_number": serial,
            "reported_at_location_id": str(van.id),
            "recorded_location_id": str(unit.location_id) if unit and unit.location_id else None,
            "recorded_status": unit.status if unit else None,
        },
    )


async def record(
    session: AsyncSession, actor: Actor, move: ledger.Move, data: MovementCreate
) -> list[StockMovement]:
    """Write one ledger line per unit (quantity 1) and move the units; returns the lines."""
    serials = _check(move.part, data)
    if move.kind in _QUANTITY_ONLY:
        return [await ledger.record(session, actor, move)]
    asset_id = None
    if move.kind is MovementKind.CONSUME:
        asset_id = await session.scalar(select(Ticket.asset_id).where(Ticket.id == move.ticket_id))
        if asset_id is None:
            raise Unprocessable(
                "the work order names no asset to install a serialised part into",
                field="ticket_id",
            )
    one = Decimal(-1) if move.quantity < 0 else Decimal(1)
    lines = []
    for serial in serials:
        await _move_unit(session, actor, move, serial, asset_id)
        unit_move = dataclasses.replace(move, quantity=one, serial_number=serial)
        lines.append(await ledger.record(session, actor, unit_move))
    for serial in data.removed_serial_numbers or []:
        assert asset_id is not None
        lines.append(await _take_out(session, actor, move, data, serial, asset_id))
    return lines


async def _take_out(
    session: AsyncSession,
    actor: Actor,
    consume: ledger.Move,
    data: MovementCreate,
    serial: str,
    asset_id: uuid.UUID,
) -> StockMovement:
    """A unit removed from the asset comes back into the van as a return line."""
    part, site, van = consume.part, consume.destination, consume.source
    assert site is not None and van is not None
    unit = await _unit(session, actor, part, serial)
    if unit is not None and unit.asset_id != asset_id:
        raise UnitConflict(
            f"{part.sku} serial {serial} is not installed in this work order's asset",
            serial_number=serial,
            unit_id=str(unit.id),
            unit_status=unit.status,
        )
    unit = unit or _new_unit(actor, part, serial)  # fitted before we tracked it
    good = data.removed_condition == "good"
    unit.location_id, unit.asset_id = van.id, None
    unit.status = (UnitStatus.IN_STOCK if good else UnitStatus.RETURNED).value
    session.add(unit)
    back = ledger.Move(
        kind=MovementKind.RETURN,
        part=part,
        quantity=Decimal(1),
        source=site,
        destination=van,
        ticket_id=consume.ticket_id,
        visit_id=consume.visit_id,
        condition=data.removed_condition,
        reason="removed from the asset when a replacement was fitted",
        serial_number=serial,
    )
    return await ledger.record(session, actor, back)


# --- reading units -------------------------------------------------------------------------


def _visible(actor: Actor) -> Any:
    """Engineers see the units in their own van."""
    if actor.is_engineer:
        van = select(StockLocation.id).where(StockLocation.engineer_id == actor.engineer_id)
        return StockUnit.location_id.in_(van)
    return None


async def list_units(
    session: AsyncSession,
    actor: Actor,
    *,
    serial_number: str | None,
    part_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    asset_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[StockUnit]:
    query = select(StockUnit).where(StockUnit.org_id == actor.org_id)
    if (own := _visible(actor)) is not None:
        query = query.where(own)
    if serial_number is not None:
        query = query.where(StockUnit.serial_number == serial_number)
    if part_id is not None:
        query = query.where(StockUnit.part_id == part_id)
    if location_id is not None:
        query = query.where(StockUnit.location_id == location_id)
    if asset_id is not None:
        query = query.where(StockUnit.asset_id == asset_id)
    return await keyset_page(
        session,
        query,
        sort_column=StockUnit.serial_number,
        id_column=StockUnit.id,
        limit=limit,
        cursor=cursor,
    )


async def get_unit(
    session: AsyncSession, actor: Actor, *, unit_id: uuid.UUID
) -> tuple[StockUnit, list[StockMovement]]:
    """A unit and its history: every ledger line naming it, oldest first (engineers: the
    lines that touch their van, as in the ledger)."""
    unit = await get_scoped(
        session, actor, StockUnit, unit_id, label="stock unit", visible=_visible(actor)
    )
    query = select(StockMovement).where(
        StockMovement.org_id == actor.org_id,
        StockMovement.part_id == unit.part_id,
        StockMovement.serial_number == unit.serial_number,
    )
    if actor.is_engineer:
        van = select(StockLocation.id).where(StockLocation.engineer_id == actor.engineer_id)
        query = query.where(
            or_(StockMovement.from_location_id.in_(van), StockMovement.to_location_id.in_(van))
        )
    history = await session.scalars(query.order_by(StockMovement.id).limit(1000))
    return unit, list(history)
