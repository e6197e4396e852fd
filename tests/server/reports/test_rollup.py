"""The roll-ups (server/reports/rollup.py): the views read them when they answer the query,
they give the facts' numbers to the last digit, and the refresh keeps them what a rebuild
would make."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.orgs import service as orgs
from server.reports import refresh, rollup, service
from server.reports.metrics import CATALOGUE
from server.reports.schemas import Filters, KpiQuery, KpiResult
from tests.fixtures.factories import actor_for
from tests.server.reports.kpi_data import NOW as MARCH_NOW
from tests.server.reports.kpi_data import march
from tests.server.reports.test_history import dispatcher, make_history, whole

ADDING = tuple(name for name, m in CATALOGUE.items() if rollup.adds_up(m))
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


async def layout(db: AsyncSession, org_id: uuid.UUID, value: str | None) -> None:
    await db.execute(
        text("UPDATE kpi_refresh_marks SET rollup_layout = :v WHERE org_id = :o"),
        {"v": value, "o": org_id},
    )


async def both(db: AsyncSession, actor: Any, query: KpiQuery) -> tuple[KpiResult, KpiResult]:
    """The query from the roll-ups, then from the facts alone (the mark disowns the sums)."""
    summed = await service.compute(db, actor, query, now=NOW)
    await layout(db, actor.org_id, None)
    try:
        plain = await service.compute(db, actor, query, now=NOW)
    finally:
        await layout(db, actor.org_id, rollup.DIGEST)
    return summed, plain


SNAPSHOT = """
SELECT anchor, day, engineer_id, team, territory, measures FROM kpi_rollups
 WHERE org_id = :o ORDER BY anchor, day, engineer_id NULLS FIRST, team NULLS FIRST,
       territory NULLS FIRST
"""


async def snapshot(db: AsyncSession, org_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await db.execute(text(SNAPSHOT), {"o": org_id})]


async def test_the_rollups_give_the_facts_numbers_for_every_period_group_and_filter(
    db: AsyncSession,
) -> None:
    summary = await make_history(db, 900, 12, seed=21)
    actor = actor_for(await dispatcher(db, summary))
    assert await rollup.ready(db, summary.org_id, await orgs.zone(db, summary.org_id))
    engineer = str(summary.planted["engineer_id"])
    base = replace(whole(summary), metrics=(*ADDING, "backlog", "resolve_hours_median"))
    queries = [
        replace(base, period=period, group_by=group)
        for period in ("month", "week", "none")
        for group in (None, "engineer", "team", "territory")
    ]
    queries += [
        replace(base, period="day", start=summary.last_day - dt.timedelta(days=20)),
        replace(base, filters=Filters(engineer_id=uuid.UUID(engineer)), period="month"),
        replace(base, group_by="engineer", totals=True),
        replace(base, filters=Filters(team=""), period="month"),  # set, though empty
        replace(base, split=summary.last_day - dt.timedelta(days=90)),
    ]
    for query in queries:
        summed, plain = await both(db, actor, query)
        differ = [
            (a.period_start, a.key, name, value, b.values[name])
            for a, b in zip(summed.rows, plain.rows, strict=True)
            for name, value in a.values.items()
            if value != b.values[name]
        ]
        assert summed.rows == plain.rows, (query.period, query.group_by, query.totals, differ[:5])
        assert any(r.values["resolved"].value for r in summed.rows) == (query.filters.team != "")
    first = await service.headlines(db, actor, replace(base, metrics=()), now=NOW)
    await layout(db, summary.org_id, None)
    assert first == await service.headlines(db, actor, replace(base, metrics=()), now=NOW)


async def test_the_views_read_the_rollups_only_where_they_answer(db: AsyncSession) -> None:
    data = await march(db)
    org_id = data.t.org.id
    await rollup.build(db, org_id, None, "Asia/Shanghai")
    await db.execute(
        text(
            "INSERT INTO kpi_refresh_marks (org_id, facts_through, zone, rollup_layout) "
            "VALUES (:o, now(), 'Asia/Shanghai', :d)"
        ),
        {"o": org_id, "d": rollup.DIGEST},
    )
    actor = data.t.actor("dispatcher")
    query = KpiQuery(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), period="none")
    before = await service.compute(db, actor, query, now=MARCH_NOW)
    # Without the facts, what adds up still comes from the roll-ups; the rest is gone.
    await db.execute(text("DELETE FROM kpi_work_orders WHERE org_id = :o"), {"o": org_id})
    after = await service.compute(db, actor, query, now=MARCH_NOW)
    values = after.rows[0].values
    assert values["work_orders"].value == 8
    assert values["resolved"].value == 5
    ftf = values["first_time_fix"]
    assert (ftf.numerator, ftf.denominator) == (1, 4)
    assert values["repeat_rate"].numerator == 2
    assert (values["nps"].numerator, values["nps"].denominator) == (0, 3)
    for name in ADDING:
        assert values[name] == before.rows[0].values[name], name
    assert values["resolve_hours_median"].count == 0  # a median reads the facts
    # Another window, or a group the roll-ups do not keep: the facts (now empty).
    seven = await service.compute(db, actor, replace(query, window_days=7), now=MARCH_NOW)
    assert seven.rows[0].values["first_time_fix"].denominator == 0
    assert seven.rows[0].values["resolved"].value == 5  # no window in it: still summed
    by_customer = await service.compute(
        db, actor, replace(query, group_by="customer"), now=MARCH_NOW
    )
    assert all(not r.values["resolved"].value for r in by_customer.rows)
    by_model = replace(query, filters=Filters(product_model="CH-200"))
    assert (await service.compute(db, actor, by_model, now=MARCH_NOW)).rows[0].values[
        "resolved"
    ].value == 0


CHANGES = """
WITH chosen AS (
  SELECT id, row_number() OVER (ORDER BY id) AS n FROM tickets
   WHERE org_id = :o AND status IN ('resolved', 'closed') ORDER BY id LIMIT 30
)
UPDATE tickets t
   SET resolved_at = t.resolved_at + CASE WHEN c.n % 3 = 0 THEN interval '9 days'
                                          ELSE interval '0' END,
       assignee_id = CASE WHEN c.n % 3 = 1 THEN :e ELSE t.assignee_id END,
       status = CASE WHEN c.n % 3 = 2 THEN 'in_progress' ELSE t.status END,
       updated_at = now()
  FROM chosen c WHERE t.id = c.id
