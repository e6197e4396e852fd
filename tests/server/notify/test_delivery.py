"""From the outbox to a real SMTP peer: exactly once, nothing for a rollback, retries,
the rate limit."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth import Duty
from server.config import Settings
from server.db import session_scope
from server.events import service as events
from server.notify import Notification, sending
from server.tickets import service as tickets
from server.tickets import sla
from server.tickets.schemas import TicketCreate
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.notify.conftest import SmtpPeer

NOW = dt.datetime.now(dt.UTC)


async def deliver(maker: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(maker) as session:
        await events.deliver_pending(session)


async def rows(db: AsyncSession, org_id: uuid.UUID) -> list[Notification]:
    found = await db.scalars(
        select(Notification)
        .where(Notification.org_id == org_id)
        .order_by(Notification.id)
        .execution_options(populate_existing=True)
    )
    return list(found)


async def test_sla_breach_reaches_the_dispatcher_by_email_exactly_once(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp_peer: SmtpPeer
) -> None:
    t = await make_tenant(db, "Breach")
    manager = t.users["agent"]
    manager.duties = [Duty.SERVICE_MANAGER.value]
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, title="Chiller down")
    ticket.created_at = NOW - dt.timedelta(hours=5)
    ticket.resolution_due_at = NOW - dt.timedelta(minutes=1)
    ticket.sla_state, ticket.sla_next_check_at = "ok", NOW - dt.timedelta(minutes=1)
    await db.flush()

    for _ in range(2):  # the sweep, the outbox delivery and the sender each run twice
        async with session_scope(maker) as session:
            await sla.sweep(session, now=NOW, at_risk_fraction=0.8)
    for _ in range(2):
        await deliver(maker)
    for _ in range(2):
        await sending.send_pending(maker)

    dispatcher = t.users["dispatcher"].email
    got = smtp_peer.to(dispatcher)
    assert len(got) == 1, [m["Subject"] for m in smtp_peer.messages]
    assert got[0]["Subject"].startswith("SLA breached: WO-")
    assert "Chiller down" in got[0].get_content()
    # The service manager by duty too; as the service desk (an agent) they also own the
    # escalation the breach started (server/escalation): one message of each, once.
    subjects = sorted(m["Subject"] for m in smtp_peer.to(manager.email))
    assert [s.split(":")[0] for s in subjects] == ["Escalated to you", "SLA breached"], subjects
    log = [r for r in await rows(db, t.org.id) if r.template == "sla_breached"]
    assert {(r.address, r.status, r.attempts) for r in log} == {
        (dispatcher, "sent", 1),
        (manager.email, "sent", 1),
    }
    mine = next(r for r in log if r.address == dispatcher)
    assert got[0]["Message-ID"] == f"<{mine.id}@fixflow.notifications>"  # recognisable


async def test_a_rolled_back_transaction_sends_nothing(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp_peer: SmtpPeer
) -> None:
    t = await make_tenant(db, "Rollback")
    assert t.customer is not None
    t.customer.email = f"rb-{uuid.uuid4().hex[:6]}@example.test"
    await db.flush()
    data = TicketCreate(customer_id=t.customer.id, site_id=t.site.id if t.site else None, title="X")
    async with maker() as session:
        await tickets.create(session, t.actor("dispatcher"), data=data)
        await session.flush()
        await session.rollback()
    await deliver(maker)
    await sending.send_pending(maker)
    assert await rows(db, t.org.id) == []
    assert smtp_peer.to(t.customer.email) == []

    async with session_scope(maker) as session:  # the same, committed: one message
        await tickets.create(session, t.actor("dispatcher"), data=data)
    await deliver(maker)
    await sending.send_pending(maker)
    assert len(smtp_peer.to(t.customer.email)) == 1


async def test_a_refusing_peer_is_retried_with_backoff_until_it_accepts(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp_peer: SmtpPeer
) -> None:
    t = await make_tenant(db, "Retry")
    assert t.customer is not None
    t.customer.email = f"retry-{uuid.uuid4().hex[:6]}@example.test"
    await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    smtp_peer.refuse = 1
    await deliver(maker)
    assert await sending.send_pending(maker) == 0
    [row] = await rows(db, t.org.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and "451" in row.last_error
    assert row.next_attempt_at > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    assert await sending.send_pending(maker) == 0  # not yet due: the backoff holds
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    assert await sending.send_pending(maker, now=later) == 1
    [row] = await rows(db, t.org.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(smtp_peer.to(t.customer.email)) == 1


async def test_attempts_run_out_and_the_message_fails(
    db: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    smtp_peer: SmtpPeer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "NOTIFY_MAX_ATTEMPTS", 2)
    t = await make_tenant(db, "Fail")
    assert t.customer is not None
    t.customer.email = f"fail-{uuid.uuid4().hex[:6]}@example.test"
    await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    smtp_peer.refuse = 5
    await deliver(maker)
    await sending.send_pending(maker)
    await sending.send_pending(maker, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    [row] = await rows(db, t.org.id)
    assert (row.status, row.attempts) == ("failed", 2)


async def test_the_rate_limit_defers_and_never_drops(
    db: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    smtp_peer: SmtpPeer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "NOTIFY_PER_HOUR", 2)
    t = await make_tenant(db, "Rate")
    assert t.customer is not None
    t.customer.email = f"rate-{uuid.uuid4().hex[:6]}@example.test"
    for n in range(3):
        await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, title=f"Fault {n}")
    await deliver(maker)
    assert await sending.send_pending(maker) == 2
    log = await rows(db, t.org.id)
    assert sorted(r.status for r in log) == ["deferred", "sent", "sent"]
    waiting = next(r for r in log if r.status == "deferred")
    assert waiting.next_attempt_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=55)
    assert len(smtp_peer.to(t.customer.email)) == 2
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, minutes=1)
    assert await sending.send_pending(maker, now=later) == 1
    assert len(smtp_peer.to(t.customer.email)) == 3
