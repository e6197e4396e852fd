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

Back-office decrements never take *available* stock (on_hand - reserved) below zero. The
change is made first and checked on the row it returns: the row lock is held until the
transaction ends, so concurrent requests for the last units see each other's changes in
turn, get exactly what exists, and the rest a 409 naming the shortfall (which rolls the
request back; a caller that carries on after a refusal must run the movement in a
savepoint). Consumption reported from the field is never refused (the part was used): a
van left with less than it holds for work orders, or below zero, is flagged for
reconciliation.

Defective returns go into the organisation's quarantine location (server/parts/service.py),
which nothing consumes or reserves from.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Numeric, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server import fastpaths
from server.auth import Actor
from server.db import driver, fetch
from server.errors import Conflict, Unprocessable
from server.events import service as events
from server.parts.locations import shown_name
from server.parts.models import LocationKind, MovementKind, Quantity, StockBalance, StockLevel
from server.parts.replenishment import service as replenishment
from shared.ids import uuid7

ZERO = Decimal(0)
NUMERIC_OUT_OF_RANGE = "22003"


def _largest(column: Numeric) -> Decimal:  # type: ignore[type-arg]
    assert column.precision is not None and column.scale is not None
    return Decimal(10) ** (column.precision - column.scale) - Decimal(10) ** -column.scale


# The largest on-hand or reserved quantity a balance holds (its column is Numeric(14, 3)).
MAX_BALANCE = _largest(Quantity)
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


class PartLike(Protocol):
    """What a movement needs of its part: a ``Part`` row, or a ``PartRef`` read without
    the ORM on the hot path."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def sku(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def cost(self) -> Decimal: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def serialised(self) -> bool: ...
    @property
    def active(self) -> bool: ...


class PlaceLike(Protocol):
    """What a movement needs of a location: a ``StockLocation`` row or a ``PlaceRef``."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class PartRef:
    id: uuid.UUID
    sku: str
    unit: str
    cost: Decimal
    price: Decimal
    serialised: bool
    active: bool


@dataclass(frozen=True)
class PlaceRef:
    id: uuid.UUID
    name: str
    kind: str
    active: bool


@dataclass(frozen=True)
class Move:
    kind: MovementKind
    part: PartLike
    quantity: Decimal
    source: PlaceLike | None = None
    destination: PlaceLike | None = None
    ticket_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    condition: str | None = None
    reason: str | None = None
    from_field: bool = False
    # Serialised parts: the one unit this line moves (server/parts/serials/service.py).
    serial_number: str | None = None


@dataclass(frozen=True)
class Line:
    """A ledger line as written (the row is in stock_movements; a plain record, so that
    the hot path builds no ORM object)."""

    id: uuid.UUID
    org_id: uuid.UUID
    kind: str
    part_id: uuid.UUID
    quantity: Decimal
    from_location_id: uuid.UUID | None
    to_location_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    condition: str | None
    serial_number: str | None
    reason: str | None
    unit_cost: Decimal
    unit_price: Decimal | None  # consumptions: the customer price at that moment
    from_field: bool
    actor: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Balance:
    """A balance as the movement left it, with the location's replenishment level."""

    on_hand: Decimal
    reserved: Decimal
    minimum: Decimal | None = None


