"""Serial-numbered units: a serialised part moves one unit per ledger line, each line naming
its serial, so a unit's history is exact.

What each movement does to the units it names:

    receive        new units, in stock at the destination (a known serial is a 409)
    transfer       units in stock (or returned) at the source move to the destination;
                   into quarantine they become ``returned``, out of it ``in_stock``
    consume        units in stock at the source are installed in the work order's asset
                   (their location becomes the customer site); an engineer's report is never
                   refused: a unit the books had elsewhere (or never had) is first put in
                   the van by a correcting transfer (or adjustment) line, and flagged
    return         units installed in the work order's asset (or never seen: fitted at the
                   factory) come back: in stock when good; ``returned``, in the
                   organisation's quarantine location, when defective
    adjust, scrap  units found (increase) or gone (decrease, scrap: status scrapped)
    reserve/release  by quantity: reservations do not pick units

``consume`` with ``removed_serial_numbers`` also takes those units out of the asset and
writes them back as ``return`` lines (condition defective by default: into quarantine; good:
into the van).
"""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import get_scoped, keyset_page
from server.errors import Conflict, Unprocessable
from server.events import service as events
from server.pagination import Page
from server.parts.ledger import service as ledger
from server.parts.locations import ensure_quarantine, visible_location_ids
from server.parts.models import (
    LocationKind,
    MovementKind,
    PartReturn,
    ReturnStatus,
    StockLocation,
    StockMovement,
    StockUnit,
    UnitStatus,
)
from server.parts.schemas import MovementCreate
from server.tickets import Ticket
from shared.ids import uuid7

_QUANTITY_ONLY = frozenset({MovementKind.RESERVE, MovementKind.RELEASE})
_MOVABLE = frozenset({UnitStatus.IN_STOCK.value, UnitStatus.RETURNED.value})
_USABLE = frozenset({UnitStatus.IN_STOCK.value})
_CLOSED_RETURNS = (
    ReturnStatus.REPAIRED.value,
    ReturnStatus.SCRAPPED.value,
    ReturnStatus.CREDITED.value,
)


class UnitConflict(Conflict):
    code, title = "stock_unit_conflict", "Serial number is elsewhere"


def applies(part: ledger.PartLike, data: MovementCreate) -> bool:
    """Whether the movement goes unit by unit (or names serials it must not)."""
    return part.serialised or bool(data.serial_numbers) or bool(data.removed_serial_numbers)


def _check(part: ledger.PartLike, data: MovementCreate) -> list[str]:
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


async def _unit(
    session: AsyncSession, actor: Actor, part: ledger.PartLike, serial: str
) -> tuple[StockUnit, bool]:
    """The unit with this serial, locked for the transaction; ``fresh`` when this call
    created it (a serial never seen). Two requests naming the same new serial at once:
    the unique key decides, the loser waits for the winner and then finds its row."""
    created = await session.scalar(
        insert(StockUnit)
        .values(
            id=uuid7(),
            org_id=actor.org_id,
            part_id=part.id,
            serial_number=serial,
            status=UnitStatus.IN_STOCK.value,
        )
        .on_conflict_do_nothing(
            index_elements=[StockUnit.org_id, StockUnit.part_id, StockUnit.serial_number]
        )
        .returning(StockUnit.id)
    )
    unit = await session.scalar(
        select(StockUnit)
        .where(
            StockUnit.org_id == actor.org_id,
            StockUnit.part_id == part.id,
            StockUnit.serial_number == serial,
        )
        .with_for_update()
    )
    assert unit is not None
    return unit, created is not None


