"""What the books and the field disagree on: a van left holding less than it reserved, a
serialised unit used from a van the books had elsewhere (or never had), two receipts of
one new serial at once, and ``ledger.check`` comparing units with serialised balances."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.events.models import OutboxEvent
from server.parts import service as parts_service
from server.parts.ledger import service as ledger
from server.parts.models import StockBalance, StockLocation, StockMovement, StockUnit
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_location, make_part, make_tenant, make_ticket
from tests.server.parts.test_stock_concurrency import _waiting_on

MOVES = "/api/v1/stock-movements"
ZERO = Decimal(0)


@dataclass
class Setup:
    t: Tenant
    part: Any
    warehouse: StockLocation
    van: StockLocation  # engineer1's
    other_van: StockLocation  # engineer2's
    ticket: Ticket  # assigned to engineer1, at the tenant's site, on the tenant's asset


async def _setup(db: AsyncSession, *, serialised: bool) -> Setup:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    admin = t.actor("admin")
    part = await make_part(db, admin, serialised=serialised)
    warehouse = await make_location(db, admin)
    van = await parts_service.ensure_van(db, t.engineers[0])
    other_van = await parts_service.ensure_van(db, t.engineers[1])
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await db.flush()
    return Setup(t, part, warehouse, van, other_van, ticket)


async def _post(
    client: httpx.AsyncClient, t: Tenant, who: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(MOVES, json=body, headers=t.headers(who))


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


async def _events(db: AsyncSession, org_id: uuid.UUID, topic: str) -> list[OutboxEvent]:
    rows = await db.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.org_id == org_id, OutboxEvent.topic == topic)
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
    )
    return list(rows.all())


async def _lines(db: AsyncSession, org_id: uuid.UUID) -> list[Any]:
    """The organisation's ledger, oldest first (ids are time-ordered)."""
    rows = await db.execute(
        select(
            StockMovement.kind,
            StockMovement.quantity,
            StockMovement.from_location_id,
            StockMovement.to_location_id,
            StockMovement.serial_number,
            StockMovement.from_field,
            StockMovement.reason,
            StockMovement.ticket_id,
        )
        .where(StockMovement.org_id == org_id)
        .order_by(StockMovement.id)
    )
    return list(rows.all())


async def _unit(db: AsyncSession, org_id: uuid.UUID, serial: str) -> Any:
    return (
        await db.execute(
            select(StockUnit.location_id, StockUnit.asset_id, StockUnit.status).where(
                StockUnit.org_id == org_id, StockUnit.serial_number == serial
            )
        )
    ).one()


async def _site_location(db: AsyncSession, t: Tenant) -> StockLocation:
    """The stock location of the tenant's site (made by the first consume or return)."""
    assert t.site is not None
    location = await db.scalar(select(StockLocation).where(StockLocation.site_id == t.site.id))
    assert location is not None
    return location


def _receive(s: Setup, where: StockLocation, *serials: str) -> dict[str, Any]:
    return {
        "kind": "receive",
        "part_id": str(s.part.id),
        "quantity": str(len(serials)),
        "to_location_id": str(where.id),
        "serial_numbers": list(serials),
    }


def _field_consume(s: Setup, *serials: str) -> dict[str, Any]:
    return {
        "kind": "consume",
        "part_id": str(s.part.id),
        "quantity": str(len(serials)),
        "from_location_id": str(s.van.id),
        "ticket_id": str(s.ticket.id),
        "serial_numbers": list(serials),
    }


# --- 1. a van left holding less than it has reserved -----------------------------------------


async def _van_with_a_reservation(
    client: httpx.AsyncClient, db: AsyncSession, *, on_hand: int, reserved: int
) -> tuple[Setup, Ticket]:
    """engineer1's van holds ``on_hand`` units, ``reserved`` of them for a second work
    order (also engineer1's), not the setup's ticket."""
    s = await _setup(db, serialised=False)
    assert s.t.customer and s.t.site and s.t.asset
    reserving = await make_ticket(
        db,
        s.t.actor("dispatcher"),
        s.t.customer,
        s.t.site,
        s.t.asset,
        assign_to=s.t.engineers[0],
    )
    receive = {
        "kind": "receive",
        "part_id": str(s.part.id),
        "quantity": str(on_hand),
        "to_location_id": str(s.van.id),
    }
    assert (await _post(client, s.t, "admin", receive)).status_code == 201
    reserve = {
        "kind": "reserve",
        "part_id": str(s.part.id),
        "quantity": str(reserved),
        "from_location_id": str(s.van.id),
        "ticket_id": str(reserving.id),
    }
    response = await _post(client, s.t, "dispatcher", reserve)
    assert response.status_code == 201, response.text
    return s, reserving