# The hot path is one statement: the on-hand change of both locations (rows locked in
# location-id order, so an A->B and a B->A transfer never deadlock), the ledger line, and
# the levels to compare against. Shortages are checked on what it returns: the row locks
# are held to the end of the transaction, and a refusal rolls the whole request back.
# Sent straight through asyncpg (server.db.driver): the one statement every movement
# sends, at about half the client CPU of the same text() through SQLAlchemy. $1-$16 are
# the ledger line's columns in _LINE_COLUMNS' order, $17 and $18 the locations and deltas.
_LINE_COLUMNS = (
    "id",
    "org_id",
    "kind",
    "part_id",
    "quantity",
    "from_location_id",
    "to_location_id",
    "ticket_id",
    "visit_id",
    "condition",
    "serial_number",
    "reason",
    "unit_cost",
    "unit_price",
    "from_field",
    "actor",
)
_SHIFT = """
    WITH shifted AS (
        INSERT INTO stock_balances AS b
               (location_id, part_id, org_id, on_hand, reserved, needs_reconciliation)
        SELECT d.location_id, $4, $2, d.delta, 0, false
          FROM unnest($17::uuid[], $18::numeric[]) WITH ORDINALITY AS d(location_id, delta, n)
         ORDER BY d.n
        ON CONFLICT (location_id, part_id) DO UPDATE
           SET on_hand = b.on_hand + excluded.on_hand, updated_at = now()
        RETURNING b.location_id, b.on_hand, b.reserved
    ), line AS (
        INSERT INTO stock_movements
               (id, org_id, kind, part_id, quantity, from_location_id, to_location_id,
                ticket_id, visit_id, condition, serial_number, reason, unit_cost, unit_price,
                from_field, actor)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        RETURNING created_at
    )
    SELECT s.location_id, s.on_hand, s.reserved, l.minimum,
           (SELECT created_at FROM line) AS created_at
      FROM shifted s
      LEFT JOIN stock_levels l ON l.location_id = s.location_id AND l.part_id = $4
    """
_LINE = text(
    """
    INSERT INTO stock_movements
           (id, org_id, kind, part_id, quantity, from_location_id, to_location_id, ticket_id,
            visit_id, condition, serial_number, reason, unit_cost, unit_price, from_field,
            actor)
    VALUES (:id, :org_id, :kind, :part_id, :quantity, :from_location_id, :to_location_id,
            :ticket_id, :visit_id, :condition, :serial_number, :reason, :unit_cost,
            :unit_price, :from_field, :actor)
    RETURNING created_at
    """
)
# Reservations: reserving takes available stock under the row lock (the WHERE is
# re-evaluated after waiting), releasing gives it back.
_RESERVE = text(
    """
    UPDATE stock_balances SET reserved = reserved + :quantity, updated_at = now()
     WHERE location_id = :location_id AND part_id = :part_id
       AND on_hand - reserved >= :quantity
    RETURNING on_hand, reserved
    """
)
_UNRESERVE = text(
    """
    UPDATE stock_balances SET reserved = reserved - :quantity, updated_at = now()
     WHERE location_id = :location_id AND part_id = :part_id
    RETURNING on_hand, reserved
    """
)
_AVAILABLE = text(
    """
    SELECT on_hand - reserved FROM stock_balances
     WHERE location_id = :location_id AND part_id = :part_id
    """
)
_LOCK = text(
    """
    SELECT on_hand, reserved FROM stock_balances
     WHERE location_id = :location_id AND part_id = :part_id
       FOR UPDATE
    """
)
_FLAG = text(
    """
    UPDATE stock_balances SET needs_reconciliation = :flag
     WHERE location_id = :location_id AND part_id = :part_id
       AND needs_reconciliation IS DISTINCT FROM :flag
    """
)
_OUTSTANDING = text(
    """
    SELECT coalesce(sum(CASE kind WHEN 'reserve' THEN quantity ELSE -quantity END), 0)
      FROM stock_movements
     WHERE ticket_id = :ticket_id AND part_id = :part_id AND from_location_id = :location_id
       AND kind IN ('reserve', 'release')
    """
)


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _beyond_a_balance(part: PartLike, q: Decimal) -> Unprocessable:
    """Each quantity is bounded, their sum in a balance is not: a balance past its column
    was the database's "numeric field overflow", answered as a 422 naming nothing."""
    return Unprocessable(
        f"moving {_fmt(q)} {part.unit} of {part.sku} would take a balance past "
        f"±{_fmt(MAX_BALANCE)}, the most a stock balance holds: check the quantity",
        field="quantity",
        part_id=str(part.id),
    )


def _shown(actor: Actor, location: PlaceLike) -> str:
    """The location as the caller may read its name: a problem must not name the engineer
    a van belongs to, or a customer's site, to a caller who could not read them."""
    return shown_name(actor, location.kind, location.name)


def _shortage(
    actor: Actor, location: PlaceLike, part: PartLike, have: Decimal, need: Decimal
) -> StockShortage:
    return StockShortage(
        f"{_shown(actor, location)} has {_fmt(have)} {part.unit} of {part.sku} available, "
        f"{_fmt(need)} needed: short by {_fmt(need - have)}",
        available=str(have),
        shortfall=str(need - have),
        location_id=str(location.id),
        part_id=str(part.id),
    )