def _elsewhere(
    unit: StockUnit, part: ledger.PartLike, where: ledger.PlaceLike | None
) -> UnitConflict:
    place = f"location {unit.location_id}" if unit.location_id else "no location"
    expected = f"not usable at {where.name}" if where is not None else "not usable here"
    return UnitConflict(
        f"{part.sku} serial {unit.serial_number} is {expected}: it is {unit.status} ({place})",
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
) -> list[ledger.Line]:
    """Check the unit can make this movement and update where it is. Returns the
    correcting lines written first, if the books had the unit somewhere else."""
    kind, part, source, destination = move.kind, move.part, move.source, move.destination
    unit, fresh = await _unit(session, actor, part, serial)
    corrections: list[ledger.Line] = []
    if kind is MovementKind.RECEIVE or (kind is MovementKind.ADJUST and move.quantity > 0):
        if not fresh and unit.status != UnitStatus.SCRAPPED.value:
            raise _elsewhere(unit, part, destination)
        unit.location_id, unit.asset_id = destination.id if destination else None, None
        unit.status = UnitStatus.IN_STOCK.value
    elif kind is MovementKind.RETURN:
        assert source is not None and destination is not None
        # A never-seen serial was fitted before Fixflow tracked it.
        if not fresh and unit.location_id != source.id:
            raise _elsewhere(unit, part, source)
        unit.location_id, unit.asset_id = destination.id, None
        good = move.condition == "good"
        unit.status = (UnitStatus.IN_STOCK if good else UnitStatus.RETURNED).value
    else:
        here = destination if kind is MovementKind.ADJUST else source
        assert here is not None
        # Only good stock is fitted; a defective unit may still be moved or scrapped.
        usable = _USABLE if kind is MovementKind.CONSUME else _MOVABLE
        if fresh or unit.location_id != here.id or unit.status not in usable:
            if not (kind is MovementKind.CONSUME and move.from_field):
                if fresh:
                    raise UnitConflict(
                        f"{part.sku} serial {serial} is not known at {here.name}",
                        serial_number=serial,
                    )
                raise _elsewhere(unit, part, here)
            # The engineer fitted it: record what happened, flag what the books said.
            _flag(session, actor, part, serial, here, None if fresh else unit)
            if fresh or unit.location_id != here.id:
                corrections.append(await _found_here(session, actor, move, unit, here, fresh))
        _after(unit, kind, destination, asset_id)
    return corrections


async def _found_here(
    session: AsyncSession,
    actor: Actor,
    move: ledger.Move,
    unit: StockUnit,
    here: ledger.PlaceLike,
    fresh: bool,
) -> ledger.Line:
    """The engineer used a unit from ``here`` (the van) that the books had elsewhere, or
    never had: a correcting line puts it in ``here`` first, so every balance keeps
    following its units. From where the books had it, a transfer (never refused; that
    location is flagged if it goes below what it holds); a unit never seen, or scrapped,
    is counted in with an adjustment."""
    recorded = None
    if not fresh and unit.location_id is not None:
        recorded = await session.get(StockLocation, unit.location_id)
    if recorded is not None and recorded.kind == LocationKind.QUARANTINE.value:
        await _left_quarantine(session, actor, move, unit, here)
    where = f"the books had it at {recorded.name}" if recorded else "the books did not have it"
    correction = ledger.Move(
        kind=MovementKind.TRANSFER if recorded else MovementKind.ADJUST,
        part=move.part,
        quantity=Decimal(1),
        source=recorded,
        destination=here,
        ticket_id=move.ticket_id,
        visit_id=move.visit_id,
        reason=f"serial {unit.serial_number} was used from {here.name}, but {where}",
        from_field=True,
        serial_number=unit.serial_number,
    )
    return await ledger.record(session, actor, correction)