"""


async def test_an_incremental_refresh_leaves_the_rollups_as_a_rebuild_would(
    db: AsyncSession,
) -> None:
    summary = await make_history(db, 400, 10, seed=4)
    org_id = summary.org_id
    # Work orders touched without a change to their facts: no roll-up is summed again.
    ids = "SELECT id FROM kpi_rollups WHERE org_id = :o ORDER BY id"
    kept = [r[0] for r in await db.execute(text(ids), {"o": org_id})]
    touch = "UPDATE tickets SET updated_at = now() WHERE org_id = :o AND status = 'closed'"
    await db.execute(text(touch), {"o": org_id})
    assert (await refresh.refresh_org(db, org_id))[0] > 0
    assert [r[0] for r in await db.execute(text(ids), {"o": org_id})] == kept
    await db.execute(text(CHANGES), {"o": org_id, "e": summary.planted["engineer_id"]})
    before = await snapshot(db, org_id)
    written, _ = await refresh.refresh_org(db, org_id)
    assert written >= 30
    after = await snapshot(db, org_id)
    assert after != before
    await rollup.build(db, org_id, None, await orgs.zone(db, org_id))
    assert await snapshot(db, org_id) == after


async def test_the_first_build_and_a_catalogue_change_build_them_wholly(
    db: AsyncSession,
) -> None:
    summary = await make_history(db, 300, 10, seed=9)
    org_id = summary.org_id
    rebuilt = await snapshot(db, org_id)
    assert {r[0] for r in rebuilt} == set(rollup.ANCHORS)
    # Roll-ups of other sums: the views read the facts until the refresh builds them again.
    await db.execute(
        text("UPDATE kpi_rollups SET measures = '{0}' WHERE org_id = :o"), {"o": org_id}
    )
    await layout(db, org_id, "an-older-layout")
    assert not await rollup.ready(db, org_id, await orgs.zone(db, org_id))
    actor = actor_for(await dispatcher(db, summary))
    query = replace(whole(summary), metrics=("resolved",))
    assert (await service.compute(db, actor, query, now=NOW)).rows[0].values["resolved"].value
    await refresh.refresh_org(db, org_id)
    assert await rollup.ready(db, org_id, await orgs.zone(db, org_id))
    assert await snapshot(db, org_id) == rebuilt
    # The first build, by the minute job's rounds, ends with the roll-ups and the mark.
    await db.execute(text("DELETE FROM kpi_rollups WHERE org_id = :o"), {"o": org_id})
    await db.execute(text("DELETE FROM kpi_work_orders WHERE org_id = :o"), {"o": org_id})
    await db.execute(text("DELETE FROM kpi_refresh_marks WHERE org_id = :o"), {"o": org_id})
    await refresh.refresh_org(db, org_id)
    assert await rollup.ready(db, org_id, await orgs.zone(db, org_id))
    assert await snapshot(db, org_id) == rebuilt
    # Dated in another zone than the organisation's now: the facts, until rebuilt.
    zone = await orgs.zone(db, org_id)
    assert not await rollup.ready(db, org_id, "UTC" if zone != "UTC" else "America/Lima")