async def outstanding_reservation(
    session: AsyncSession, *, location_id: uuid.UUID, part_id: uuid.UUID, ticket_id: uuid.UUID
) -> Decimal:
    """What a work order still has reserved of a part at a location (reserve - release)."""
    params = {"location_id": location_id, "part_id": part_id, "ticket_id": ticket_id}
    held: Decimal = (await session.execute(_OUTSTANDING, params)).scalar_one()
    return held


async def lock_balance(
    session: AsyncSession, location_id: uuid.UUID, part_id: uuid.UUID
) -> Balance | None:
    """Every reservation change of a (location, part) updates this row, so holding its lock
    makes "read the work order's outstanding reservation, then release" safe."""
    params = {"location_id": location_id, "part_id": part_id}
    row = (await session.execute(_LOCK, params)).first()
    return Balance(row.on_hand, row.reserved) if row is not None else None


def _params(
    actor: Actor,
    move: Move,
    kind: MovementKind,
    quantity: Decimal,
    line_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": line_id or uuid7(),
        "org_id": actor.org_id,
        "kind": kind.value,
        "part_id": move.part.id,
        "quantity": quantity,
        "from_location_id": move.source.id if move.source else None,
        "to_location_id": move.destination.id if move.destination else None,
        "ticket_id": move.ticket_id,
        "visit_id": move.visit_id,
        "condition": move.condition,
        "serial_number": move.serial_number,
        "reason": move.reason,
        "unit_cost": move.part.cost,
        "unit_price": move.part.price if kind is MovementKind.CONSUME else None,
        "from_field": move.from_field,
        "actor": actor.label,
    }


def _line(params: dict[str, Any], created_at: dt.datetime) -> Line:
    return Line(**params, created_at=created_at)


async def _write_line(
    session: AsyncSession,
    actor: Actor,
    move: Move,
    kind: MovementKind,
    quantity: Decimal,
    line_id: uuid.UUID | None = None,
) -> Line:
    params = _params(actor, move, kind, quantity, line_id)
    created_at = (await session.execute(_LINE, params)).scalar_one()
    return _line(params, created_at)


async def record(session: AsyncSession, actor: Actor, move: Move) -> Line:
    """Apply one movement to the balances and write its ledger line (shape already checked)."""
    if move.kind is MovementKind.RESERVE:
        return await _reserve(session, actor, move)
    if move.kind is MovementKind.RELEASE:
        return await _release(session, actor, move)
    kind, part, q = move.kind, move.part, move.quantity
    source = move.source if kind in _OUT else None
    destination = move.destination if kind in _IN else None
    deltas: dict[uuid.UUID, Decimal] = {}
    if source is not None:
        deltas[source.id] = -q
    if destination is not None:
        deltas[destination.id] = deltas.get(destination.id, ZERO) + q
    order = sorted(deltas)
    # A consumption for a work order may first release its reservation: that line comes
    # first in the ledger (ids are time-ordered), so its id is taken now.
    release_id = uuid7() if kind is MovementKind.CONSUME and move.ticket_id else None
    params = _params(actor, move, kind, q)
    shift = [(location_id, deltas[location_id]) for location_id in order]
    try:
        if fastpaths.enabled("parts.ledger_shift"):
            after, created_at = await _shift_now(session, params, shift)
        else:
            after, created_at = await _shift_orm(session, params, shift)
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if state != NUMERIC_OUT_OF_RANGE:
            raise
        raise _beyond_a_balance(part, q) from None
    line = _line(params, created_at)
    if source is not None:
        held = after[source.id]
        if kind is MovementKind.CONSUME and move.ticket_id is not None:
            assert release_id is not None
            held = await _use_reservation(session, actor, move, held, release_id)
            after[source.id] = held
        if move.from_field or kind is MovementKind.RETURN:
            await _field_check(session, actor, source, part, held)
        elif held.on_hand - held.reserved < 0:
            raise _shortage(actor, source, part, held.on_hand - held.reserved + q, q)
    if kind is MovementKind.ADJUST:
        assert destination is not None
        # A correction the field implied (a unit found in a van) is not a count.
        await _counted(
            session,
            actor,
            destination,
            part,
            after[destination.id],
            q,
            counted=not move.from_field,
        )
    await replenishment.announce_crossings(
        session, actor, part.id, part.sku, [(loc, b.on_hand, b.minimum) for loc, b in after.items()]
    )
    return line


