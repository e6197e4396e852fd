"""Concurrency regressions found by review: opposite transfers, double releases, overflow."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.parts.ledger import service as ledger
from server.parts.models import StockBalance
from tests.fixtures.factories import make_location, make_part, make_tenant, make_ticket, move
from tests.server.parts.test_stock_concurrency import _waiting_on

MOVES = "/api/v1/stock-movements"


async def test_opposite_transfers_at_once_all_succeed_without_deadlock(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession
) -> None:
    db = committing_db
    t = await make_tenant(db, "opposite")
    admin = t.actor("admin")
    part = await make_part(db, admin)
    a, b = await make_location(db, admin), await make_location(db, admin)
    for location in (a, b):
        await move(
            db, admin, kind="receive", part_id=part.id, quantity=1000, to_location_id=location.id
        )
    await db.commit()
    org_id = t.org.id

    def body(src: Any, dst: Any) -> dict[str, str]:
        return {
            "kind": "transfer",
            "part_id": str(part.id),
            "quantity": "1",
            "from_location_id": str(src.id),
            "to_location_id": str(dst.id),
        }

    headers = t.headers("dispatcher")
    requests = []
    for _ in range(15):
        requests.append(committing_client.post(MOVES, json=body(a, b), headers=headers))
        requests.append(committing_client.post(MOVES, json=body(b, a), headers=headers))
    responses = await asyncio.gather(*requests)
    assert Counter(r.status_code for r in responses) == {201: 30}
    await db.rollback()
    assert await ledger.check(db, org_id) == []


async def test_concurrent_releases_of_one_reservation_release_it_once(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    db = committing_db
    t = await make_tenant(db, "release race")
    admin, dispatcher = t.actor("admin"), t.actor("dispatcher")
    part = await make_part(db, admin)
    warehouse = await make_location(db, admin)
    await move(
        db, admin, kind="receive", part_id=part.id, quantity=100, to_location_id=warehouse.id
    )
    first = await make_ticket(db, dispatcher, t.customer, t.site, t.asset)
    second = await make_ticket(db, dispatcher, t.customer, t.site, t.asset)
    for ticket, quantity in ((first, 5), (second, 45)):
        await move(
            db,
            admin,
            kind="reserve",
            part_id=part.id,
            quantity=quantity,
            from_location_id=warehouse.id,
            ticket_id=ticket.id,
        )
    await db.commit()
    ids = (warehouse.id, part.id, first.id, t.org.id)
    body = {
        "kind": "release",
        "part_id": str(part.id),
        "quantity": "5",
        "from_location_id": str(warehouse.id),
        "ticket_id": str(first.id),
    }
    headers = t.headers("dispatcher")
    async with engine.connect() as blocker, engine.connect() as monitor:
        # Hold the balance row so all five requests are in flight together.
        await blocker.execute(
            select(StockBalance.on_hand)
            .where(StockBalance.location_id == warehouse.id, StockBalance.part_id == part.id)
            .with_for_update()
        )
        pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
        tasks = [
            asyncio.ensure_future(committing_client.post(MOVES, json=body, headers=headers))
            for _ in range(5)
        ]
        for _ in range(200):
            if await _waiting_on(monitor, pid) >= 5 or any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.02)
        await blocker.rollback()
        responses = await asyncio.gather(*tasks)
    assert Counter(r.status_code for r in responses) == {201: 1, 422: 4}
    await db.rollback()
    warehouse_id, part_id, first_id, org_id = ids
    reserved = await db.scalar(
        select(StockBalance.reserved).where(
            StockBalance.location_id == warehouse_id, StockBalance.part_id == part_id
        )
    )
    assert reserved == 45  # the second work order's reservation is intact
    assert (
        await ledger.outstanding_reservation(
            db, location_id=warehouse_id, part_id=part_id, ticket_id=first_id
        )
        == 0
    )
    assert await ledger.check(db, org_id) == []


async def test_absurd_quantities_are_refused_not_overflowed(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await make_part(db, admin)
    warehouse = await make_location(db, admin)
    body = {
        "kind": "receive",
        "part_id": str(part.id),
        "quantity": "99999999999.999",
        "to_location_id": str(warehouse.id),
    }
    response = await client.post(MOVES, json=body, headers=t.headers("admin"))
    assert response.status_code == 422
    ok = {**body, "quantity": "1000000000"}
    for _ in range(2):
        assert (await client.post(MOVES, json=ok, headers=t.headers("admin"))).status_code == 201
