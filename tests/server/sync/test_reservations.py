"""Reserved parts reach the engineer's phone: the reserve and release lines of their work
come with the snapshot, a later reservation or release (by the office, or by a part used
on the job) with the next pull, and they follow the work order when it is reassigned."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.tickets import service as tickets
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_location, make_part, make_tenant, move
from tests.server.sync.helpers import Phone, assigned, changes_of, new_id


async def _stocked(db: AsyncSession, t: Tenant) -> tuple[Any, Any]:
    admin = t.actor("admin")
    part = await make_part(db, admin, name="Condenser fan")
    warehouse = await make_location(db, admin)
    await move(db, admin, kind="receive", part_id=part.id, quantity=10, to_location_id=warehouse.id)
    return part, warehouse


async def _reserve(db: AsyncSession, t: Tenant, part: Any, where: Any, ticket: Any, q: int) -> Any:
    line = await move(
        db,
        t.actor("admin"),
        kind="reserve",
        part_id=part.id,
        quantity=q,
        from_location_id=where.id,
        ticket_id=ticket.id,
    )
    await db.flush()
    return line


def _lines(phone: Phone, ticket: Any) -> dict[str, dict[str, Any]]:
    return {
        key: row
        for (entity, key), row in phone.rows.items()
        if entity == "reservation" and row["work_order_id"] == str(ticket.id)
    }


def _outstanding(phone: Phone, ticket: Any) -> Decimal:
    return sum(
        (Decimal(r["quantity"]) * (1 if r["kind"] == "reserve" else -1))
        for r in _lines(phone, ticket).values()
    ) or Decimal(0)


async def test_reservations_come_with_the_snapshot_and_only_the_engineers(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    part, warehouse = await _stocked(db, t)
    mine = await assigned(db, t)
    theirs = await assigned(db, t, engineer=2)
    line = await _reserve(db, t, part, warehouse, mine, 3)
    await _reserve(db, t, part, warehouse, theirs, 2)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()

    [row] = _lines(phone, mine).values()
    assert row == {
        "id": str(line.id),
        "kind": "reserve",
        "part_id": str(part.id),
        "quantity": "3.000",
        "location_id": str(warehouse.id),
        "work_order_id": str(mine.id),
        "visit_id": None,
        "reason": None,
        "created_at": row["created_at"],
    }
    assert _lines(phone, theirs) == {}


async def test_a_later_reservation_or_release_reaches_the_phone_once(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession
) -> None:
    """On real commits (the look-up goes by the writing transaction, and in the rolled-back
    fixtures every write shares the test's one transaction)."""
    db = committing_db
    t = await make_tenant(db, "Sync reservations")
    part, warehouse = await _stocked(db, t)
    ticket = await assigned(db, t)
    await db.commit()
    phone = Phone(committing_client, t.headers("engineer1"))
    await phone.register()
    await phone.sync()
    assert _lines(phone, ticket) == {}

    await _reserve(db, t, part, warehouse, ticket, 4)
    await db.commit()
    pages = await phone.sync()
    assert [c["entity"] for c in changes_of(pages)] == ["reservation"]
    assert _outstanding(phone, ticket) == 4

    await move(
        db,
        t.actor("admin"),
        kind="release",
        part_id=part.id,
        quantity=1,
        from_location_id=warehouse.id,
        ticket_id=ticket.id,
    )
    await db.commit()
    pages = await phone.sync()
    assert [(c["entity"], c["data"]["kind"]) for c in changes_of(pages)] == [
        ("reservation", "release")
    ]
    assert _outstanding(phone, ticket) == 3
    assert changes_of(await phone.sync()) == []  # nothing sent twice


async def test_a_part_used_on_the_job_releases_its_reservation_on_the_phone(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    """The engineer uses two of the three reserved in their van: the ledger releases two
    (a release line of its own) and the phone shows one still reserved."""
    t = await make_tenant(db)
    part, _ = await _stocked(db, t)
    from server.parts import service as parts_service

    van = await parts_service.ensure_van(db, t.engineers[0])
    await move(
        db, t.actor("admin"), kind="receive", part_id=part.id, quantity=5, to_location_id=van.id
    )
    ticket = await assigned(db, t)
    await _reserve(db, t, part, van, ticket, 3)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    assert _outstanding(phone, ticket) == 3
    wo = str(ticket.id)
    for name, args in (
        ("work_order.accept", {}),
        ("visit.check_in", {"visit_id": new_id()}),
        ("part.use", {"line_id": new_id(), "part_id": str(part.id), "quantity": "2"}),
    ):
        response = await phone.push(phone.mutation(name, work_order_id=wo, **args))
        assert response.json()["results"][0]["outcome"] == "applied", response.text

    await phone.sync()
    assert _outstanding(phone, ticket) == 1
    released = [r for r in _lines(phone, ticket).values() if r["kind"] == "release"]
    assert [(r["quantity"], r["reason"]) for r in released] == [("2.000", "used on the work order")]


async def test_reservations_follow_a_reassigned_work_order(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    part, warehouse = await _stocked(db, t)
    ticket = await assigned(db, t)
    line = await _reserve(db, t, part, warehouse, ticket, 2)
    old = Phone(client, t.headers("engineer1"), engine=engine)
    new = Phone(client, t.headers("engineer2"), engine=engine)
    for phone in (old, new):
        await phone.register()
        await phone.sync()
    assert old.get("reservation", line.id) is not None
    assert new.get("reservation", line.id) is None

    await tickets.apply_transition(
        db,
        t.actor("dispatcher"),
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.ASSIGN, engineer_id=t.engineers[1].id),
    )
    await db.flush()
    removed = {(c["op"], c["entity"], c["id"]) for c in changes_of(await old.sync())}
    assert ("remove", "reservation", str(line.id)) in removed
    await new.sync()
    assert new.get("reservation", line.id)["quantity"] == "2.000"