Shifted = tuple[dict[uuid.UUID, Balance], dt.datetime]


async def _shift_now(
    session: AsyncSession, params: dict[str, Any], shift: list[tuple[uuid.UUID, Decimal]]
) -> Shifted:
    """The fast path ``parts.ledger_shift`` (server/fastpaths.py): ``shift``'s on-hand
    changes (in lock order), the ledger line and the locations' minimums in one statement;
    the balances as left, and the line's ``created_at``."""
    rows = await fetch(
        await driver(session),
        _SHIFT,
        *(params[column] for column in _LINE_COLUMNS),
        [location_id for location_id, _ in shift],
        [delta for _, delta in shift],
    )
    return {row[0]: Balance(row[1], row[2], row[3]) for row in rows}, rows[0][4]


async def _shift_orm(
    session: AsyncSession, params: dict[str, Any], shift: list[tuple[uuid.UUID, Decimal]]
) -> Shifted:
    """``_shift_now``'s ORM twin: each balance upserted in turn (the same lock order), the
    line, then the minimums."""
    held: dict[uuid.UUID, tuple[Decimal, Decimal]] = {}
    for location_id, delta in shift:
        values = insert(StockBalance).values(
            location_id=location_id,
            part_id=params["part_id"],
            org_id=params["org_id"],
            on_hand=delta,
            reserved=ZERO,
            needs_reconciliation=False,
        )
        upsert = values.on_conflict_do_update(
            index_elements=[StockBalance.location_id, StockBalance.part_id],
            set_={
                "on_hand": StockBalance.on_hand + values.excluded.on_hand,
                "updated_at": func.now(),
            },
        ).returning(StockBalance.on_hand, StockBalance.reserved)
        row = (await session.execute(upsert)).one()
        held[location_id] = (row.on_hand, row.reserved)
    created_at: dt.datetime = (await session.execute(_LINE, params)).scalar_one()
    levels = await session.execute(
        select(StockLevel.location_id, StockLevel.minimum).where(
            StockLevel.part_id == params["part_id"], StockLevel.location_id.in_(list(held))
        )
    )
    minimums = {location_id: minimum for location_id, minimum in levels}
    after = {
        location_id: Balance(on_hand, reserved, minimums.get(location_id))
        for location_id, (on_hand, reserved) in held.items()
    }
    return after, created_at


async def _field_check(
    session: AsyncSession, actor: Actor, location: PlaceLike, part: PartLike, held: Balance
) -> None:
    """Field consumption is never refused. A van (or warehouse) left with less than it
    holds for work orders, or below zero, is flagged and announced: someone must count
    it. A customer site going below zero only means the part was installed before
    Fixflow counted it."""
    if location.kind == LocationKind.CUSTOMER_SITE.value or held.on_hand >= held.reserved:
        return
    await session.execute(_FLAG, {"location_id": location.id, "part_id": part.id, "flag": True})
    events.emit(
        session,
        org_id=actor.org_id,
        topic="stock.discrepancy",
        aggregate_id=location.id,
        payload={
            "location_id": str(location.id),
            "part_id": str(part.id),
            "sku": part.sku,
            "on_hand": str(held.on_hand),
            "reserved": str(held.reserved),
        },
    )


async def _counted(
    session: AsyncSession,
    actor: Actor,
    location: PlaceLike,
    part: PartLike,
    held: Balance,
    q: Decimal,
    *,
    counted: bool,
) -> None:
    """An adjustment is a count: once the books match the shelf again (at least what is
    reserved, and not below zero), a discrepancy field consumption flagged is
    reconciled. A count down may not leave less than is reserved."""
    if q < 0 and held.on_hand < held.reserved:
        raise StockShortage(
            f"the adjustment would leave {_fmt(held.on_hand)} {part.unit} of {part.sku} at "
            f"{_shown(actor, location)}, below the {_fmt(held.reserved)} reserved",
            location_id=str(location.id),
            part_id=str(part.id),
        )
    if counted and held.on_hand >= 0 and held.on_hand >= held.reserved:
        await session.execute(
            _FLAG, {"location_id": location.id, "part_id": part.id, "flag": False}
        )


