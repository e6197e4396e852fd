"""Fifty engineers claim one work order at once: exactly one wins.

Real concurrent transactions through the real app, committing: the work order's row is
held locked from outside (a connection of the test's own, not the app's pool) while the
fifty claims start, until PostgreSQL reports that at least ``OVERLAP`` of them wait on
that lock (the app's pool holds 40 connections, so the rest queue for a connection and
arrive a moment later); then it is let go. Every claimer is a distinct eligible engineer
with their own token.
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.db import make_engine
from server.dispatch.models import Decline
from server.events.models import OutboxEvent
from server.tickets.models import Ticket, TicketEvent
from tests.fixtures.claims import claim, pool_ticket, shift_engineer
from tests.fixtures.factories import headers_for, make_tenant
from tests.server.test_concurrency import _blocked_behind

CLAIMERS = 50
OVERLAP = 35


async def test_fifty_concurrent_claims_have_exactly_one_winner(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(committing_db, "Claim race")
    claimers = [await shift_engineer(committing_db, t) for _ in range(CLAIMERS)]
    ticket = await pool_ticket(committing_db, t)
    await committing_db.commit()
    by_engineer = {str(engineer.id): user for user, engineer in claimers}

    # The app's pool will be full of waiting claims: hold and watch from outside it.
    outside = make_engine(engine.url.render_as_string(hide_password=False), pool_size=2)
    try:
        async with outside.connect() as blocker:
            await blocker.execute(select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
            pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
            tasks = [
                asyncio.ensure_future(claim(committing_client, ticket.id, headers_for(user)))
                for user, _ in claimers
            ]
            try:
                for _ in range(500):
                    waiting = await _blocked_behind(outside, pid)
                    if waiting >= OVERLAP or any(task.done() for task in tasks):
                        break
                    await asyncio.sleep(0.02)
                overlapped = await _blocked_behind(outside, pid)
            finally:
                await blocker.rollback()
            responses = await asyncio.gather(*tasks)
    finally:
        await outside.dispose()
    assert overlapped >= OVERLAP, [(r.status_code, r.text) for r in responses]

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CLAIMERS - 1), [
        r.text for r in responses if r.status_code != 409
    ]
    winner = next(r for r in responses if r.status_code == 200).json()
    losers = [r.json() for r in responses if r.status_code == 409]
    number = f"WO-{ticket.number:06d}"
    assert {(p["code"], p["detail"]) for p in losers} == {
        ("already_claimed", f"another engineer claimed {number} first")
    }
    assert winner["assignee_id"] in by_engineer

    stored = await committing_db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert stored is not None
    assert str(stored.assignee_id) == winner["assignee_id"]
    assert (stored.status, stored.pinned, stored.open_for_claim) == ("accepted", True, False)
    assert stored.version == winner["version"]
    actions = list(
        await committing_db.scalars(
            select(TicketEvent.action)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "transition")
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
    )
    assert actions == ["assign", "accept"]
    outbox = list(
        await committing_db.scalars(
            select(OutboxEvent.payload["action"].astext).where(
                OutboxEvent.aggregate_id == ticket.id, OutboxEvent.topic == "ticket.transition"
            )
        )
    )
    assert sorted(outbox) == ["accept", "assign"]
    declines = await committing_db.scalar(
        select(func.count()).select_from(Decline).where(Decline.ticket_id == ticket.id)
    )
    assert declines == 0
