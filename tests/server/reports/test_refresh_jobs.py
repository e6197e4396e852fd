"""The minute job and the engineer days: idempotent, one worker per organisation at a time,
labour split at local midnight."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from server.engineers import TimeOff
from server.field import service as field
from server.reports import EngineerDayFact, jobs, refresh
from shared.ids import uuid7
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.field.helpers import travelling

BERLIN = ZoneInfo("Europe/Berlin")
SATURDAY, SUNDAY = dt.date(2026, 10, 24), dt.date(2026, 10, 25)  # clocks go back on Sunday


def berlin(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN).astimezone(dt.UTC)


async def test_the_job_refreshes_every_organisation_the_same_way_twice(
    app: Any, connection: AsyncConnection, db: AsyncSession
) -> None:
    tenants = [await make_tenant(db), await make_tenant(db)]
    for t in tenants:
        assert t.customer
        await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[1])
    await db.flush()
    maker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    ctx = {"sessionmaker": maker, "redis": app.state.redis}
    query = text(
        "SELECT org_id, ticket_id, engineer_id, status, schedule_s FROM kpi_work_orders"
        " WHERE org_id = ANY(:orgs) ORDER BY ticket_id"
    )
    orgs = [t.org.id for t in tenants]
    await jobs.refresh_all(ctx)
    once = (await db.execute(query, {"orgs": orgs})).all()
    await jobs.refresh_all(ctx)
    assert (await db.execute(query, {"orgs": orgs})).all() == once
    assert sorted(row.org_id for row in once) == sorted(orgs)
    assert {row.engineer_id for row in once} == {t.engineers[1].id for t in tenants}
    marks = await db.scalar(
        text("SELECT count(*) FROM kpi_refresh_marks WHERE org_id = ANY(:orgs)"), {"orgs": orgs}
    )
    assert marks == 2


async def test_a_worker_leaves_an_organisation_another_is_refreshing(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer
    await make_ticket(db, t.actor("dispatcher"), t.customer)
    key = func.hashtextextended(f"kpi_refresh:{t.org.id}", 0)
    async with engine.connect() as other:
        await other.execute(select(func.pg_advisory_lock(key)))
        try:
            assert await jobs.refresh_one(db, t.org.id) is None
        finally:
            await other.execute(select(func.pg_advisory_unlock(key)))
    assert await jobs.refresh_one(db, t.org.id) is not None


async def test_an_engineers_day_is_split_at_local_midnight_across_dst(db: AsyncSession) -> None:
    t = await make_tenant(db)
    t.org.timezone = "Europe/Berlin"
    anna = t.engineers[0]
    anna.team = "Night"
    anna.working_hours = {"sat": [["20:00", "24:00"]], "sun": [["00:00", "06:00"]]}
    # Sick from 04:00 on Sunday: two of its seven scheduled hours (the night has one more).
    db.add(
        TimeOff(
            org_id=t.org.id,
            engineer_id=anna.id,
            kind="sick",
            starts_at=berlin(SUNDAY, 4),
            ends_at=berlin(SUNDAY, 6),
        )
    )
    ticket = await travelling(db, t)
    for kind, start, end in (
        ("travel", berlin(SATURDAY, 21), berlin(SATURDAY, 22)),
        ("work", berlin(SATURDAY, 22), berlin(SUNDAY, 4)),  # seven hours, five on Sunday
    ):
        await field.add_labour(
            db,
            t.actor("engineer1"),
            ticket_id=ticket.id,
            entry_id=uuid7(),
            kind=kind,
            started_at=start,
            ended_at=end,
        )
    await db.flush()
    pairs = [(anna.id, SATURDAY), (anna.id, SUNDAY), (t.engineers[1].id, SUNDAY)]
    assert await refresh.refresh_engineer_days(db, t.org.id, pairs) == 2
    rows = {
        r.day: r
        for r in await db.scalars(
            select(EngineerDayFact)
            .where(EngineerDayFact.org_id == t.org.id)
            .execution_options(populate_existing=True)
        )
    }
    assert set(rows) == {SATURDAY, SUNDAY}  # the other engineer had nothing that day
    sat, sun = rows[SATURDAY], rows[SUNDAY]
    assert (sat.scheduled_s, sat.work_s, sat.travel_s) == (4 * 3600, 2 * 3600, 3600)
    assert (sun.scheduled_s, sun.work_s, sun.travel_s) == (5 * 3600, 5 * 3600, 0)
    assert sun.team == "Night"
    # The full refresh finds the same days from the labour.
    await refresh.refresh_org(db, t.org.id, full=True)
    again = await db.scalar(
        select(EngineerDayFact.work_s)
        .where(EngineerDayFact.engineer_id == anna.id, EngineerDayFact.day == SUNDAY)
        .execution_options(populate_existing=True)
    )
    assert again == 5 * 3600


async def test_the_first_build_goes_in_rounds_and_then_marks_where_it_began(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = await make_tenant(db)
    assert t.customer
    for _ in range(3):
        await make_ticket(db, t.actor("dispatcher"), t.customer)
    monkeypatch.setattr(refresh, "FIRST_ROUND", 2)
    mark = text("SELECT facts_through FROM kpi_refresh_marks WHERE org_id = :o")
    built = text("SELECT min(refreshed_at) FROM kpi_work_orders WHERE org_id = :o")
    assert await refresh.refresh_org(db, t.org.id) == (2, 0)
    assert await db.scalar(mark, {"o": t.org.id}) is None  # not finished: no mark yet
    written, _days = await refresh.refresh_org(db, t.org.id)
    assert written == 1
    assert await db.scalar(mark, {"o": t.org.id}) == await db.scalar(built, {"o": t.org.id})
