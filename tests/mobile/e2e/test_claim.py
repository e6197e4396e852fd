"""Two phones, one job in the pool, the real server: both see it, both claim it. One gets it
(on Today, accepted); the other is told plainly that another engineer took it (never who)
and the job leaves its pool. A claim whose answer is lost after the server took it stays
a claim: the retry with the same Idempotency-Key is answered as the first was."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mobile.core import Session, claim_job
from mobile.sync import SyncEngine
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant
from tests.mobile.app.data import pool_jobs
from tests.mobile.e2e.faults import Faults

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def sessions(faults: Faults) -> AsyncIterator[Callable[[SyncEngine], Session]]:
    """The app's session (what the screens call) on a logged-in phone's store."""
    made: list[Session] = []

    def make(phone: SyncEngine) -> Session:
        session = Session(phone.store, transport=faults, autosync=False)
        made.append(session)
        return session

    yield make
    for session in made:
        await session.close()


async def _job(db: AsyncSession, tenant: Tenant) -> Ticket:
    [job] = await pool_jobs(db, tenant, [("Cold room alarm", "P1", 31.2286, 121.4452)])
    return job


def _today(phone: SyncEngine) -> list[str]:
    now = dt.datetime.now(dt.UTC)
    return [r["id"] for r in phone.store.my_work_orders("today", now=now, tz=TZ)]


async def test_two_phones_claim_the_same_job_and_exactly_one_gets_it(
    phones: Callable[..., Any],
    sessions: Callable[[SyncEngine], Session],
    tenant: Tenant,
    db: AsyncSession,
    faults: Faults,
) -> None:
    job = await _job(db, tenant)
    wid = str(job.id)
    first, second = await phones(tenant, "engineer1"), await phones(tenant, "engineer2")
    for phone in (first, second):
        await phone.sync_once()
        assert [r["id"] for r in phone.store.claimables()] == [wid]
    number = first.store.get("claimable", wid)["number"]

    won = await claim_job(sessions(first), first.store, wid)
    lost = await claim_job(sessions(second), second.store, wid)

    assert won.yours and number in won.message
    assert first.store.get("work_order", wid)["status"] == "accepted"
    assert wid in _today(first) and first.store.claimables() == []
    assert not lost.yours
    assert lost.message == f"Another engineer took {number}"
    assert second.store.claimables() == [] and second.store.get("work_order", wid) is None
    assert wid not in _today(second)
    # Never a queued claim: both outboxes are empty, each phone asked once.
    assert first.store.outbox() == [] and second.store.outbox() == []
    assert len(faults.sent("POST", f"/tickets/{wid}/claim")) == 2
    # The next pull agrees on both phones.
    await first.sync_once()
    await second.sync_once()
    assert second.store.get("claimable", wid) is None
    assert first.store.get("work_order", wid)["assignee_id"] == str(tenant.engineers[0].id)


async def test_a_claim_whose_answer_was_lost_is_the_same_claim_when_asked_again(
    phones: Callable[..., Any],
    sessions: Callable[[SyncEngine], Session],
    tenant: Tenant,
    db: AsyncSession,
    faults: Faults,
    client: httpx.AsyncClient,
) -> None:
    job = await _job(db, tenant)
    wid = str(job.id)
    phone = await phones(tenant, "engineer1")
    await phone.sync_once()
    faults.add("POST", "/claim", "drop_response")

    lost = await claim_job(sessions(phone), phone.store, wid)
    assert not lost.yours and lost.message.startswith("No answer about")
    # Taken on the server; nothing half-claimed on the phone: still in the pool until a
    # pull says otherwise, the claim's key kept.
    assert phone.store.pending_claim(wid) and phone.store.get("claimable", wid) is not None
    assert phone.store.outbox() == []

    again = await claim_job(sessions(phone), phone.store, wid)
    assert again.yours, again.message
    [asked, retried] = faults.sent("POST", f"/tickets/{wid}/claim")
    assert asked.outcome == "dropped response (200)" and retried.outcome == 200
    assert wid in _today(phone) and phone.store.claimables() == []
    events = await client.get(f"/api/v1/tickets/{wid}/events", headers=tenant.headers("admin"))
    assert events.status_code == 200, events.text
    actions = [e["action"] for e in events.json()]
    assert actions.count("assign") == 1 and actions.count("accept") == 1, actions
