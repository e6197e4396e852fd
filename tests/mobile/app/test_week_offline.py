"""A week without signal: 5 days x 8 jobs worked offline, the log-in expiring meanwhile;
then log in again through the screen, sync, and the server holds every record exactly
once, in the order the engineer made them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import RefreshToken
from server.field import LabourEntry, TicketNote, Visit
from server.sync.models import SyncMutation
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant
from tests.mobile.app.data import jobs_for
from tests.mobile.app.network import offline, online
from tests.mobile.app.test_job_flow import log_in

DAYS, JOBS_PER_DAY = 5, 8
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


async def _work_a_day(phone: Any, jobs: list[Ticket], day: dt.date) -> int:
    """Each job as the screens do it (mobile.core.Work): the number of actions queued."""
    work = phone.app.work
    before = len(phone.app.store.outbox())
    for i, job in enumerate(jobs):
        wid = str(job.id)
        work.accept(wid)
        work.start_travel(wid)
        visit_id, fix = await work.check_in(wid)
        assert fix is not None
        start = dt.datetime.combine(day, dt.time(8 + i, 5), SHANGHAI)
        work.add_labour(
            wid,
            kind="work",
            started_at=start,
            ended_at=start + dt.timedelta(minutes=50),
            visit_id=visit_id,
        )
        work.add_note(wid, f"day {day} job {i}: bearing replaced", visit_id=visit_id)
        work.resolve(wid, resolution_code="FIXED", summary=f"fixed on {day}")
        await work.check_out(wid, visit_id)
    return len(phone.app.store.outbox()) - before


async def test_a_week_offline_arrives_exactly_once_in_order_after_logging_in_again(
    ui: Callable[..., Any], tenant: Tenant, db: AsyncSession, faults: Any, client: httpx.AsyncClient
) -> None:
    jobs = await jobs_for(db, tenant, DAYS * JOBS_PER_DAY)
    phone = await ui()
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    await phone.settle()
    assert len(
        phone.app.store.my_work_orders("today", now=phone.app.now(), tz=phone.app.tz)
    ) == len(jobs)

    offline(faults)
    monday = dt.date(2026, 11, 30)
    queued = 0
    for day in range(DAYS):
        queued += await _work_a_day(
            phone,
            jobs[day * JOBS_PER_DAY : (day + 1) * JOBS_PER_DAY],
            monday + dt.timedelta(days=day),
        )
        await phone.app.session.sync_now()  # the phone keeps trying: no signal
        await phone.settle()
    assert phone.app.store.pending_count() == queued
    assert phone.app.session.bar(phone.app.now()).online is False

    # Meanwhile the log-in expired on the server (the refresh token's lifetime passed).
    await db.execute(update(RefreshToken).values(expires_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    phone.app.store.set_meta(access_expires_at="2026-01-01T00:00:00+00:00")
    online(faults)
    await phone.app.session.sync_now()
    await phone.settle()
    bar = phone.app.session.bar(phone.app.now())
    assert bar.auth_required and bar.pending == queued  # nothing dropped
    # The app asks for the password (once), on the log-in screen, and says why.
    assert phone.app.screens.current == "login"
    assert "log-in has expired" in phone.screen.error
    assert phone.screen.email == tenant.users["engineer1"].email

    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    await phone.settle()
    await phone.app.session.sync_now()
    await phone.settle()
    assert phone.app.store.pending_count() == 0

    outbox = phone.app.store.outbox()
    stored = (
        await db.execute(
            select(SyncMutation.seq, SyncMutation.mutation_id, SyncMutation.outcome)
            .where(SyncMutation.client_id == uuid.UUID(phone.app.store.client_id))
            .order_by(SyncMutation.seq)
        )
    ).all()
    assert [(r.seq, str(r.mutation_id), r.outcome) for r in stored] == [
        (e.seq, e.id, "applied") for e in outbox
    ]
    ids = [j.id for j in jobs]
    assert await db.scalar(
        select(func.count()).select_from(Visit).where(Visit.ticket_id.in_(ids))
    ) == len(jobs)
    assert await db.scalar(
        select(func.count()).select_from(TicketNote).where(TicketNote.ticket_id.in_(ids))
    ) == len(jobs)
    labour = await db.scalar(
        select(func.count()).select_from(LabourEntry).where(LabourEntry.ticket_id.in_(ids))
    )
    assert labour == 3 * len(jobs)  # travel and work from the timers, the manual entry
    statuses = set((await db.scalars(select(Ticket.status).where(Ticket.id.in_(ids)))).all())
    assert statuses == {"resolved"}
