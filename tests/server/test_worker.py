"""The real arq worker against the test Redis and PostgreSQL: outbox delivery, the SLA
cron job, and jobs that are enqueued only after a successful commit."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
from arq.worker import Worker
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.events import service as events
from server.events.models import OutboxEvent
from server.tickets.models import Ticket, TicketEvent
from server.worker import WorkerSettings, redis_settings
from tests.fixtures.factories import make_policy, make_tenant


def _worker(settings: Any, **kw: Any) -> Worker:
    return Worker(
        functions=WorkerSettings.functions,
        on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown,
        redis_settings=redis_settings(settings.REDIS_URL),
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
        ctx={"configure_logs": False},
        **kw,
    )


async def _committed_tenant(committing_db: AsyncSession) -> Any:
    tenant = await make_tenant(committing_db)
    await committing_db.commit()
    return tenant


async def test_ticket_creation_enqueues_outbox_delivery_after_commit_and_worker_delivers(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, app: Any, settings: Any
) -> None:
    t = await _committed_tenant(committing_db)
    seen: list[str] = []

    async def handler(session: AsyncSession, event: OutboxEvent) -> None:
        if event.org_id == t.org.id:
            seen.append(event.topic)

    events.subscribe("ticket.created", handler)
    try:
        created = await committing_client.post(
            "/api/v1/tickets",
            json={"customer_id": str(t.customer.id), "title": "Noisy fan"},
            headers=t.headers("dispatcher"),
        )
        assert created.status_code == 201
        # The nudge is coalesced (server/queue.py) and sent shortly after the commit.
        for _ in range(50):
            if await app.state.redis.exists("arq:job:outbox-deliver"):
                break
            await asyncio.sleep(0.05)
        assert await app.state.redis.exists("arq:job:outbox-deliver")
        worker = _worker(settings)
        await worker.main()
        await worker.close()
    finally:
        events.unsubscribe("ticket.created", handler)
    assert seen == ["ticket.created"]
    pending = await committing_db.scalar(
        select(OutboxEvent.id).where(
            OutboxEvent.org_id == t.org.id, OutboxEvent.delivered_at.is_(None)
        )
    )
    assert pending is None


async def test_failed_request_enqueues_nothing_and_writes_nothing(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, app: Any
) -> None:
    t = await _committed_tenant(committing_db)
    await app.state.redis.flushdb()
    bad = await committing_client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.site.id), "title": "Wrong customer id"},
        headers=t.headers("dispatcher"),
    )
    assert bad.status_code == 422
    await asyncio.sleep(app.state.jobs.coalesce_seconds * 2)
    assert not await app.state.redis.exists("arq:job:outbox-deliver")
    assert await committing_db.scalar(select(Ticket.id).where(Ticket.org_id == t.org.id)) is None
    rows = await committing_db.scalar(select(OutboxEvent.id).where(OutboxEvent.org_id == t.org.id))
    assert rows is None


async def test_failing_handler_leaves_event_pending_and_it_is_retried(db: AsyncSession) -> None:
    t = await make_tenant(db)
    event = events.emit(db, org_id=t.org.id, topic="test.flaky", aggregate_id=None, payload={})
    await db.flush()
    calls: list[int] = []

    async def flaky(session: AsyncSession, ev: OutboxEvent) -> None:
        if ev.id == event.id:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("downstream unavailable")

    events.subscribe("test.flaky", flaky)
    try:
        await events.deliver_pending(db)
        await db.refresh(event)
        assert event.delivered_at is None
        assert event.attempts == 1
        assert "downstream unavailable" in (event.last_error or "")
        await events.deliver_pending(db)
        await db.refresh(event)
    finally:
        events.unsubscribe("test.flaky", flaky)
    assert event.delivered_at is not None
    assert event.last_error is None
    assert len(calls) == 2


async def test_sla_cron_job_marks_breaches_once(
    committing_db: AsyncSession, committing_client: httpx.AsyncClient, settings: Any, app: Any
) -> None:
    t = await _committed_tenant(committing_db)
    await make_policy(committing_db, t.org, "P1", response_minutes=10, resolution_minutes=60)
    await committing_db.commit()
    created = await committing_client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "title": "Down", "priority": "P1"},
        headers=t.headers("dispatcher"),
    )
    ticket_id = created.json()["id"]
    # Move the work order two hours into the past: both deadlines have passed.
    past = dt.timedelta(hours=2)
    await committing_db.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(
            created_at=Ticket.created_at - past,
            response_due_at=Ticket.response_due_at - past,
            resolution_due_at=Ticket.resolution_due_at - past,
            sla_next_check_at=Ticket.sla_next_check_at - past,
        )
    )
    await committing_db.commit()
    for _ in range(2):  # a second run (arq retry, second worker) changes nothing
        await app.state.arq.enqueue_job("tickets.sweep_sla")
        worker = _worker(settings)
        await worker.main()
        await worker.close()
    ticket = await committing_db.get(Ticket, ticket_id, populate_existing=True)
    assert ticket is not None
    assert ticket.sla_state == "breached"
    assert ticket.response_breached and ticket.resolution_breached
    kinds = (
        await committing_db.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id)
        )
    ).all()
    assert kinds.count("sla_breached") == 1
