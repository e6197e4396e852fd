"""The stock ledger: every change of stock is one append-only movement, and the balances
change in the same transaction.

How each kind moves quantity (q > 0 unless noted):

    kind      from location           to location            reserved
    receive   -                       on_hand += q           -
    transfer  on_hand -= q            on_hand += q           -
    consume   on_hand -= q            on_hand += q (site)    the work order's reservation
                                                             is released first
    return    on_hand -= q (site)     on_hand += q           -
    adjust    -                       on_hand += q (signed)  -
    scrap     on_hand -= q            -                      -
    reserve   -                       -                      from: reserved += q
    release   -                       -                      from: reserved -= q

Back-office decrements never take *available* stock (on_hand - reserved) below zero: the
guarded UPDATE re-checks under the row lock, so concurrent requests for the last units get
exactly what exists and the rest a 409 naming the shortfall. Consumption reported from the
field is never refused (the part was used): a van may go negative and is then flagged for
reconciliation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import Conflict, Unprocessable
from server.events import service as events
from server.parts.models import (
    LocationKind,
    MovementKind,
    Part,
    StockBalance,
    StockLocation,
    StockMovement,
)

ZERO = Decimal(0)
# Kinds whose quantity leaves from_location's on-hand / reaches to_location's on-hand.
_OUT = frozenset(
    {MovementKind.TRANSFER, MovementKind.CONSUME, MovementKind.RETURN, MovementKind.SCRAP}
)
_IN = frozenset(
    {
        MovementKind.RECEIVE,
        MovementKind.TRANSFER,
        MovementKind.CONSUME,
        MovementKind.RETURN,
        MovementKind.ADJUST,
    }
)


class StockShortage(Conflict):
    code, title = "stock_shortage", "Not enough stock"


@dataclass(frozen=True)
class Move:
    kind: MovementKind
    part: Part
    quantity: Decimal
    source: StockLocation | None = None
    destination: StockLocation | None = None
    ticket_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    condition: str | None = None
    reason: str | None = None
    from_field: bool = False
    # Serialised parts: the one unit this line moves (server/parts/serials.py).
    serial_number: str | None = None


async def _bump(
    session: AsyncSession,
    org_id: uuid.UUID,
    location_id: uuid.UUID,
    part_id: uuid.UUID,
    *,
    on_hand: Decimal = ZERO,
    reserved: Decimal = ZERO,
) -> tuple[Decimal, Decimal]:
    """Add to a balance (creating it); returns the new (on_hand, reserved)."""
    if reserved < 0:
        # Releasing: the balance exists (reserving went through it). No upsert here:
        # PostgreSQL checks reserved >= 0 on the candidate row before ON CONFLICT.
        release = (
            update(StockBalance)
            .where(StockBalance.location_id == location_id, StockBalance.part_id == part_id)
            .values(
                on_hand=StockBalance.on_hand + on_hand,
                reserved=StockBalance.reserved + reserved,
                updated_at=func.now(),
            )
            .returning(StockBalance.on_hand, StockBalance.reserved)
        )
        held = (await session.execute(release)).one()
        return held.on_hand, held.reserved
    values = insert(StockBalance).values(
        org_id=org_id,
        location_id=location_id,
        part_id=part_id,
        on_hand=on_hand,
        reserved=reserved,
        needs_reconciliation=False,
    )
    stmt = values.on_conflict_do_update(
        index_elements=[StockBalance.location_id, StockBalance.part_id],
        set_={
            "on_hand": StockBalance.on_hand + values.excluded.on_hand,
            "reserved": StockBalance.reserved + values.excluded.reserved,
            "updated_at": func.now(),
        },
    ).returning(StockBalance.on_hand, StockBalance.reserved)
    row = (await session.execute(stmt)).one()
    return row.on_hand, row.reserved


async def _take(
    session: AsyncSession,
    location: StockLocation,
    part: Part,
    *,
    on_hand: Decimal = ZERO,
    reserved: Decimal = ZERO,
) -> None:
    """Take available stock (on_hand - reserved) for a decrement or a reservation, or
    raise StockShortage. The WHERE is re-evaluated under the row lock."""
    need = on_hand + reserved
    available = StockBalance.on_hand - StockBalance.reserved
    stmt = (
        update(StockBalance)
        .where(
            StockBalance.location_id == location.id,
            StockBalance.part_id == part.id,
            available >= need,
        )
        .values(
            on_hand=StockBalance.on_hand - on_hand,
            reserved=StockBalance.reserved + reserved,
            updated_at=func.now(),
        )
        .returning(StockBalance.on_hand)
    )
    if (await session.execute(stmt)).first() is not None:
        return
    have = await session.scalar(
        select(available).where(
            StockBalance.location_id == location.id, StockBalance.part_id == part.id
        )
    )
    have = have if have is not None else ZERO
    raise StockShortage(
        f"{location.name} has {_fmt(have)} {part.unit} of {part.sku} available, "
        f"{_fmt(need)} needed: short by {_fmt(need - have)}",
        available=str(have),
        shortfall=str(need - have),
        location_id=str(location.id),
        part_id=str(part.id),
    )


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


async def _field_take(
    session: AsyncSession, actor: Actor, location: StockLocation, part: Part, quantity: Decimal
) -> None:
    """Field consumption: never refused; a negative balance is flagged and announced."""
    new_on_hand, _ = await _bump(session, actor.org_id, location.id, part.id, on_hand=-quantity)
    # A customer site going below zero only means the part was installed before Fixflow
    # counted it; vans and warehouses below zero mean stock went missing.
    if new_on_hand < 0 and location.kind != LocationKind.CUSTOMER_SITE.value:
        await session.execute(
            update(StockBalance)
            .where(StockBalance.location_id == location.id, StockBalance.part_id == part.id)
            .values(needs_reconciliation=True)
        )
        events.emit(
            session,
            org_id=actor.org_id,
            topic="stock.discrepancy",
            aggregate_id=location.id,
            payload={
                "location_id": str(location.id),
                "part_id": str(part.id),
                "sku": part.sku,
                "on_hand": str(new_on_hand),
            },
        )


async def outstanding_reservation(
    session: AsyncSession, *, location_id: uuid.UUID, part_id: uuid.UUID, ticket_id: uuid.UUID
) -> Decimal:
    """What a work order still has reserved of a part at a location (reserve - release)."""
    rows = await session.execute(
        select(StockMovement.kind, func.sum(StockMovement.quantity))
        .where(
            StockMovement.ticket_id == ticket_id,
            StockMovement.part_id == part_id,
            StockMovement.from_location_id == location_id,
            StockMovement.kind.in_([MovementKind.RESERVE.value, MovementKind.RELEASE.value]),
        )
        .group_by(StockMovement.kind)
    )
    totals: dict[str, Decimal] = {kind: qty for kind, qty in rows}
    reserved = totals.get(MovementKind.RESERVE.value, ZERO)
    return reserved - totals.get(MovementKind.RELEASE.value, ZERO)


def _row(actor: Actor, move: Move, kind: MovementKind, quantity: Decimal) -> StockMovement:
    return StockMovement(
        org_id=actor.org_id,
        kind=kind.value,
        part_id=move.part.id,
        quantity=quantity,
        from_location_id=move.source.id if move.source else None,
        to_location_id=move.destination.id if move.destination else None,
        ticket_id=move.ticket_id,
        visit_id=move.visit_id,
        condition=move.condition,
        serial_number=move.serial_number,
        reason=move.reason,
        unit_cost=move.part.cost,
        from_field=move.from_field,
        actor=actor.label,
    )


async def record(session: AsyncSession, actor: Actor, move: Move) -> StockMovement:
    """Apply one movement to the balances and write its ledger line (shape already checked)."""
    kind, part, q = move.kind, move.part, move.quantity
    source, destination = move.source, move.destination
    # Lock both balance rows in one global order (by location id) before changing either:
    # an A->B and a B->A transfer at the same moment must not wait on each other.
    touched = sorted({loc.id for loc in (source, destination) if loc is not None})
    if len(touched) > 1:
        for location_id in touched:
            await _bump(session, actor.org_id, location_id, part.id)  # creates and locks
    if kind is MovementKind.RESERVE:
        assert source is not None
        await _take(session, source, part, reserved=q)
    elif kind is MovementKind.RELEASE:
        assert source is not None and move.ticket_id is not None
        await _release(session, actor, source, part, q, move.ticket_id)
    elif kind in _OUT:
        assert source is not None
        if kind is MovementKind.CONSUME and move.ticket_id is not None:
            await _use_reservation(session, actor, move)
        if move.from_field or kind is MovementKind.RETURN:
            # Returns leave a customer site, which holds installed parts, not stock to guard.
            await _field_take(session, actor, source, part, q)
        else:
            await _take(session, source, part, on_hand=q)
    if kind in _IN:
        assert destination is not None
        on_hand, reserved = await _bump(session, actor.org_id, destination.id, part.id, on_hand=q)
        if kind is MovementKind.ADJUST and on_hand >= 0:
            # An adjustment is a count: once the books match the shelf again, the
            # discrepancy a field consumption flagged is reconciled.
            await session.execute(
                update(StockBalance)
                .where(
                    StockBalance.location_id == destination.id,
                    StockBalance.part_id == part.id,
                    StockBalance.needs_reconciliation.is_(True),
                )
                .values(needs_reconciliation=False)
            )
        if kind is MovementKind.ADJUST and q < 0 and on_hand < reserved:
            raise StockShortage(
                f"the adjustment would leave {_fmt(on_hand)} {part.unit} of {part.sku} at "
                f"{destination.name}, below the {_fmt(reserved)} reserved",
                location_id=str(destination.id),
                part_id=str(part.id),
            )
    row = _row(actor, move, kind, q)
    session.add(row)
    return row


async def lock_balance(session: AsyncSession, location_id: uuid.UUID, part_id: uuid.UUID) -> None:
    """Every reservation change of a (location, part) updates this row, so holding its lock
    makes "read the work order's outstanding reservation, then release" safe."""
    await session.execute(
        select(StockBalance.location_id)
        .where(StockBalance.location_id == location_id, StockBalance.part_id == part_id)
        .with_for_update()
    )


async def _release(
    session: AsyncSession,
    actor: Actor,
    location: StockLocation,
    part: Part,
    quantity: Decimal,
    ticket_id: uuid.UUID,
) -> None:
    await lock_balance(session, location.id, part.id)
    held = await outstanding_reservation(
        session, location_id=location.id, part_id=part.id, ticket_id=ticket_id
    )
    if quantity > held:
        raise Unprocessable(
            f"the work order has {_fmt(held)} {part.unit} of {part.sku} reserved at "
            f"{location.name}; cannot release {_fmt(quantity)}"
        )
    await _bump(session, actor.org_id, location.id, part.id, reserved=-quantity)


async def _use_reservation(session: AsyncSession, actor: Actor, move: Move) -> None:
    """Consuming for a work order first releases what that work order had reserved here,
    so the reserved units are the ones used (written as a release line)."""
    assert move.source is not None and move.ticket_id is not None
    await lock_balance(session, move.source.id, move.part.id)
    held = await outstanding_reservation(
        session, location_id=move.source.id, part_id=move.part.id, ticket_id=move.ticket_id
    )
    used = min(held, move.quantity)
    if used > 0:
        await _bump(session, actor.org_id, move.source.id, move.part.id, reserved=-used)
        release = Move(
            kind=MovementKind.RELEASE,
            part=move.part,
            quantity=used,
            source=move.source,
            ticket_id=move.ticket_id,
            visit_id=move.visit_id,
            reason="used on the work order",
            from_field=move.from_field,
        )
        session.add(_row(actor, release, MovementKind.RELEASE, used))


_CHECK = text(
    """
    WITH deltas AS (
        SELECT from_location_id AS location_id, part_id, -quantity AS on_hand, 0 AS reserved
          FROM stock_movements
         WHERE org_id = :org AND kind IN ('transfer', 'consume', 'return', 'scrap')
        UNION ALL
        SELECT to_location_id, part_id, quantity, 0
          FROM stock_movements
         WHERE org_id = :org AND kind IN ('receive', 'transfer', 'consume', 'return', 'adjust')
        UNION ALL
        SELECT from_location_id, part_id, 0,
               CASE kind WHEN 'reserve' THEN quantity ELSE -quantity END
          FROM stock_movements
         WHERE org_id = :org AND kind IN ('reserve', 'release')
    ), ledger AS (
        SELECT location_id, part_id, sum(on_hand) AS on_hand, sum(reserved) AS reserved
          FROM deltas GROUP BY location_id, part_id
    )
    SELECT coalesce(l.location_id, b.location_id) AS location_id,
           coalesce(l.part_id, b.part_id) AS part_id,
           coalesce(l.on_hand, 0) AS ledger_on_hand, coalesce(b.on_hand, 0) AS balance_on_hand,
           coalesce(l.reserved, 0) AS ledger_reserved, coalesce(b.reserved, 0) AS balance_reserved
      FROM ledger l
      FULL JOIN (SELECT * FROM stock_balances WHERE org_id = :org) b
        ON b.location_id = l.location_id AND b.part_id = l.part_id
     WHERE coalesce(l.on_hand, 0) <> coalesce(b.on_hand, 0)
        OR coalesce(l.reserved, 0) <> coalesce(b.reserved, 0)
    """
)


async def check(session: AsyncSession, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """Balances that differ from the sum of their ledger lines (empty when all agree)."""
    rows = await session.execute(_CHECK, {"org": org_id})
    return [{str(k): v for k, v in row._mapping.items()} for row in rows]
