"""The history generator (docs/history.md): its planted bad actors are what the KPIs find,
the same seed gives the same history, and the product reads what it wrote."""

from __future__ import annotations

import datetime as dt
import io
import statistics
import uuid
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import User
from server.reports import refresh, service
from server.reports.history import Bar, Options, Summary, generate, world
from server.reports.schemas import KpiQuery
from tests.fixtures.factories import actor_for, headers_for

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
PASSWORD = "history-password"


async def make_history(db: AsyncSession, work_orders: int, engineers: int, seed: int) -> Summary:
    options = Options(work_orders, engineers, 15, seed, f"hist-{uuid.uuid4().hex[:8]}")
    summary = await generate(db, options, password=PASSWORD, now=NOW)
    await refresh.refresh_org(db, summary.org_id, full=True)
    return summary


async def dispatcher(db: AsyncSession, summary: Summary) -> User:
    user = await db.scalar(
        select(User).where(User.org_id == summary.org_id, User.role == "dispatcher")
    )
    assert user is not None
    return user


def whole(summary: Summary, **kw: Any) -> KpiQuery:
    assert summary.first_day and summary.last_day
    return KpiQuery(start=summary.first_day, end=summary.last_day, period="none", **kw)


async def test_the_kpis_find_the_planted_bad_actors(db: AsyncSession) -> None:
    summary = await make_history(db, 3000, 30, seed=14)
    assert summary.work_orders == 3000
    actor = actor_for(await dispatcher(db, summary))

    faults = await service.faults(db, actor, whole(summary))
    pairs = sorted(
        ((f.count, m.product_model, f.fault_code) for m in faults.models for f in m.faults),
        reverse=True,
    )
    assert pairs[0][1:] == (world.BAD_MODEL, world.BAD_FAULT), pairs[:3]
    assert pairs[0][0] > 2 * pairs[1][0], pairs[:3]

    metrics = ("repeat_rate", "first_time_fix", "resolved")
    by_engineer = await service.compute(
        db, actor, whole(summary, group_by="engineer", metrics=metrics)
    )
    rates = {
        r.key: r.values["repeat_rate"].value for r in by_engineer.rows if r.values["resolved"].value
    }
    bad = str(summary.planted["engineer_id"])
    worst = max(rates, key=lambda k: rates[k] or 0)
    assert worst == bad, (rates[bad], sorted(rates.values()))
    assert rates[bad] > 2 * statistics.median(v or 0 for v in rates.values())
    ftf = {r.key: r.values["first_time_fix"].value or 0 for r in by_engineer.rows if r.key in rates}
    assert ftf[bad] < statistics.median(ftf.values()) - 10, (ftf[bad], sorted(ftf.values()))

    sla = ("resolution_sla", "response_sla")
    by_territory = await service.compute(
        db, actor, whole(summary, group_by="territory", metrics=sla)
    )
    resolution = {r.key: r.values["resolution_sla"].value for r in by_territory.rows}
    assert min(resolution, key=lambda k: resolution[k] or 100) == world.BAD_TERRITORY, resolution
    others = [v for k, v in resolution.items() if k != world.BAD_TERRITORY and v is not None]
    assert resolution[world.BAD_TERRITORY] < min(others) - 10, resolution


FIGURES = """
SELECT (SELECT count(*) FROM tickets WHERE org_id = :org) AS tickets,
       (SELECT string_agg(status || '=' || n, ',' ORDER BY status)
          FROM (SELECT status, count(*) n FROM tickets WHERE org_id = :org GROUP BY 1) s)
         AS statuses,
       (SELECT count(*) FROM ticket_events WHERE org_id = :org) AS events,
       (SELECT sum(extract(epoch FROM ended_at - started_at)) FROM labour_entries
         WHERE org_id = :org) AS labour_s,
       (SELECT sum(quantity * unit_cost) FROM stock_movements
         WHERE org_id = :org AND kind = 'consume') AS parts_cost,
       (SELECT sum(csat) FROM survey_responses WHERE org_id = :org) AS csat,
       (SELECT sum(resolve_s) FROM kpi_work_orders WHERE org_id = :org) AS resolve_s,
       (SELECT count(*) FROM ticket_events WHERE org_id = :org AND kind = 'sla_breached')
         AS breaches
"""


async def figures(db: AsyncSession, summary: Summary) -> dict[str, Any]:
    row = (await db.execute(text(FIGURES), {"org": summary.org_id})).mappings().one()
    return dict(row)


async def test_the_same_seed_gives_the_same_history(db: AsyncSession) -> None:
    first = await make_history(db, 400, 12, seed=7)
    again = await make_history(db, 400, 12, seed=7)
    other = await make_history(db, 400, 12, seed=8)
    assert first.rows == again.rows
    assert await figures(db, first) == await figures(db, again)
    assert await figures(db, first) != await figures(db, other)


async def test_the_stock_ledger_and_the_balances_agree(db: AsyncSession) -> None:
    from server.parts.ledger import service as ledger

    summary = await make_history(db, 600, 12, seed=11)
    assert summary.rows["stock_movements"] > 0
    assert await ledger.check(db, summary.org_id) == []
    negative = await db.scalar(
        text("SELECT count(*) FROM stock_balances WHERE org_id = :org AND on_hand < 0"),
        {"org": summary.org_id},
    )
    assert negative == 0


async def test_the_api_lists_and_reads_the_generated_work_orders(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    summary = await make_history(db, 300, 12, seed=3)
    headers = headers_for(await dispatcher(db, summary))
    listed = await client.get("/api/v1/tickets", params={"limit": 50}, headers=headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 50
    for item in items[:5]:
        one = await client.get(f"/api/v1/tickets/{item['id']}", headers=headers)
        assert one.status_code == 200, one.text
        events = await client.get(f"/api/v1/tickets/{item['id']}/events", headers=headers)
        assert events.status_code == 200, events.text
        trail = events.json()
        assert trail[0]["kind"] == "created"
        moves = [e["to_status"] for e in trail if e["kind"] in ("created", "transition")]
        assert one.json()["status"] == moves[-1]


def test_the_progress_bar_shows_share_rate_and_time_left() -> None:
    out, now = io.StringIO(), [100.0]
    bar = Bar("history", unit="work orders", stream=out, clock=lambda: now[0])
    now[0] = 110.0
    bar(2_500, 10_000)
    line = out.getvalue()
    assert line.startswith("\rhistory [######") and " 25.0% 2,500/10,000 work orders" in line
    assert "250/s ETA 0:30" in line
    now[0] = 110.1
    bar(2_600, 10_000)  # too soon to redraw
    assert out.getvalue() == line
    now[0] = 140.0
    bar(10_000, 10_000)
    bar.close()
    assert out.getvalue().endswith("100.0% 10,000/10,000 work orders 250/s in 0:40\n")
