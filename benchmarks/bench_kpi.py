"""Every dashboard view over a year of history (BENCH_KPI_ROWS work orders, default
1,000,000, one organisation; benchmarks/kpi_data.py): the KPI service vs. the best
hand-written SQL over the operational tables for the same numbers (benchmarks/kpi_sql.py).

A view is what one dashboard page asks, grouped by month over the year and by engineer:
overview (headlines, volumes), times, SLA, quality, satisfaction, engineers (scorecards,
utilisation, travel share), costs and parts, backlog, faults. Each is timed through the
service functions the dashboard calls (own session per call, in-process) and its baseline
SQL through asyncpg, alternating, BENCH_KPI_REPEATS times each (median); the numbers both
give are compared (rates by numerator and denominator, means to the service's rounding,
counts exactly) and every disagreement is listed (``checks_met`` is false if any).

The goal: every view under one second (the slowest, ``max_view_seconds``).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
from sqlalchemy import select

import server.models  # noqa: F401  (every table known to the ORM)
from benchmarks import kpi_data, kpi_sql
from benchmarks.common import VAR_BENCH, Goal, plain_url, postgres_info, postgres_server
from server.auth import Actor, User
from server.auth.actor import ROLE_SCOPES
from server.auth.models import Role
from server.db import make_engine, make_sessionmaker
from server.reports import service
from server.reports.query import bounds
from server.reports.schemas import KpiQuery, KpiResult

DESCRIPTION = "dashboard views over a year of history: the KPI service vs. SQL on raw tables"
REPEATS = int(os.environ.get("BENCH_KPI_REPEATS", "3"))
GOAL_S = 1.0
GOAL = Goal(f"the slowest dashboard view under {GOAL_S:.0f} s", below=GOAL_S)

Numbers = dict[tuple[str, str], tuple[Any, Any]]
Call = Callable[[Any, Actor, KpiQuery], Awaitable[Numbers]]


@dataclass(frozen=True)
class View:
    name: str
    metrics: tuple[str, ...]
    sql: str
    extra: Call | None = None  # the page's other service call (headlines, scorecards...)


def _numbers(result: KpiResult, grouping: str) -> Numbers:
    out: Numbers = {}
    for row in result.rows:
        key = row.key if grouping == "engineer" else row.period_start
        if key is None:
            key = "now"
        for name, value in row.values.items():
            if value.denominator is not None:
                out[(str(key), name)] = (value.numerator, value.denominator)
            elif value.count is not None:
                out[(str(key), name)] = (value.value, value.count)
            else:
                out[(str(key), name)] = (value.value, None)
    return out


async def _headlines(session: Any, actor: Actor, query: KpiQuery) -> Numbers:
    await service.headlines(session, actor, replace(query, group_by=None))
    return {}


async def _scorecards(session: Any, actor: Actor, query: KpiQuery) -> Numbers:
    await service.scorecards(session, actor, replace(query, group_by=None))
    return {}


async def _backlog(session: Any, actor: Actor, query: KpiQuery) -> Numbers:
    report = await service.backlog(session, actor, query)
    if query.group_by == "engineer":
        return {(str(g.key), "backlog"): (g.open, None) for g in report.groups}
    return {("now", "backlog"): (report.total.open, None)}


async def _faults(session: Any, actor: Actor, query: KpiQuery) -> Numbers:
    report = await service.faults(session, actor, replace(query, group_by=None))
    return {
        (f"{m.product_model}/{f.fault_code or '-'}", "repairs"): (f.count, None)
        for m in report.models
        for f in m.faults
    }


async def _parts(session: Any, actor: Actor, query: KpiQuery) -> Numbers:
    report = await service.parts(session, actor, query)
    return {
        (str(r.key if query.group_by else r.period_start), "parts_consumed_cost"): (
            r.consumed_cost,
            None,
        )
        for r in report.rows
        if r.period_start is not None or query.group_by
    }


VIEWS = (
    View("overview", ("work_orders", "resolved", "complaints"), kpi_sql.VOLUME, _headlines),
    View(
        "times",
        ("resolve_hours", "resolve_hours_median", "schedule_hours", "arrive_hours"),
        kpi_sql.TIMES,
    ),
    View("sla", ("response_sla", "resolution_sla"), kpi_sql.SLA),
    View("quality", ("first_time_fix", "repeat_rate", "first_contact_resolution"), kpi_sql.QUALITY),
    View("satisfaction", ("csat", "csat_satisfied", "nps", "responses"), kpi_sql.SATISFACTION),
    View("engineers", ("utilisation", "travel_share"), kpi_sql.ENGINEERS, _scorecards),
    View(
        "costs",
        ("labour_cost_per_wo", "parts_cost_per_wo", "work_hours_per_wo"),
        kpi_sql.COSTS,
        _parts,
    ),
    View("backlog", (), kpi_sql.BACKLOG, _backlog),
    View("faults", (), kpi_sql.FAULTS, _faults),
)
# Views whose SQL only one grouping has (the fault list and the parts ledger are per model
# and per month on the dashboard).
_MONTH_ONLY = {"faults"}


@dataclass
class Context:
    conn: asyncpg.Connection
    maker: Any
    actor: Actor
    query: KpiQuery
    zone: str
    data: dict[str, Any]
    postgres: dict[str, Any]


@asynccontextmanager
async def setup() -> AsyncIterator[Context]:
    """The year of history (generated, or found in the cache) and a session maker."""
    async with postgres_server(VAR_BENCH / "postgres") as pg_server:
        started = time.perf_counter()
        db_url, data = await kpi_data.prepare(pg_server.url)
        data["prepare_s"] = round(time.perf_counter() - started, 1)
        conn = await asyncpg.connect(plain_url(db_url))
        engine = make_engine(db_url, pool_size=2)
        try:
            org = await conn.fetchrow(
                "SELECT id, timezone FROM organisations WHERE slug = $1", kpi_data.SLUG
            )
            data["work_orders"] = await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE org_id = $1", org["id"]
            )
            maker = make_sessionmaker(engine)
            async with maker() as session:
                user = await session.scalar(
                    select(User).where(User.org_id == org["id"], User.role == "dispatcher")
                )
                assert user is not None
            actor = Actor(
                org_id=org["id"],
                role=Role.DISPATCHER,
                scopes=ROLE_SCOPES[Role.DISPATCHER],
                user_id=user.id,
                label=f"user:{user.email}",
            )
            today = dt.datetime.now(dt.UTC).astimezone(_zone(org["timezone"])).date()
            query = KpiQuery(start=today - dt.timedelta(days=364), end=today, period="month")
            pg = await postgres_info(conn)
            yield Context(conn, maker, actor, query, org["timezone"], data, pg)
        finally:
            await engine.dispose()
            await conn.close()


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


async def _service(ctx: Context, view: View, grouping: str) -> tuple[float, Numbers]:
    query = ctx.query
    if grouping == "engineer":
        query = replace(query, period="none", group_by="engineer")
    started = time.perf_counter()
    numbers: Numbers = {}
    async with ctx.maker() as session:
        if view.metrics:
            metrics_query = replace(query, metrics=view.metrics)
            numbers |= _numbers(await service.compute(session, ctx.actor, metrics_query), grouping)
        if view.extra is not None:
            numbers |= await view.extra(session, ctx.actor, query)
        await session.rollback()
    return time.perf_counter() - started, numbers


# The raw-table SQL of some views takes minutes at a million work orders: past this many
# seconds (BENCH_KPI_SQL_TIMEOUT, 0: none) it is stopped, its time is recorded as at
# least the limit (``sql_timed_out``) and its numbers are not compared.
SQL_TIMEOUT_S = float(os.environ.get("BENCH_KPI_SQL_TIMEOUT", "0"))


async def _sql(ctx: Context, view: View, grouping: str) -> tuple[float, Numbers | None]:
    start, end = bounds(ctx.query, ctx.zone)
    sql = kpi_sql.keyed(view.sql, grouping)
    started = time.perf_counter()
    args = (ctx.actor.org_id, ctx.zone, start, end, 30)[: kpi_sql.arguments(sql)]
    try:
        rows = await ctx.conn.fetch(sql, *args, timeout=SQL_TIMEOUT_S or None)
    except TimeoutError:
        return SQL_TIMEOUT_S, None
    seconds = time.perf_counter() - started
    return seconds, {(str(r[0]), r[1]): (r[2], r[3]) for r in rows}


def _disagreements(view: View, service_numbers: Numbers, sql_numbers: Numbers) -> list[str]:
    """Where the service's numbers differ from the baseline's (those both have)."""
    out = []
    for key, (a, b) in sorted(sql_numbers.items()):
        if key[0] == "None":  # no engineer (never assigned): the service has no such group
            continue
        if key not in service_numbers:
            if view.name != "faults" and (b or a):  # faults: the service lists the top 5
                out.append(f"{view.name} {key}: missing from the service (SQL {a}, {b})")
            continue
        s_a, s_b = service_numbers[key]
        if not _same(s_a, a, key[1]) or (b is not None and not _same(s_b, b, key[1])):
            out.append(f"{view.name} {key}: service {s_a}, {s_b} vs SQL {a}, {b}")
    return out


def _same(mine: Any, theirs: Any, name: str) -> bool:
    if mine is None or theirs is None:
        return mine is None and theirs is None
    if isinstance(mine, int) and float(theirs).is_integer():
        return mine == int(theirs)
    # The service rounds to two places, and the facts count whole seconds (per labour
    # entry, per day): a hundredth, or a thousandth of the value, whichever is more.
    tolerance = max(0.011, 1e-3 * abs(float(theirs)))
    return abs(float(mine) - float(theirs)) <= tolerance


async def _pages(ctx: Context) -> dict[str, float]:
    """Each dashboard page's work as a manager opens it (the last 12 months by month, no
    filter): every service call the page makes, in-process, without the HTML around it;
    the median of REPEATS. There is no SQL baseline for a whole page: its numbers are the
    views' above."""
    from server.pages.http import text
    from server.reports.dashboard import content, quality
    from server.reports.dashboard import router as _router  # noqa: F401  (its words)
    from server.reports.dashboard.selection import read

    def t(key: str, **values: Any) -> str:
        return text("en", key, **values)

    selection = read({"preset": "12m"}, ctx.query.end)
    pages: dict[str, Callable[[Any], Awaitable[Any]]] = {
        "overview": lambda s: content.overview(s, ctx.actor, selection, t, "en"),
        "quality": lambda s: quality.quality(s, ctx.actor, selection, t, "en"),
        "engineers": lambda s: content.engineers(s, ctx.actor, selection, t, "en", sort=""),
        "faults": lambda s: content.faults(s, ctx.actor, selection, t, "en"),
        "backlog": lambda s: content.backlog(s, ctx.actor, selection, t, "en", group=""),
        "parts": lambda s: quality.parts(s, ctx.actor, selection, t, "en", group=""),
    }
    out = {}
    for name, page in pages.items():
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            async with ctx.maker() as session:
                await page(session)
                await session.rollback()
            times.append(time.perf_counter() - started)
        out[name] = round(statistics.median(times), 3)
    return out