def _consume_plain(s: Setup, quantity: int, ticket: Ticket) -> dict[str, Any]:
    return {
        "kind": "consume",
        "part_id": str(s.part.id),
        "quantity": str(quantity),
        "from_location_id": str(s.van.id),
        "ticket_id": str(ticket.id),
    }


async def test_field_consumption_leaving_less_than_reserved_is_flagged_and_announced(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s, _reserving = await _van_with_a_reservation(client, db, on_hand=3, reserved=2)

    # The engineer uses two on their own work order: the van still holds one, but owes two.
    response = await _post(client, s.t, "engineer1", _consume_plain(s, 2, s.ticket))

    assert response.status_code == 201, response.text
    assert response.json()["from_field"] is True
    assert (await _balances(db, s.t.org.id))[s.van.id] == (Decimal(1), Decimal(2), True)
    events = await _events(db, s.t.org.id, "stock.discrepancy")
    assert [
        (e.aggregate_id, Decimal(e.payload["on_hand"]), Decimal(e.payload["reserved"]))
        for e in events
    ] == [(s.van.id, Decimal(1), Decimal(2))]
    assert events[0].payload["location_id"] == str(s.van.id)
    assert events[0].payload["part_id"] == str(s.part.id)
    # The other work order's reservation is untouched: no release line was written.
    assert [line.kind for line in await _lines(db, s.t.org.id)] == [
        "receive",
        "reserve",
        "consume",
    ]
    assert await ledger.check(db, s.t.org.id) == []


async def test_field_consumption_leaving_exactly_what_is_reserved_raises_no_flag(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s, _reserving = await _van_with_a_reservation(client, db, on_hand=5, reserved=2)

    response = await _post(client, s.t, "engineer1", _consume_plain(s, 3, s.ticket))

    assert response.status_code == 201, response.text
    assert (await _balances(db, s.t.org.id))[s.van.id] == (Decimal(2), Decimal(2), False)
    assert await _events(db, s.t.org.id, "stock.discrepancy") == []
    assert await ledger.check(db, s.t.org.id) == []


async def test_field_consumption_for_the_reserving_work_order_uses_its_reservation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s, reserving = await _van_with_a_reservation(client, db, on_hand=3, reserved=2)

    response = await _post(client, s.t, "engineer1", _consume_plain(s, 2, reserving))

    assert response.status_code == 201, response.text
    # Its own reservation is released first: one left, none owed, nothing to flag.
    assert (await _balances(db, s.t.org.id))[s.van.id] == (Decimal(1), ZERO, False)
    assert await _events(db, s.t.org.id, "stock.discrepancy") == []
    assert await ledger.check(db, s.t.org.id) == []


# --- 2. a serialised unit used from the van that the books had elsewhere ----------------------


async def test_field_consume_of_a_unit_recorded_in_the_warehouse_transfers_it_first(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _setup(db, serialised=True)
    org = s.t.org.id
    assert (await _post(client, s.t, "admin", _receive(s, s.warehouse, "W-1", "W-2"))).is_success
    assert (await _post(client, s.t, "admin", _receive(s, s.van, "V-1"))).is_success
    before = await _balances(db, org)
    assert before[s.warehouse.id][0] == 2 and before[s.van.id][0] == 1

    response = await _post(client, s.t, "engineer1", _field_consume(s, "W-1"))

    assert response.status_code == 201, response.text
    site = await _site_location(db, s.t)
    lines = await _lines(db, org)
    transfer, consume = lines[-2:]
    assert (
        transfer.kind,
        transfer.quantity,
        transfer.from_location_id,
        transfer.to_location_id,
        transfer.serial_number,
        transfer.from_field,
        transfer.ticket_id,
    ) == ("transfer", Decimal(1), s.warehouse.id, s.van.id, "W-1", True, s.ticket.id)
    assert transfer.reason is not None and "W-1" in transfer.reason
    assert (
        consume.kind,
        consume.from_location_id,
        consume.to_location_id,
        consume.serial_number,
        consume.from_field,
    ) == ("consume", s.van.id, site.id, "W-1", True)
    unit = await _unit(db, org, "W-1")
    assert s.t.asset is not None
    assert (unit.location_id, unit.asset_id, unit.status) == (site.id, s.t.asset.id, "installed")
    after = await _balances(db, org)
    assert after[s.warehouse.id][0] == before[s.warehouse.id][0] - 1
    assert after[s.van.id][0] == before[s.van.id][0]
    assert after[s.warehouse.id][2] is False  # it still holds what it reserved (nothing)
    assert await ledger.check(db, org) == []
    (event,) = await _events(db, org, "stock_unit.discrepancy")
    assert event.aggregate_id == s.van.id
    assert event.payload["serial_number"] == "W-1"
    assert event.payload["recorded_location_id"] == str(s.warehouse.id)
    assert event.payload["recorded_status"] == "in_stock"
    verify = await client.get(f"{MOVES}/verify", headers=s.t.headers("admin"))
    assert verify.json() == {"ok": True, "mismatches": []}


async def test_field_consume_answers_with_the_consume_line_not_the_correction(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The engineer posted a consume: the 201 describes that consume (from their van),
    not the correcting transfer from a warehouse they cannot even see."""
    s = await _setup(db, serialised=True)
    assert (await _post(client, s.t, "admin", _receive(s, s.warehouse, "W-1"))).is_success

    response = await _post(client, s.t, "engineer1", _field_consume(s, "W-1"))

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kind"], body["from_location_id"], body["serial_number"]) == (
        "consume",
        str(s.van.id),
        "W-1",
    )


async def test_field_consume_of_a_unit_in_another_van_takes_it_from_that_van(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _setup(db, serialised=True)
    org = s.t.org.id
    assert (await _post(client, s.t, "admin", _receive(s, s.other_van, "O-1", "O-2"))).is_success

    response = await _post(client, s.t, "engineer1", _field_consume(s, "O-1"))

    assert response.status_code == 201, response.text
    transfer = (await _lines(db, org))[-2]
    assert (transfer.kind, transfer.from_location_id, transfer.to_location_id) == (
        "transfer",
        s.other_van.id,
        s.van.id,
    )
    after = await _balances(db, org)
    assert after[s.other_van.id][0] == 1
    assert after[s.van.id][0] == 0
    assert (await _unit(db, org, "O-1")).status == "installed"
    assert await ledger.check(db, org) == []


async def test_a_correcting_transfer_leaving_the_warehouse_short_of_reservations_flags_it(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _setup(db, serialised=True)
    assert s.t.customer and s.t.site and s.t.asset
    org = s.t.org.id
    assert (await _post(client, s.t, "admin", _receive(s, s.warehouse, "W-1"))).is_success
    other = await make_ticket(db, s.t.actor("dispatcher"), s.t.customer, s.t.site, s.t.asset)
    await db.flush()
    reserve = {
        "kind": "reserve",
        "part_id": str(s.part.id),
        "quantity": "1",
        "from_location_id": str(s.warehouse.id),
        "ticket_id": str(other.id),
    }
    assert (await _post(client, s.t, "dispatcher", reserve)).status_code == 201

    response = await _post(client, s.t, "engineer1", _field_consume(s, "W-1"))

    assert response.status_code == 201, response.text
    assert (await _balances(db, org))[s.warehouse.id] == (ZERO, Decimal(1), True)
    (event,) = await _events(db, org, "stock.discrepancy")
    assert event.aggregate_id == s.warehouse.id
    assert await ledger.check(db, org) == []


async def test_field_consume_of_a_never_seen_serial_counts_it_into_the_van_first(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _setup(db, serialised=True)
    org = s.t.org.id
    assert (await _post(client, s.t, "admin", _receive(s, s.van, "V-1"))).is_success
    before = await _balances(db, org)

    response = await _post(client, s.t, "engineer1", _field_consume(s, "GHOST-7"))

    assert response.status_code == 201, response.text
    site = await _site_location(db, s.t)
    adjust, consume = (await _lines(db, org))[-2:]
    assert (
        adjust.kind,
        adjust.quantity,
        adjust.from_location_id,
        adjust.to_location_id,
        adjust.serial_number,
        adjust.from_field,
    ) == ("adjust", Decimal(1), None, s.van.id, "GHOST-7", True)
    assert adjust.reason is not None and "GHOST-7" in adjust.reason
    assert (consume.kind, consume.from_location_id, consume.to_location_id) == (
        "consume",
        s.van.id,
        site.id,
    )
    after = await _balances(db, org)
    assert after[s.van.id] == before[s.van.id]
    unit = await _unit(db, org, "GHOST-7")
    assert s.t.asset is not None
    assert (unit.location_id, unit.asset_id, unit.status) == (site.id, s.t.asset.id, "installed")
    (event,) = await _events(db, org, "stock_unit.discrepancy")
    assert event.payload["serial_number"] == "GHOST-7"
    assert event.payload["recorded_location_id"] is None
    assert event.payload["recorded_status"] is None
    assert await ledger.check(db, org) == []


# --- 3. two receipts of one new serial at once --------------------------------------------


async def test_concurrent_receipts_of_one_new_serial_give_one_201_and_one_409(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    """A separate transaction holds the serial's unique key (an uncommitted unit row) while
    both requests start; once PostgreSQL reports both waiting on it, it rolls back, so the
    two requests race for the key for real. The loser must learn the serial is taken."""
    db = committing_db
    t = await make_tenant(db, "serial race")
    admin = t.actor("admin")
    part = await make_part(db, admin, serialised=True)
    warehouse = await make_location(db, admin)
    await db.commit()
    org_id, part_id, warehouse_id = t.org.id, part.id, warehouse.id
    serial = f"RACE-{uuid.uuid4().hex[:8]}"
    body = {
        "kind": "receive",
        "part_id": str(part_id),
        "quantity": "1",
        "to_location_id": str(warehouse_id),
        "serial_numbers": [serial],
    }
    headers = t.headers("admin")
    async with engine.connect() as blocker, engine.connect() as monitor:
        await blocker.execute(
            text(
                "INSERT INTO stock_units (id, org_id, part_id, serial_number, status) "
                "VALUES (:id, :org, :part, :serial, 'in_stock')"
            ),
            {"id": uuid.uuid4(), "org": org_id, "part": part_id, "serial": serial},
        )
        pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
        tasks = [
            asyncio.ensure_future(committing_client.post(MOVES, json=body, headers=headers))
            for _ in range(2)
        ]
        try:
            for _ in range(250):
                if await _waiting_on(monitor, pid) >= 2 or any(task.done() for task in tasks):
                    break
                await asyncio.sleep(0.02)
            overlapped = await _waiting_on(monitor, pid)
        finally:
            await blocker.rollback()
        responses = await asyncio.gather(*tasks)

    assert overlapped == 2, f"only {overlapped} requests waited on the serial together"
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 1}, [r.text for r in responses]
    (refused,) = [r.json() for r in responses if r.status_code == 409]
    assert refused["code"] == "stock_unit_conflict"
    assert refused["serial_number"] == serial
    await db.rollback()
    units = (
        await db.execute(
            select(StockUnit.location_id, StockUnit.status).where(
                StockUnit.org_id == org_id, StockUnit.serial_number == serial
            )
        )
    ).all()
    assert [(u.location_id, u.status) for u in units] == [(warehouse_id, "in_stock")]
    on_hand = await db.scalar(
        select(StockBalance.on_hand).where(
            StockBalance.location_id == warehouse_id, StockBalance.part_id == part_id
        )
    )
    assert on_hand == 1
    assert await ledger.check(db, org_id) == []


# --- 4. ledger.check compares units with serialised balances -------------------------------


async def test_check_reports_units_at_a_location_its_balance_does_not_count(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _setup(db, serialised=True)
    org = s.t.org.id
    second = await make_location(db, s.t.actor("admin"))
    await db.flush()
    assert (await _post(client, s.t, "admin", _receive(s, s.warehouse, "A-1", "A-2"))).is_success
    assert (await _post(client, s.t, "admin", _receive(s, second, "B-1"))).is_success
    # A unit fitted before Fixflow comes back from the site: the site's balance goes
    # below zero with no unit recorded there, which is not a disagreement.
    back = {
        "kind": "return",
        "part_id": str(s.part.id),
        "quantity": "1",
        "to_location_id": str(s.van.id),
        "ticket_id": str(s.ticket.id),
        "condition": "good",
        "serial_numbers": ["FACTORY-1"],
    }
    response = await _post(client, s.t, "engineer1", back)
    assert response.status_code == 201, response.text
    site = await _site_location(db, s.t)
    assert (await _balances(db, org))[site.id][0] == -1
    assert await ledger.check(db, org) == []

    await db.execute(
        text(
            "UPDATE stock_units SET location_id = :second "
            "WHERE org_id = :org AND serial_number = 'A-1'"
        ),
        {"second": second.id, "org": org},
    )

    problems = await ledger.check(db, org)
    assert {p["problem"] for p in problems} == {"units"}  # the ledger itself still adds up
    found = {p["location_id"]: (p["balance_on_hand"], p["units"]) for p in problems}
    assert found == {s.warehouse.id: (2, 1), second.id: (1, 2)}
    assert all(p["part_id"] == s.part.id for p in problems)
    verify = (await client.get(f"{MOVES}/verify", headers=s.t.headers("admin"))).json()
    assert verify["ok"] is False
    assert {m["location_id"] for m in verify["mismatches"]} == {
        str(s.warehouse.id),
        str(second.id),
    }


async def test_check_reports_a_unit_whose_location_has_no_balance_row(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _setup(db, serialised=True)
    org = s.t.org.id
    assert (await _post(client, s.t, "admin", _receive(s, s.warehouse, "A-1"))).is_success
    assert s.other_van.id not in await _balances(db, org)

    await db.execute(
        text("UPDATE stock_units SET location_id = :van WHERE org_id = :org"),
        {"van": s.other_van.id, "org": org},
    )

    problems = await ledger.check(db, org)
    found = {(p["problem"], p["location_id"], p["balance_on_hand"], p["units"]) for p in problems}
    assert found == {("units", s.warehouse.id, 1, 0), ("units", s.other_van.id, 0, 1)}
