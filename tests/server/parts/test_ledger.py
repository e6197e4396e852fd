"""The stock ledger (server/parts/ledger/service.py): balances always equal the sum of the ledger.

A property-based test drives random sequences of movements through the service with the
right actors, checks every outcome against an independent in-test model and runs
``ledger.check`` after every operation; unit scenarios pin the documented edge cases.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import Unprocessable
from server.events.models import OutboxEvent
from server.parts import service as parts_service
from server.parts.ledger import service as ledger
from server.parts.ledger.service import StockShortage
from server.parts.models import StockBalance, StockLocation, StockMovement
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_location, make_part, make_tenant, make_ticket
from tests.fixtures.factories import move as record_move

MOVEMENTS = "/api/v1/stock-movements"
ZERO = Decimal(0)


@dataclass
class Stock:
    t: Tenant
    part: Any
    warehouse: StockLocation
    van: StockLocation  # engineer1's
    ticket: Ticket  # assigned to engineer1, at the tenant's site

    @property
    def admin(self) -> Actor:
        return self.t.actor("admin")

    @property
    def engineer(self) -> Actor:
        return self.t.actor("engineer1")


async def _stock(db: AsyncSession) -> Stock:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    admin = t.actor("admin")
    part = await make_part(db, admin)
    warehouse = await make_location(db, admin)
    van = await parts_service.ensure_van(db, t.engineers[0])
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    return Stock(t, part, warehouse, van, ticket)


async def _balances(db: AsyncSession, org_id: uuid.UUID) -> dict[uuid.UUID, tuple[Any, ...]]:
    """(on_hand, reserved, needs_reconciliation) per location, read as plain rows."""
    rows = await db.execute(
        select(
            StockBalance.location_id,
            StockBalance.on_hand,
            StockBalance.reserved,
            StockBalance.needs_reconciliation,
        ).where(StockBalance.org_id == org_id)
    )
    return {r.location_id: (r.on_hand, r.reserved, r.needs_reconciliation) for r in rows}


async def _movement_count(db: AsyncSession, org_id: uuid.UUID) -> int:
    count = await db.scalar(select(func.count()).where(StockMovement.org_id == org_id))
    return int(count or 0)


# --- the model ----------------------------------------------------------------------------


@dataclass
class Model:
    """What the ledger should hold, computed without the database."""

    on_hand: dict[str, Decimal] = field(default_factory=dict)
    reserved: dict[str, Decimal] = field(default_factory=dict)  # the work order's, per place
    flagged: set[str] = field(default_factory=set)
    lines: int = 0

    def oh(self, where: str) -> Decimal:
        return self.on_hand.get(where, ZERO)

    def res(self, where: str) -> Decimal:
        return self.reserved.get(where, ZERO)

    def available(self, where: str) -> Decimal:
        return self.oh(where) - self.res(where)

    def _counted(self, place: str) -> None:
        # An adjustment is a count: at or above zero, the flagged discrepancy is reconciled.
        if self.oh(place) >= 0:
            self.flagged.discard(place)

    def add(self, where: str, q: Decimal) -> None:
        self.on_hand[where] = self.oh(where) + q

    def apply(self, op: tuple[str, ...], q: Decimal) -> str | None:
        """Apply an operation; returns the expected error ("409"/"422") or None."""
        kind, *places = op
        if kind == "receive":
            self.add(places[0], q)
        elif kind == "transfer":
            if self.available(places[0]) < q:
                return "409"
            self.add(places[0], -q)
            self.add(places[1], q)
        elif kind in ("consume", "field_consume"):
            src = places[0]
            used = min(self.res(src), q)
            if kind == "consume" and self.available(src) + used < q:
                return "409"
            self.reserved[src] = self.res(src) - used
            self.lines += 1 if used > 0 else 0
            self.add(src, -q)
            self.add("site", q)
            if kind == "field_consume" and self.oh(src) < 0:
                self.flagged.add(src)
        elif kind == "return":
            self.add("site", -q)
            self.add("van", q)  # a site below zero held parts installed before Fixflow
        elif kind == "adjust_up":
            self.add(places[0], q)
            self._counted(places[0])
        elif kind == "adjust_down":
            if self.oh(places[0]) - q < self.res(places[0]):
                return "409"
            self.add(places[0], -q)
            self._counted(places[0])
        elif kind == "scrap":
            if self.available(places[0]) < q:
                return "409"
            self.add(places[0], -q)
        elif kind == "reserve":
            if self.available(places[0]) < q:
                return "409"
            self.reserved[places[0]] = self.res(places[0]) + q
        elif kind == "release":
            if q > self.res(places[0]):
                return "422"
            self.reserved[places[0]] = self.res(places[0]) - q
        self.lines += 1
        return None


STOCK_PLACES = ("warehouse", "van")
RECEIVE = st.tuples(st.just("receive"), st.sampled_from(STOCK_PLACES))
RESERVATIONS = st.tuples(st.sampled_from(["reserve", "release"]), st.sampled_from(STOCK_PLACES))
# Receipts and reservations weigh double, so that stock and reservations exist to move.
OPS = st.one_of(
    RECEIVE,
    RECEIVE,
    RESERVATIONS,
    st.tuples(st.just("transfer"), st.permutations(STOCK_PLACES)).map(lambda x: (x[0], *x[1])),
    st.tuples(st.just("consume"), st.sampled_from(STOCK_PLACES)),
    st.tuples(st.just("field_consume"), st.just("van")),
    st.tuples(st.just("return")),
    st.tuples(st.sampled_from(["adjust_up", "adjust_down"]), st.sampled_from(STOCK_PLACES)),
    st.tuples(st.just("scrap"), st.sampled_from(STOCK_PLACES)),
    RESERVATIONS,
)
STEPS = st.lists(st.tuples(OPS, st.integers(min_value=1, max_value=3)), min_size=10, max_size=30)


def _request(s: Stock, op: tuple[str, ...], q: int) -> tuple[Actor, dict[str, Any]]:
    """The actor and the MovementCreate fields for one modelled operation."""
    kind, *places = op
    ids = {"warehouse": s.warehouse.id, "van": s.van.id}
    base: dict[str, Any] = {"part_id": s.part.id, "quantity": q}
    if kind == "receive":
        return s.admin, {**base, "kind": "receive", "to_location_id": ids[places[0]]}
    if kind == "transfer":
        src, dst = ids[places[0]], ids[places[1]]
        return s.admin, {
            **base,
            "kind": "transfer",
            "from_location_id": src,
            "to_location_id": dst,
        }
    if kind in ("consume", "field_consume"):
        who = s.admin if kind == "consume" else s.engineer
        body = {"kind": "consume", "from_location_id": ids[places[0]], "ticket_id": s.ticket.id}
        return who, {**base, **body}
    if kind == "return":
        body = {"kind": "return", "to_location_id": s.van.id, "ticket_id": s.ticket.id}
        return s.engineer, {**base, **body, "condition": "good"}
    if kind.startswith("adjust"):
        direction = "increase" if kind == "adjust_up" else "decrease"
        body = {"kind": "adjust", "to_location_id": ids[places[0]], "direction": direction}
        return s.admin, {**base, **body, "reason": "stock count"}
    if kind == "scrap":
        body = {"kind": "scrap", "from_location_id": ids[places[0]], "reason": "broken"}
        return s.admin, {**base, **body}
    body = {"kind": kind, "from_location_id": ids[places[0]], "ticket_id": s.ticket.id}
    return s.admin, {**base, **body}


async def _expect_model(db: AsyncSession, s: Stock, model: Model, after: str) -> None:
    org = s.t.org.id
    assert await ledger.check(db, org) == [], after
    assert await _movement_count(db, org) == model.lines, after
    site = await db.scalar(
        select(StockLocation.id).where(StockLocation.site_id == s.ticket.site_id)
    )
    balances = await _balances(db, org)
    places = {"warehouse": s.warehouse.id, "van": s.van.id, "site": site}
    for name, location_id in places.items():
        got = balances.get(location_id, (ZERO, ZERO, False)) if location_id else (ZERO, ZERO, False)
        want = (model.oh(name), model.res(name), name in model.flagged)
        assert got == want, f"{after}: {name} holds {got}, the model {want}"


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_random_movements_keep_balances_equal_to_the_ledger_and_the_model(
    db: AsyncSession, steps: list[tuple[tuple[str, ...], int]]
) -> None:
    example = await db.begin_nested()
    try:
        s = await _stock(db)
        model = Model()
        for i, (op, q) in enumerate(steps):
            actor, fields = _request(s, op, q)
            expected = model.apply(op, Decimal(q))
            outcome = None
            try:
                async with db.begin_nested():
                    await record_move(db, actor, **fields)
            except StockShortage:
                outcome = "409"
            except Unprocessable:
                outcome = "422"
            where = f"step {i} {op} x{q}"
            assert outcome == expected, f"{where}: got {outcome}, the model says {expected}"
            await _expect_model(db, s, model, where)
    finally:
        await example.rollback()


# --- unit scenarios -----------------------------------------------------------------------


async def test_warehouse_transfer_beyond_available_is_a_409_shortage_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _stock(db)
    base = {"part_id": s.part.id}
    await record_move(
        db, s.admin, **base, kind="receive", quantity=3, to_location_id=s.warehouse.id
    )
    await record_move(
        db,
        s.admin,
        **base,
        kind="reserve",
        quantity=1,
        from_location_id=s.warehouse.id,
        ticket_id=s.ticket.id,
    )
    await db.flush()
    before = (await _movement_count(db, s.t.org.id), await _balances(db, s.t.org.id))

    response = await client.post(
        MOVEMENTS,
        json={
            "kind": "transfer",
            "part_id": str(s.part.id),
            "quantity": "3",
            "from_location_id": str(s.warehouse.id),
            "to_location_id": str(s.van.id),
        },
        headers=s.t.headers("dispatcher"),
    )

    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "stock_shortage"
    assert Decimal(problem["shortfall"]) == 1
    assert Decimal(problem["available"]) == 2
    assert problem["location_id"] == str(s.warehouse.id)
    after = (await _movement_count(db, s.t.org.id), await _balances(db, s.t.org.id))
    assert after == before
    assert s.van.id not in after[1]


async def test_field_consumption_below_zero_is_accepted_flagged_and_announced(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _stock(db)
    await record_move(
        db, s.admin, part_id=s.part.id, kind="receive", quantity=1, to_location_id=s.van.id
    )
    await db.flush()

    response = await client.post(
        MOVEMENTS,
        json={
            "kind": "consume",
            "part_id": str(s.part.id),
            "quantity": "3",
            "from_location_id": str(s.van.id),
            "ticket_id": str(s.ticket.id),
        },
        headers=s.t.headers("engineer1"),
    )

    assert response.status_code == 201, response.text
    assert response.json()["from_field"] is True
    on_hand, reserved, flagged = (await _balances(db, s.t.org.id))[s.van.id]
    assert (on_hand, reserved, flagged) == (Decimal(-2), ZERO, True)
    events = (
        await db.scalars(
            select(OutboxEvent).where(
                OutboxEvent.org_id == s.t.org.id, OutboxEvent.topic == "stock.discrepancy"
            )
        )
    ).all()
    assert [(e.aggregate_id, e.payload["on_hand"]) for e in events] == [(s.van.id, "-2.000")]
    assert await ledger.check(db, s.t.org.id) == []


async def test_consuming_for_a_work_order_uses_its_reservation_first(db: AsyncSession) -> None:
    s = await _stock(db)
    base = {"part_id": s.part.id, "ticket_id": s.ticket.id}
    await record_move(
        db, s.admin, part_id=s.part.id, kind="receive", quantity=5, to_location_id=s.warehouse.id
    )
    await record_move(
        db, s.admin, **base, kind="reserve", quantity=3, from_location_id=s.warehouse.id
    )
    # Available is 2, yet 3 can be consumed: the work order's own reservation covers them.
    await record_move(
        db, s.admin, **base, kind="consume", quantity=3, from_location_id=s.warehouse.id
    )

    lines = (
        await db.execute(
            select(StockMovement.kind, StockMovement.quantity, StockMovement.ticket_id)
            .where(StockMovement.org_id == s.t.org.id)
            .order_by(StockMovement.id)
        )
    ).all()
    kinds = [(kind, quantity) for kind, quantity, _ in lines]
    assert kinds == [
        ("receive", Decimal(5)),
        ("reserve", Decimal(3)),
        ("release", Decimal(3)),
        ("consume", Decimal(3)),
    ]
    assert lines[2].ticket_id == s.ticket.id
    balances = await _balances(db, s.t.org.id)
    assert balances[s.warehouse.id] == (Decimal(2), ZERO, False)
    held = await ledger.outstanding_reservation(
        db, location_id=s.warehouse.id, part_id=s.part.id, ticket_id=s.ticket.id
    )
    assert held == 0
    assert await ledger.check(db, s.t.org.id) == []


async def test_consuming_more_than_reserved_releases_only_the_reservation(
    db: AsyncSession,
) -> None:
    s = await _stock(db)
    base = {"part_id": s.part.id, "ticket_id": s.ticket.id}
    await record_move(
        db, s.admin, part_id=s.part.id, kind="receive", quantity=5, to_location_id=s.warehouse.id
    )
    await record_move(
        db, s.admin, **base, kind="reserve", quantity=2, from_location_id=s.warehouse.id
    )
    await record_move(
        db, s.admin, **base, kind="consume", quantity=1, from_location_id=s.warehouse.id
    )

    balances = await _balances(db, s.t.org.id)
    assert balances[s.warehouse.id] == (Decimal(4), Decimal(1), False)
    release = await db.scalar(
        select(StockMovement.quantity).where(
            StockMovement.org_id == s.t.org.id, StockMovement.kind == "release"
        )
    )
    assert release == 1
    assert await ledger.check(db, s.t.org.id) == []


async def test_releasing_more_than_the_work_order_reserved_is_a_422(db: AsyncSession) -> None:
    s = await _stock(db)
    base = {"part_id": s.part.id, "ticket_id": s.ticket.id}
    await record_move(
        db, s.admin, part_id=s.part.id, kind="receive", quantity=5, to_location_id=s.warehouse.id
    )
    await record_move(
        db, s.admin, **base, kind="reserve", quantity=2, from_location_id=s.warehouse.id
    )
    count = await _movement_count(db, s.t.org.id)

    with pytest.raises(Unprocessable, match="cannot release 3"):
        async with db.begin_nested():
            await record_move(
                db, s.admin, **base, kind="release", quantity=3, from_location_id=s.warehouse.id
            )

    assert await _movement_count(db, s.t.org.id) == count
    assert (await _balances(db, s.t.org.id))[s.warehouse.id] == (Decimal(5), Decimal(2), False)


async def test_stock_movements_are_append_only_in_the_database(db: AsyncSession) -> None:
    s = await _stock(db)
    line = await record_move(
        db, s.admin, part_id=s.part.id, kind="receive", quantity=5, to_location_id=s.warehouse.id
    )
    await db.flush()
    for sql in (
        "UPDATE stock_movements SET quantity = 50 WHERE id = :id",
        "DELETE FROM stock_movements WHERE id = :id",
    ):
        with pytest.raises(DBAPIError):
            async with db.begin_nested():
                await db.execute(text(sql), {"id": line.id})
    quantity = await db.scalar(select(StockMovement.quantity).where(StockMovement.id == line.id))
    assert quantity == 5


async def test_counting_the_van_back_to_zero_reconciles_the_flag(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _stock(db)
    consume = {
        "kind": "consume",
        "part_id": str(s.part.id),
        "quantity": "2",
        "from_location_id": str(s.van.id),
        "ticket_id": str(s.ticket.id),
    }
    assert (
        await client.post(MOVEMENTS, json=consume, headers=s.t.headers("engineer1"))
    ).status_code == 201
    assert (await _balances(db, s.t.org.id))[s.van.id][2] is True
    count = {
        "kind": "adjust",
        "part_id": str(s.part.id),
        "quantity": "2",
        "to_location_id": str(s.van.id),
        "direction": "increase",
        "reason": "van counted: two found under the seat",
    }
    assert (
        await client.post(MOVEMENTS, json=count, headers=s.t.headers("admin"))
    ).status_code == 201
    assert (await _balances(db, s.t.org.id))[s.van.id] == (ZERO, ZERO, False)
    assert await ledger.check(db, s.t.org.id) == []


async def _near_the_largest_balance(
    db: AsyncSession, s: Stock, location: StockLocation, sign: int
) -> None:
    await record_move(
        db, s.admin, part_id=s.part.id, kind="receive", quantity=1, to_location_id=location.id
    )
    await db.flush()
    await db.execute(
        text("UPDATE stock_balances SET on_hand = :q WHERE location_id = :loc AND part_id = :part"),
        {"q": sign * (ledger.MAX_BALANCE - 1), "loc": location.id, "part": s.part.id},
    )


async def test_a_movement_taking_a_balance_past_its_column_is_a_422_naming_the_quantity(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Each quantity is at most 1,000,000,000, their sum in a balance is unbounded: the
    hundredth receipt of that many was the database's "numeric field overflow", a 422
    naming nothing ("a number is out of the range this field can hold"), and on the phone
    "the database refused this mutation (22003)"."""
    s = await _stock(db)
    await _near_the_largest_balance(db, s, s.warehouse, +1)
    before = (await _movement_count(db, s.t.org.id), await _balances(db, s.t.org.id))
    response = await client.post(
        MOVEMENTS,
        json={
            "kind": "receive",
            "part_id": str(s.part.id),
            "quantity": "2",
            "to_location_id": str(s.warehouse.id),
        },
        headers=s.t.headers("dispatcher"),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == "quantity" and problem["part_id"] == str(s.part.id)
    assert "99999999999.999" in problem["detail"], problem
    assert (await _movement_count(db, s.t.org.id), await _balances(db, s.t.org.id)) == before


async def test_a_field_consumption_past_the_largest_negative_balance_is_rejected_clearly(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    from tests.server.sync.helpers import Phone

    s = await _stock(db)
    await _near_the_largest_balance(db, s, s.van, -1)
    phone = Phone(client, s.t.headers("engineer1"))
    await phone.register()
    use = phone.mutation(
        "part.use",
        work_order_id=str(s.ticket.id),
        line_id=str(uuid.uuid4()),
        part_id=str(s.part.id),
        quantity="5",
    )
    note = phone.mutation(
        "note.add", work_order_id=str(s.ticket.id), note_id=str(uuid.uuid4()), text="after"
    )
    before = (await _movement_count(db, s.t.org.id), await _balances(db, s.t.org.id))
    response = await phone.push(use, note)
    assert response.status_code == 200, response.text
    result, after = response.json()["results"]
    assert result["outcome"] == "rejected"
    assert result["error"]["field"] == "quantity", result
    assert "the most a stock balance holds" in result["error"]["detail"], result
    # The shift is sent straight through asyncpg inside the mutation's savepoint: its
    # failure rolls back to that savepoint only (nothing of the consumption is kept, the
    # reservation release and site balance included) and the next mutation applies.
    assert after["outcome"] == "applied", after
    assert (await _movement_count(db, s.t.org.id), await _balances(db, s.t.org.id)) == before
