"""Concurrent back-office transfers of the last units: real transactions through the app.

A separate transaction holds the warehouse balance's row lock while the requests start;
once PostgreSQL reports many of them waiting on that lock it lets go, so the requests
provably overlap. The guarded UPDATE must then hand out exactly the units that exist.
The tenant is committed under a fresh organisation (the ledger is append-only, so its
lines stay; nothing else reads another organisation's stock).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from server.parts import service as parts_service
from server.parts.ledger import service as ledger
from server.parts.models import StockBalance
from tests.fixtures.factories import make_location, make_part, make_tenant, move

REQUESTS = 50
UNITS = 10


async def _waiting_on(monitor: AsyncConnection, pid: int) -> int:
    """How many sessions wait, directly or in the lock queue, on ``pid``'s locks."""
    rows = (
        await monitor.execute(
            text(
                "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity "
                "WHERE datname = current_database()"
            )
        )
    ).all()
    await monitor.rollback()  # a fresh snapshot of pg_stat_activity next time
    waiting: set[int] = set()
    grew = True
    while grew:
        grew = False
        for waiter, blockers in rows:
            if waiter not in waiting and ({pid} | waiting) & set(blockers):
                waiting.add(waiter)
                grew = True
    return len(waiting)


async def test_fifty_concurrent_transfers_of_ten_units_give_exactly_ten(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    db = committing_db
    t = await make_tenant(db, "Stock race")
    admin = t.actor("admin")
    part = await make_part(db, admin)
    warehouse = await make_location(db, admin)
    van = await parts_service.ensure_van(db, t.engineers[0])
    await move(
        db, admin, kind="receive", part_id=part.id, quantity=UNITS, to_location_id=warehouse.id
    )
    await db.commit()
    body = {
        "kind": "transfer",
        "part_id": str(part.id),
        "quantity": "1",
        "from_location_id": str(warehouse.id),
        "to_location_id": str(van.id),
    }
    headers = t.headers("dispatcher")

    # Both connections come from the app's pool (20 + 20 overflow) before the requests
    # take the rest, so watching the lock queue never waits for a connection.
    async with engine.connect() as blocker, engine.connect() as monitor:
        await blocker.execute(
            select(StockBalance.on_hand)
            .where(StockBalance.location_id == warehouse.id, StockBalance.part_id == part.id)
            .with_for_update()
        )
        pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
        tasks = [
            asyncio.ensure_future(
                committing_client.post("/api/v1/stock-movements", json=body, headers=headers)
            )
            for _ in range(REQUESTS)
        ]
        try:
            # The pool, less these two connections, bounds how many requests can wait.
            for _ in range(250):
                if await _waiting_on(monitor, pid) >= 30 or any(task.done() for task in tasks):
                    break
                await asyncio.sleep(0.02)
            overlapped = await _waiting_on(monitor, pid)
        finally:
            await blocker.rollback()
        responses = await asyncio.gather(*tasks)

    assert overlapped >= 30, f"only {overlapped} requests waited on the lock together"
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: UNITS, 409: REQUESTS - UNITS}, [
        r.text for r in responses if r.status_code not in (201, 409)
    ]
    refused = [r.json() for r in responses if r.status_code == 409]
    assert {p["code"] for p in refused} == {"stock_shortage"}
    assert {Decimal(p["shortfall"]) for p in refused} == {Decimal(1)}
    rows = await db.execute(
        select(StockBalance.location_id, StockBalance.on_hand, StockBalance.reserved).where(
            StockBalance.org_id == t.org.id
        )
    )
    balances = {r.location_id: (r.on_hand, r.reserved) for r in rows}
    assert balances == {warehouse.id: (0, 0), van.id: (UNITS, 0)}
    assert await ledger.check(db, t.org.id) == []