async def _reserve(session: AsyncSession, actor: Actor, move: Move) -> Line:
    source, part, q = move.source, move.part, move.quantity
    assert source is not None
    params = {"location_id": source.id, "part_id": part.id, "quantity": q}
    if (await session.execute(_RESERVE, params)).first() is None:
        have = (await session.execute(_AVAILABLE, params)).scalar()
        raise _shortage(actor, source, part, have if have is not None else ZERO, q)
    return await _write_line(session, actor, move, MovementKind.RESERVE, q)


async def _release(session: AsyncSession, actor: Actor, move: Move) -> Line:
    location, part, q = move.source, move.part, move.quantity
    assert location is not None and move.ticket_id is not None
    await lock_balance(session, location.id, part.id)
    held = await outstanding_reservation(
        session, location_id=location.id, part_id=part.id, ticket_id=move.ticket_id
    )
    if q > held:
        raise Unprocessable(
            f"the work order has {_fmt(held)} {part.unit} of {part.sku} reserved at "
            f"{_shown(actor, location)}; cannot release {_fmt(q)}"
        )
    params = {"location_id": location.id, "part_id": part.id, "quantity": q}
    await session.execute(_UNRESERVE, params)
    return await _write_line(session, actor, move, MovementKind.RELEASE, q)


async def _use_reservation(
    session: AsyncSession, actor: Actor, move: Move, held: Balance, line_id: uuid.UUID
) -> Balance:
    """Consuming for a work order first releases what that work order had reserved here,
    so the reserved units are the ones used (written as a release line). The source row
    is already locked by the consumption. Returns the source's balance after it."""
    assert move.source is not None and move.ticket_id is not None
    reserved = await outstanding_reservation(
        session, location_id=move.source.id, part_id=move.part.id, ticket_id=move.ticket_id
    )
    used = min(reserved, move.quantity)
    if used <= 0:
        return held
    params = {"location_id": move.source.id, "part_id": move.part.id, "quantity": used}
    row = (await session.execute(_UNRESERVE, params)).one()
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
    await _write_line(session, actor, release, MovementKind.RELEASE, used, line_id)
    return Balance(row.on_hand, row.reserved, held.minimum)


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


# Serialised parts: every stock location (not customer sites, which may hold units
# fitted before Fixflow) holds exactly the units recorded there, good or defective.
_UNITS_CHECK = text(
    """
    WITH units AS (
        SELECT u.location_id, u.part_id, count(*) AS units
          FROM stock_units u
          JOIN stock_locations l ON l.id = u.location_id AND l.kind <> 'customer_site'
          JOIN parts p ON p.id = u.part_id AND p.serialised
         WHERE u.org_id = :org AND u.status IN ('in_stock', 'returned')
         GROUP BY u.location_id, u.part_id
    ), balances AS (
        SELECT b.location_id, b.part_id, b.on_hand
          FROM stock_balances b
          JOIN parts p ON p.id = b.part_id AND p.serialised
          JOIN stock_locations l ON l.id = b.location_id AND l.kind <> 'customer_site'
         WHERE b.org_id = :org
    )
    SELECT coalesce(b.location_id, u.location_id) AS location_id,
           coalesce(b.part_id, u.part_id) AS part_id,
           coalesce(b.on_hand, 0) AS balance_on_hand, coalesce(u.units, 0) AS units
      FROM balances b
      FULL JOIN units u ON u.location_id = b.location_id AND u.part_id = b.part_id
     WHERE coalesce(b.on_hand, 0) <> coalesce(u.units, 0)
    """
)


async def check(session: AsyncSession, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """Balances that differ from the sum of their ledger lines, and serialised balances
    that differ from the units recorded at their location (empty when all agree)."""
    found = []
    for problem, query in (("ledger", _CHECK), ("units", _UNITS_CHECK)):
        rows = await session.execute(query, {"org": org_id})
        found += [{"problem": problem, **{str(k): v for k, v in r._mapping.items()}} for r in rows]
    return found
