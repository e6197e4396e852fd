"""Periods in the organisation's time zone across DST changes, and who sees what."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Role
from server.errors import Forbidden, NotFound
from server.reports import service
from server.reports.schemas import Filters, KpiQuery
from tests.fixtures.factories import actor_for, make_tenant, make_user
from tests.server.reports.kpi_data import NOW, add_fact, march, other_tenant, utc

COUNT = ("work_orders",)


def counts(result: object) -> list[tuple[dt.date | None, object]]:
    rows = result.rows
    return [(r.period_start, r.values["work_orders"].value) for r in rows]


async def test_days_weeks_and_months_follow_berlin_across_both_dst_changes(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    t.org.timezone = "Europe/Berlin"
    for moment in (
        utc(3, 28, 22, 30),  # 23:30 CET, Saturday 28 March
        utc(3, 28, 23, 30),  # 00:30 CET, Sunday 29 March (clocks go forward at 02:00)
        utc(3, 29, 22, 30),  # 00:30 CEST, Monday 30 March: still the 29th in UTC
        utc(10, 31, 22, 30),  # 23:30 CET, 31 October (clocks went back on the 25th)
        utc(10, 31, 23, 30),  # 00:30 CET, 1 November
    ):
        await add_fact(db, t, created_at=moment)
    actor = t.actor("admin")
    days = KpiQuery(dt.date(2026, 3, 28), dt.date(2026, 3, 30), "day", metrics=COUNT)
    assert counts(await service.compute(db, actor, days)) == [
        (dt.date(2026, 3, 28), 1),
        (dt.date(2026, 3, 29), 1),
        (dt.date(2026, 3, 30), 1),
    ]
    weeks = KpiQuery(dt.date(2026, 3, 23), dt.date(2026, 4, 5), "week", metrics=COUNT)
    assert counts(await service.compute(db, actor, weeks)) == [
        (dt.date(2026, 3, 23), 2),
        (dt.date(2026, 3, 30), 1),  # weeks start on Monday
    ]
    months = KpiQuery(dt.date(2026, 10, 1), dt.date(2026, 11, 30), "month", metrics=COUNT)
    assert counts(await service.compute(db, actor, months)) == [
        (dt.date(2026, 10, 1), 1),
        (dt.date(2026, 11, 1), 1),
    ]
    week = await service.drill(
        db, actor, weeks, metric="work_orders", period_start=dt.date(2026, 3, 30)
    )
    assert len(week.items) == 1 and week.items[0].created_at == utc(3, 29, 22, 30)


async def test_the_range_ends_at_local_midnight_in_shanghai(db: AsyncSession) -> None:
    data = await march(db)
    query = KpiQuery(dt.date(2026, 3, 31), dt.date(2026, 3, 31), "none", metrics=COUNT)
    result = await service.compute(db, data.t.actor("admin"), query, now=NOW)
    assert counts(result) == [(dt.date(2026, 3, 31), 1)]  # H1 at 23:30, not H2 at 00:30


async def test_an_engineer_sees_only_their_own_work(db: AsyncSession) -> None:
    data = await march(db)
    me, other = data.t.engineers
    actor = data.t.actor("engineer1")
    asked_for_other = KpiQuery(
        dt.date(2026, 3, 1), dt.date(2026, 3, 31), "none", filters=Filters(engineer_id=other.id)
    )
    result = await service.compute(db, actor, asked_for_other, now=NOW)
    assert result.rows[0].values["work_orders"].value == 4  # A, B, E, G: theirs, forced
    page = await service.drill(db, actor, asked_for_other, metric="resolved")
    assert [i.id for i in page.items] == [data.ids[n] for n in ("A", "B", "E")]
    cards = await service.scorecards(db, actor, asked_for_other, now=NOW)
    assert [c.engineer_id for c in cards.engineers] == [me.id]
    assert cards.organisation["resolved"].value == 5  # the organisation's, for comparison
    own = await service.scorecard(db, actor, me.id, asked_for_other, now=NOW)
    lines = {line.metric: line for line in own.lines}
    assert lines["resolved"].value.value == 3 and lines["resolved"].organisation.value == 5
    with pytest.raises(NotFound):
        await service.scorecard(db, actor, other.id, asked_for_other, now=NOW)


async def test_an_engineer_user_without_a_profile_is_refused(db: AsyncSession) -> None:
    data = await march(db)
    user = await make_user(db, data.t.org, Role.ENGINEER)
    query = KpiQuery(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    with pytest.raises(Forbidden):
        await service.compute(db, actor_for(user), query)


async def test_another_organisation_counts_nothing_of_ours(db: AsyncSession) -> None:
    data = await march(db)
    theirs = await other_tenant(db)
    query = KpiQuery(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "none")
    result = await service.compute(db, theirs.actor("admin"), query, now=NOW)
    values = result.rows[0].values
    assert (values["work_orders"].value, values["csat"].value) == (3, 1.0)
    assert values["backlog"].value == 0 and values["utilisation"].denominator == 0
    with pytest.raises(NotFound):
        await service.scorecard(db, theirs.actor("admin"), data.t.engineers[0].id, query)
    faults = await service.faults(db, theirs.actor("admin"), query)
    assert faults.models == []