async def run(ctx: Context) -> dict[str, Any]:
    views: dict[str, dict[str, Any]] = {}
    disagreements: list[str] = []
    for view in VIEWS:
        for grouping in ("month", "engineer"):
            if grouping == "engineer" and view.name in _MONTH_ONLY:
                continue
            own, base = [], []
            mine: Numbers = {}
            theirs: Numbers | None = {}
            for _ in range(REPEATS):
                seconds, mine = await _service(ctx, view, grouping)
                own.append(seconds)
                sql_seconds, theirs = await _sql(ctx, view, grouping)
                base.append(sql_seconds)
            if theirs is not None:
                disagreements += _disagreements(view, mine, theirs)
            seconds, sql_seconds = statistics.median(own), statistics.median(base)
            views[f"{view.name}_by_{grouping}"] = {
                "seconds": round(seconds, 3),
                "sql_seconds": round(sql_seconds, 3),
                "sql_timed_out": theirs is None,
                "ratio": round(seconds / sql_seconds, 3) if sql_seconds else None,
                "numbers_compared": len(theirs or {}),
            }
    return _report(ctx, views, disagreements, await _pages(ctx))


def _report(
    ctx: Context,
    views: dict[str, dict[str, Any]],
    disagreements: list[str],
    pages: dict[str, float],
) -> dict[str, Any]:
    slowest = max(views, key=lambda name: views[name]["seconds"])
    max_view = views[slowest]["seconds"]
    ratios = [v["ratio"] for v in views.values() if v["ratio"] is not None]
    missed = {name: v["seconds"] for name, v in views.items() if v["seconds"] >= GOAL_S}
    return {
        "description": DESCRIPTION,
        "work_orders": ctx.data["work_orders"],
        "max_view_seconds": max_view,
        "slowest_view": slowest,
        "views": views,
        "views_over_goal": missed,
        "disagreements": disagreements,
        "pages_seconds": pages,
        "max_page_seconds": max(pages.values()) if pages else None,
        "figures": {"max_view_seconds": max_view, "slowest_view": slowest},
        "ratio": round(statistics.median(ratios), 3),
        "ratio_means": "median over the views of service seconds / raw-table SQL seconds",
        "judged": max_view,
        "checks_met": not disagreements,
        "brief": {"slowest": f"{slowest} {max_view} s", "disagreements": len(disagreements)},
        "summary_keys": [
            "work_orders",
            "max_view_seconds",
            "slowest_view",
            "views",
            "views_over_goal",
            "pages_seconds",
            "max_page_seconds",
            "disagreements",
        ],
        "setup": {"repeats": REPEATS, "data": ctx.data, "postgres": ctx.postgres},
    }