async def _left_quarantine(
    session: AsyncSession, actor: Actor, move: ledger.Move, unit: StockUnit, here: ledger.PlaceLike
) -> None:
    """A defective unit waiting for its return was fitted after all: its open return no
    longer holds it (settling it moves no stock); say so on the return and announce it."""
    rma = await session.scalar(
        select(PartReturn)
        .where(
            PartReturn.org_id == actor.org_id,
            PartReturn.part_id == unit.part_id,
            PartReturn.serial_number == unit.serial_number,
            PartReturn.status.not_in(_CLOSED_RETURNS),
        )
        .with_for_update()
    )
    if rma is None:
        return
    note = (
        f"serial {unit.serial_number} was fitted from {here.name} on work order "
        f"{move.ticket_id} ({actor.label}): this return no longer holds it"
    )
    rma.notes = f"{rma.notes}\n{note}".strip()
    events.emit(
        session,
        org_id=actor.org_id,
        topic="part_return.unit_fitted",
        aggregate_id=rma.id,
        payload={"id": str(rma.id), "serial_number": unit.serial_number, "note": note},
    )


def _after(
    unit: StockUnit,
    kind: MovementKind,
    destination: ledger.PlaceLike | None,
    asset_id: uuid.UUID | None,
) -> None:
    if kind is MovementKind.TRANSFER:
        assert destination is not None
        unit.location_id = destination.id
        # Into quarantine it is defective. It keeps its status out of it: only its return
        # (RMA) being repaired makes it good stock again (server/parts/returns/service.py).
        if destination.kind == LocationKind.QUARANTINE.value:
            unit.status = UnitStatus.RETURNED.value
    elif kind is MovementKind.CONSUME:
        unit.location_id = destination.id if destination else None
        unit.asset_id, unit.status = asset_id, UnitStatus.INSTALLED.value
    else:  # scrap, or an adjustment down: the unit is gone
        unit.location_id, unit.asset_id = None, None
        unit.status = UnitStatus.SCRAPPED.value


def _flag(
    session: AsyncSession,
    actor: Actor,
    part: ledger.PartLike,
    serial: str,
    van: ledger.PlaceLike,
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
) -> list[ledger.Line]:
    """Write one ledger line per unit (quantity 1) and move the units; returns the lines,
    the movement's own first and any correcting lines last."""
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
    lines: list[ledger.Line] = []
    corrections: list[ledger.Line] = []  # written first, listed last: the answer is lines[0]
    # Units in one order, so two requests naming the same units never deadlock.
    for serial in sorted(serials):
        corrections += await _move_unit(session, actor, move, serial, asset_id)
        unit_move = dataclasses.replace(move, quantity=one, serial_number=serial)
        lines.append(await ledger.record(session, actor, unit_move))
    for serial in data.removed_serial_numbers or []:
        assert asset_id is not None
        lines.append(await _take_out(session, actor, move, data, serial, asset_id))
    return lines + corrections


async def _take_out(
    session: AsyncSession,
    actor: Actor,
    consume: ledger.Move,
    data: MovementCreate,
    serial: str,
    asset_id: uuid.UUID,
) -> ledger.Line:
    """A unit removed from the asset comes back as a return line: into the van when
    good, into quarantine when defective."""
    part, site, van = consume.part, consume.destination, consume.source
    assert site is not None and van is not None
    good = data.removed_condition == "good"
    into = van if good else await ensure_quarantine(session, actor.org_id)
    unit, fresh = await _unit(session, actor, part, serial)
    if not fresh and unit.asset_id != asset_id:
        raise UnitConflict(
            f"{part.sku} serial {serial} is not installed in this work order's asset",
            serial_number=serial,
            unit_id=str(unit.id),
            unit_status=unit.status,
        )
    # A fresh unit was fitted before Fixflow tracked it.
    unit.location_id, unit.asset_id = into.id, None
    unit.status = (UnitStatus.IN_STOCK if good else UnitStatus.RETURNED).value
    back = ledger.Move(
        kind=MovementKind.RETURN,
        part=part,
        quantity=Decimal(1),
        source=site,
        destination=into,
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
    if (van := visible_location_ids(actor)) is not None:
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
    if (van := visible_location_ids(actor)) is not None:
        query = query.where(
            or_(StockMovement.from_location_id.in_(van), StockMovement.to_location_id.in_(van))
        )
    history = await session.scalars(query.order_by(StockMovement.id).limit(1000))
    return unit, list(history)
