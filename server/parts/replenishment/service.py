"""Replenishment: a minimum and a target level per location and part.

A movement that takes on-hand below the minimum raises ``stock.below_minimum`` once; the
flag re-arms when on-hand is back at or above the minimum. Suggested top-ups for a location
are ``max(target, consumed in the last 30 days) - available``, positive only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import check_version, get_scoped, patch
from server.errors import NotFound, PreconditionFailed, Unprocessable
from server.events import service as events
from server.parts.locations import visible_locations
from server.parts.models import (
    MovementKind,
    Part,
    StockBalance,
    StockLevel,
    StockLocation,
    StockMovement,
)

ZERO = Decimal(0)
WINDOW = dt.timedelta(days=30)


async def _location(session: AsyncSession, actor: Actor, location_id: uuid.UUID) -> StockLocation:
    return await get_scoped(
        session,
        actor,
        StockLocation,
        location_id,
        label="stock location",
        visible=visible_locations(actor),
    )


async def get_level(
    session: AsyncSession, actor: Actor, *, location_id: uuid.UUID, part_id: uuid.UUID
) -> StockLevel:
    location = await _location(session, actor, location_id)
    part = await get_scoped(session, actor, Part, part_id, label="part")
    level = await _level(session, location.id, part.id)
    if level is None:
        raise NotFound(f"no level is set for part {part.sku} at this location")
    return level


async def _level(
    session: AsyncSession, location_id: uuid.UUID, part_id: uuid.UUID, *, lock: bool = False
) -> StockLevel | None:
    query = select(StockLevel).where(
        StockLevel.location_id == location_id, StockLevel.part_id == part_id
    )
    if lock:
        query = query.with_for_update()
    level: StockLevel | None = await session.scalar(query)
    return level


async def set_level(
    session: AsyncSession,
    actor: Actor,
    *,
    location_id: uuid.UUID,
    part_id: uuid.UUID,
    minimum: Decimal,
    target: Decimal,
    expected_version: int | None,
) -> StockLevel:
    """Create or replace the level. ``expected_version``: the version If-Match named (the
    level must exist at it), or None for If-None-Match: * (it must not exist yet); 412
    otherwise, so two people setting the same level cannot overwrite each other unseen."""
    actor.require_manager("set replenishment levels")
    location = await _location(session, actor, location_id)
    part = await get_scoped(session, actor, Part, part_id, label="part")
    if target < minimum:
        raise Unprocessable("target must be at least the minimum", field="target")
    on_hand = await session.scalar(
        select(StockBalance.on_hand).where(
            StockBalance.location_id == location.id, StockBalance.part_id == part.id
        )
    )
    # Start from where stock is now: only a later fall below the minimum is announced.
    below = (on_hand if on_hand is not None else ZERO) < minimum
    values = {"minimum": minimum, "target": target, "below_minimum": below}
    if expected_version is None:
        return await _create_level(session, actor, location.id, part, values)
    level = await _level(session, location.id, part.id, lock=True)
    if level is None:
        raise PreconditionFailed(
            f"no level is set for part {part.sku} here yet: create it with If-None-Match: *",
            current_version=None,
        )
    check_version(level.version, expected_version, label="the level")
    patch(level, values, expected_version=None)  # bumps the version when anything changed
    level.updated_at = dt.datetime.now(dt.UTC)
    return level


async def _create_level(
    session: AsyncSession,
    actor: Actor,
    location_id: uuid.UUID,
    part: Part,
    values: dict[str, Any],
) -> StockLevel:
    """If-None-Match: * -- a new level, or 412 when one is set (perhaps a moment ago)."""
    created: StockLevel | None = await session.scalar(
        insert(StockLevel)
        .values(org_id=actor.org_id, location_id=location_id, part_id=part.id, **values)
        .on_conflict_do_nothing(index_elements=[StockLevel.location_id, StockLevel.part_id])
        .returning(StockLevel)
    )
    if created is None:
        current = await _level(session, location_id, part.id)
        raise PreconditionFailed(
            f"a level is set for part {part.sku} here already: read it and send If-Match",
            current_version=current.version if current is not None else None,
        )
    return created


async def announce_crossings(
    session: AsyncSession,
    actor: Actor,
    part_id: uuid.UUID,
    sku: str,
    balances: list[tuple[uuid.UUID, Decimal, Decimal | None]],
) -> None:
    """After a movement (called by the ledger with each touched location's new on-hand and
    its minimum, None without a level): announce each fall below a minimum.

    The guarded UPDATE flips ``below_minimum`` only where it no longer matches on-hand,
    re-checked under the level's row lock, so of two movements crossing at once exactly one
    announces; it re-arms silently when stock is back up."""
    for location_id, on_hand, minimum in sorted(balances, key=lambda b: b[0]):
        if minimum is None:
            continue
        below = on_hand < minimum
        flipped = await session.execute(
            update(StockLevel)
            .where(
                StockLevel.location_id == location_id,
                StockLevel.part_id == part_id,
                StockLevel.below_minimum.is_not(below),
            )
            .values(below_minimum=below, updated_at=func.now())
            .returning(StockLevel.minimum, StockLevel.target)
        )
        row = flipped.first()
        if row is None or not below:
            continue
        events.emit(
            session,
            org_id=actor.org_id,
            topic="stock.below_minimum",
            aggregate_id=location_id,
            payload={
                "location_id": str(location_id),
                "part_id": str(part_id),
                "sku": sku,
                "on_hand": str(on_hand),
                "minimum": str(row.minimum),
                "target": str(row.target),
            },
        )


@dataclass(frozen=True)
class TopUp:
    part_id: uuid.UUID
    sku: str
    name: str
    minimum: Decimal | None
    target: Decimal | None
    consumed_30d: Decimal
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    suggested: Decimal


async def suggested_top_up(
    session: AsyncSession, actor: Actor, *, location_id: uuid.UUID, now: dt.datetime | None = None
) -> list[TopUp]:
    """What to bring to a location (a van above all): parts with a level there or consumed
    from it in the last 30 days, where max(target, consumption) exceeds what is available."""
    location = await _location(session, actor, location_id)
    since = (now or dt.datetime.now(dt.UTC)) - WINDOW
    consumed = (
        select(StockMovement.part_id, func.sum(StockMovement.quantity).label("qty"))
        .where(
            StockMovement.org_id == actor.org_id,
            StockMovement.from_location_id == location.id,
            StockMovement.kind == MovementKind.CONSUME.value,
            StockMovement.created_at >= since,
        )
        .group_by(StockMovement.part_id)
        .subquery()
    )
    levels = select(StockLevel).where(StockLevel.location_id == location.id).subquery()
    parts = select(consumed.c.part_id).union(select(levels.c.part_id)).subquery()
    rows = await session.execute(
        select(
            Part.id,
            Part.sku,
            Part.name,
            levels.c.minimum,
            levels.c.target,
            func.coalesce(consumed.c.qty, ZERO),
            func.coalesce(StockBalance.on_hand, ZERO),
            func.coalesce(StockBalance.reserved, ZERO),
        )
        .select_from(parts)
        .join(Part, Part.id == parts.c.part_id)
        .outerjoin(levels, levels.c.part_id == Part.id)
        .outerjoin(consumed, consumed.c.part_id == Part.id)
        .outerjoin(
            StockBalance,
            (StockBalance.part_id == Part.id) & (StockBalance.location_id == location.id),
        )
        .where(Part.org_id == actor.org_id)
        .order_by(Part.sku)
    )
    out = []
    for part_id, sku, name, minimum, target, used, on_hand, reserved in rows:
        available = on_hand - reserved
        suggested = max(target or ZERO, used) - available
        if suggested > 0:
            out.append(
                TopUp(
                    part_id=part_id,
                    sku=sku,
                    name=name,
                    minimum=minimum,
                    target=target,
                    consumed_30d=used,
                    on_hand=on_hand,
                    reserved=reserved,
                    available=available,
                    suggested=suggested,
                )
            )
    return out
