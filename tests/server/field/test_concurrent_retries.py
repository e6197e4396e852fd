"""A phone retrying while its first request is still running: the two deliveries of one
record really overlap (both wait on the work order's row lock, then race), and exactly one
record comes out, answered to both. Real commits, so each test has its own tenant."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import httpx
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.field.models import LabourEntry, Visit
from server.parts import service as parts
from server.parts.models import StockBalance, StockMovement
from shared.ids import uuid7
from tests.fixtures.factories import make_part, make_tenant, move
from tests.server.field.helpers import SITE, iso, now, on_site, travelling
from tests.server.test_concurrency import _blocked_behind, _race


async def test_the_same_part_line_twice_at_once_moves_stock_once(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    db = committing_db
    t = await make_tenant(db, "Concurrent parts")
    part = await make_part(db, t.actor("admin"))
    van = await parts.ensure_van(db, t.engineers[0])
    await move(
        db, t.actor("admin"), kind="receive", part_id=part.id, quantity=5, to_location_id=van.id
    )
    ticket, _ = await on_site(db, t)
    await db.commit()
    url = f"/api/v1/tickets/{ticket.id}/parts-used"
    body = {"line_id": str(uuid7()), "action": "use", "part_id": str(part.id), "quantity": "2"}
    headers = t.headers("engineer1")
    first, second = await _race(
        engine,
        ticket.id,
        [committing_client.post(url, json=body, headers=headers) for _ in range(2)],
    )
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json() == second.json()
    lines = await db.scalar(
        select(func.count())
        .select_from(StockMovement)
        .where(StockMovement.ticket_id == ticket.id, StockMovement.kind == "consume")
    )
    assert lines == 1
    on_hand = await db.scalar(
        select(StockBalance.on_hand).where(
            StockBalance.location_id == van.id, StockBalance.part_id == part.id
        )
    )
    assert Decimal(on_hand or 0) == 3


async def test_the_same_check_in_and_labour_twice_at_once_are_one_record_each(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    db = committing_db
    t = await make_tenant(db, "Concurrent visits")
    ticket = await travelling(db, t)
    await db.commit()
    headers = t.headers("engineer1")
    visit = {"visit_id": str(uuid7()), "device_time": iso(now()), "gps": SITE}
    url = f"/api/v1/tickets/{ticket.id}/visits"
    responses = await _race(
        engine,
        ticket.id,
        [committing_client.post(url, json=visit, headers=headers) for _ in range(2)],
    )
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    visits = await db.scalar(
        select(func.count()).select_from(Visit).where(Visit.ticket_id == ticket.id)
    )
    assert visits == 1

    # Labour does not lock the work order: two deliveries of one entry meet at its id. A
    # third transaction holds that id uncommitted, so both pass the "already there?" check
    # and wait in the insert; it lets go, one insert wins, the other fails on the id and
    # answers the winner's record.
    entry_id = uuid7()
    entry = {
        "entry_id": str(entry_id),
        "kind": "work",
        "started_at": "2026-11-24T09:00:00+08:00",
        "ended_at": "2026-11-24T10:00:00+08:00",
    }
    url = f"/api/v1/tickets/{ticket.id}/labour"
    async with engine.connect() as blocker:
        await blocker.execute(
            insert(LabourEntry).values(
                id=entry_id,
                org_id=t.org.id,
                ticket_id=ticket.id,
                engineer_id=t.engineers[0].id,
                kind="break",
                started_at=now(),
                ended_at=now() + dt.timedelta(minutes=1),
                recorded_by="blocker",
                received_at=now(),
            )
        )
        pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
        tasks = [
            asyncio.ensure_future(committing_client.post(url, json=entry, headers=headers))
            for _ in range(2)
        ]
        try:
            for _ in range(200):
                if await _blocked_behind(engine, pid) >= 2 or any(x.done() for x in tasks):
                    break
                await asyncio.sleep(0.02)
            overlapped = await _blocked_behind(engine, pid) >= 2
        finally:
            await blocker.rollback()
        responses = list(await asyncio.gather(*tasks))
    assert overlapped, [r.text for r in responses]
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    assert responses[0].json()["kind"] == "work"
    entries = await db.scalar(
        select(func.count()).select_from(LabourEntry).where(LabourEntry.ticket_id == ticket.id)
    )
    assert entries == 1
