"""The demo's notification data, and the worker's jobs end to end (sweep, outbox, send)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth import Role
from server.events.jobs import deliver_outbox
from server.notify import NotificationPreference
from server.notify.demo import seed
from server.notify.jobs import send_pending
from server.tickets.jobs import sweep_sla
from tests.fixtures.factories import make_customer, make_tenant, make_ticket
from tests.server.notify.conftest import SmtpPeer
from tests.server.notify.test_delivery import rows


async def test_demo_seed_gives_duties_addresses_and_preferences(db: AsyncSession) -> None:
    t = await make_tenant(db, "Demo")
    assert t.customer is not None
    customers = [t.customer] + [(await make_customer(db, t.org))[0] for _ in range(3)]
    users = {Role(k): u for k, u in t.users.items() if k in {r.value for r in Role}}
    await seed(db, customers, users)
    assert users[Role.ADMIN].duties == ["service_manager"]
    assert users[Role.VIEWER].duties == ["parts_manager"]
    assert all(c.email for c in customers)
    prefs = [await db.get(NotificationPreference, c.id) for c in customers]
    assert [p.lang for p in prefs if p] == ["zh_CN", "en", "zh_CN", "en"]


async def test_the_worker_jobs_deliver_an_sla_breach_once(
    app: Any,
    db: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    smtp_peer: SmtpPeer,
) -> None:
    t = await make_tenant(db, "Worker")
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    now = dt.datetime.now(dt.UTC)
    ticket.created_at = now - dt.timedelta(hours=3)
    ticket.resolution_due_at = now - dt.timedelta(seconds=5)
    ticket.sla_state, ticket.sla_next_check_at = "ok", now - dt.timedelta(seconds=5)
    await db.flush()
    ctx = {"sessionmaker": maker, "redis": app.state.arq}
    for job in (sweep_sla, sweep_sla, deliver_outbox, deliver_outbox, send_pending, send_pending):
        await job(ctx)
    address = t.users["dispatcher"].email
    assert len(smtp_peer.to(address)) == 1
    assert [r.status for r in await rows(db, t.org.id) if r.address == address] == ["sent"]
    number = f"WO-{ticket.number:06d}"
    assert smtp_peer.to(address)[0]["Subject"] == f"SLA breached: {number}"
