"""Stock reports over 1,000,000 ledger lines: the service (and HTTP) vs. the bare SQL.

Data: one organisation, PARTS parts, 10 warehouses, 100 engineers' vans and 1,000
customer-site locations; ROWS movements over the past year loaded with one
INSERT .. SELECT generate_series (10 % receive into a warehouse, 30 % transfer warehouse ->
van, 50 % consume van -> site, 5 % return site -> van, 3 % adjust, 2 % scrap), then the
balances from the same deltas in one INSERT .. SELECT .. GROUP BY, then VACUUM ANALYZE.
``ledger.check`` runs over the whole ledger and must find nothing. (The random mix does not
keep every balance non-negative; the reports do not care.)

Measured, one request at a time, alternating with the baseline:
- ``on_hand``: the on-hand report per location (``reports.on_hand``), all stock locations;
- ``turnover_30d`` and ``turnover_365d``: the turnover report over the last 30 / 365 days;
each through the service function (own session per call), through the real API over
HTTP, and as the same SQL text run bare with asyncpg.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

import server.models  # noqa: F401  (every table known to the ORM)
from benchmarks.common import (
    ApiServer,
    Goal,
    Tenant,
    fresh_database,
    http_limits,
    latency_summary,
    mint_token,
    plain_url,
    postgres_info,
    postgres_server,
    redis_server,
    seed_tenant,
)
from server.auth.actor import ROLE_SCOPES, Actor
from server.auth.models import Role
from server.db import make_engine, make_sessionmaker
from server.parts.ledger import service as ledger
from server.parts.reports import service as reports

DESCRIPTION = "stock reports over 1M ledger lines: service and HTTP vs. the bare SQL"
ROWS = int(os.environ.get("BENCH_REPORT_ROWS", "1000000"))
ITERATIONS = int(os.environ.get("BENCH_REPORT_ITERATIONS", "30"))
SLOW_ITERATIONS = max(3, ITERATIONS // 6)
WARMUP = 3
PARTS = 2000
WAREHOUSES = 10
GOAL_S = 1.0
GOAL = Goal(
    f"on-hand report p95 under {GOAL_S:.0f} s (the worse of service and HTTP)",
    below=GOAL_S * 1000,
)

LOCATIONS_SQL = """
INSERT INTO stock_locations (id, org_id, kind, name, engineer_id, site_id, active, version)
SELECT gen_random_uuid(), $1::uuid, 'warehouse', 'Warehouse ' || n, NULL::uuid, NULL::uuid, true, 1
  FROM generate_series(1, $2) n
UNION ALL
SELECT gen_random_uuid(), $1, 'van', 'Van: ' || display_name, id, NULL::uuid, true, 1
  FROM engineers WHERE org_id = $1::uuid
UNION ALL
SELECT gen_random_uuid(), $1, 'customer_site', 'Site: ' || name, NULL::uuid, id, true, 1
  FROM sites WHERE org_id = $1::uuid
"""
PARTS_SQL = """
INSERT INTO parts (id, org_id, sku, name, description, unit, cost, price, serialised,
                   compatible_models, active, version)
SELECT gen_random_uuid(), $1, 'SP-' || lpad(n::text, 5, '0'), 'Spare part ' || n, '', 'pcs',
       cost, cost * 2, false, '{}', true, 1
  FROM (SELECT n, round((1 + random() * 499)::numeric, 2) AS cost
          FROM generate_series(1, $2) n) p
"""
MOVEMENTS_SQL = """
WITH p AS (
    SELECT array_agg(id ORDER BY sku) AS ids, array_agg(cost ORDER BY sku) AS costs
      FROM parts WHERE org_id = $1
), l AS (
    SELECT array_agg(id ORDER BY id) FILTER (WHERE kind = 'warehouse') AS w,
           array_agg(id ORDER BY id) FILTER (WHERE kind = 'van') AS v,
           array_agg(id ORDER BY id) FILTER (WHERE kind = 'customer_site') AS s
      FROM stock_locations WHERE org_id = $1
), g AS (
    SELECT n, now() - (($2 - n)::float8 / $2) * interval '365 days' AS created_at,
           random() AS rk, random() AS rq,
           1 + floor(random() * cardinality(p.ids))::int AS pi,
           1 + floor(random() * cardinality(l.w))::int AS wi,
           1 + floor(random() * cardinality(l.v))::int AS vi,
           1 + floor(random() * cardinality(l.s))::int AS si
      FROM generate_series(1, $2) n, p, l
), shaped AS (
    SELECT g.*, CASE WHEN rk < .10 THEN 'receive' WHEN rk < .40 THEN 'transfer'
                     WHEN rk < .90 THEN 'consume' WHEN rk < .95 THEN 'return'
                     WHEN rk < .98 THEN 'adjust' ELSE 'scrap' END AS kind
      FROM g
)
INSERT INTO stock_movements (id, org_id, kind, part_id, quantity, from_location_id,
    to_location_id, condition, reason, unit_cost, from_field, actor, created_at)
SELECT (lpad(to_hex(floor(extract(epoch FROM created_at) * 1000)::bigint), 12, '0') || '7'
        || substr(md5(n::text), 1, 3) || '8' || substr(md5(n::text), 4, 15))::uuid,
       $1, kind, p.ids[pi],
       CASE kind WHEN 'receive' THEN 20 + floor(rq * 80) WHEN 'transfer' THEN 1 + floor(rq * 5)
                 WHEN 'adjust' THEN CASE WHEN rq < .5 THEN -1 ELSE 1 END
                 ELSE 1 + floor(rq * 2) END,
       CASE kind WHEN 'transfer' THEN l.w[wi] WHEN 'consume' THEN l.v[vi]
                 WHEN 'return' THEN l.s[si] WHEN 'scrap' THEN l.w[wi] END,
       CASE kind WHEN 'receive' THEN l.w[wi] WHEN 'transfer' THEN l.v[vi]
                 WHEN 'consume' THEN l.s[si] WHEN 'return' THEN l.v[vi]
                 WHEN 'adjust' THEN l.w[wi] END,
       CASE WHEN kind = 'return' THEN CASE WHEN rq < .5 THEN 'good' ELSE 'defective' END END,
       CASE WHEN kind IN ('adjust', 'scrap') THEN 'stock count' END,
       p.costs[pi], kind = 'consume', $3, created_at
  FROM shaped, p, l
"""
BALANCES_SQL = """
INSERT INTO stock_balances (location_id, part_id, org_id, on_hand, reserved,
                            needs_reconciliation, updated_at)
SELECT location_id, part_id, $1, sum(q), 0, sum(q) < 0, now()
  FROM (SELECT from_location_id AS location_id, part_id, -quantity AS q
          FROM stock_movements
         WHERE org_id = $1 AND kind IN ('transfer', 'consume', 'return', 'scrap')
        UNION ALL
        SELECT to_location_id, part_id, quantity
          FROM stock_movements
         WHERE org_id = $1 AND kind IN ('receive', 'transfer', 'consume', 'return', 'adjust')
       ) d
 GROUP BY location_id, part_id
"""


async def load(conn: asyncpg.Connection) -> tuple[Tenant, dict[str, Any]]:
    timings: dict[str, Any] = {}
    started = time.perf_counter()
    tenant = await seed_tenant(conn, slug="bench-stock", customers=1000, engineers=100)
    await conn.execute("SET synchronous_commit = off")
    await conn.execute("SET work_mem = '64MB'")
    await conn.execute("SET maintenance_work_mem = '256MB'")
    await conn.execute("SELECT setseed(0.42)")
    await conn.execute(LOCATIONS_SQL, tenant.org_id, WAREHOUSES)
    await conn.execute(PARTS_SQL, tenant.org_id, PARTS)
    actor = f"user:{tenant.dispatcher_email}"
    await conn.execute(MOVEMENTS_SQL, tenant.org_id, ROWS, actor)
    timings["movements_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    await conn.execute(BALANCES_SQL, tenant.org_id)
    timings["balances_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    await conn.execute("VACUUM (ANALYZE)")
    timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    for table in ("stock_movements", "stock_balances", "stock_locations", "parts"):
        timings[f"{table}_rows"] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    await conn.execute("RESET ALL")  # the baseline runs with the server's settings
    return tenant, timings


def bare(sql: str, names: list[str]) -> str:
    """The service's SQL text with asyncpg's $n placeholders instead of :name."""
    for i, name in enumerate(names, start=1):
        sql = re.sub(rf":{name}\b", f"${i}", sql)
    return sql


Call = Callable[[], Awaitable[Any]]


async def measure(calls: dict[str, Call], iterations: int) -> dict[str, list[float]]:
    """Run each side in turn, one call at a time, `iterations` times after a warm-up."""
    for call in calls.values():
        for _ in range(WARMUP):
            await call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(iterations):
        for name, call in calls.items():
            started = time.perf_counter()
            await call()
            times[name].append(time.perf_counter() - started)
    return times


@dataclass
class Context:
    """What every run shares: the loaded ledger, the service's engine, the API server."""

    conn: asyncpg.Connection
    maker: Any
    actor: Actor
    client: httpx.AsyncClient
    api: ApiServer
    tenant: Tenant
    loaded: dict[str, Any]
    postgres: dict[str, Any]


@asynccontextmanager
async def setup() -> AsyncIterator[Context]:
    """The million ledger lines (loaded and checked) and the API server, once for all runs."""
    async with postgres_server() as pg_server, redis_server() as redis_url:
        db_url = await fresh_database(pg_server.url, "fixflow_bench_stock_report")
        conn = await asyncpg.connect(plain_url(db_url))
        engine = make_engine(db_url, pool_size=2)
        try:
            tenant, loaded = await load(conn)
            pg = await postgres_info(conn)
            maker = make_sessionmaker(engine)
            actor = Actor(
                org_id=tenant.org_id,
                role=Role.DISPATCHER,
                scopes=ROLE_SCOPES[Role.DISPATCHER],
                user_id=tenant.dispatcher_id,
                label=f"user:{tenant.dispatcher_email}",
            )
            async with maker() as session:
                started = time.perf_counter()
                mismatches = await ledger.check(session, tenant.org_id)
                loaded["ledger_check_s"] = round(time.perf_counter() - started, 1)
            if mismatches:
                raise RuntimeError(f"ledger.check: {len(mismatches)} balances differ")
            loaded["ledger_check"] = "full, 0 mismatches"
            async with (
                ApiServer(database_url=db_url, redis_url=redis_url) as api,
                httpx.AsyncClient(
                    base_url=api.base_url, limits=http_limits(), timeout=120
                ) as client,
            ):
                yield Context(conn, maker, actor, client, api, tenant, loaded, pg)
        finally:
            await engine.dispose()
            await conn.close()


async def run(ctx: Context) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {mint_token(ctx.api.secret_key, ctx.tenant)}"}
    results = await _scenarios(ctx.conn, ctx.maker, ctx.actor, ctx.client, headers)
    figures = {
        name: {side: latency_summary(t) for side, t in r.items()} for name, r in results.items()
    }
    ratios = {
        name: round(f["service"]["p95_ms"] / f["bare_sql"]["p95_ms"], 2)
        for name, f in figures.items()
    }
    worst = max(f[side]["p95_ms"] for f in figures.values() for side in ("service", "http"))
    on_hand_worst = max(figures["on_hand"][s]["p95_ms"] for s in ("service", "http"))
    return {
        "description": DESCRIPTION,
        "figures": {n: {s: f[s] for s in ("service", "http")} for n, f in figures.items()},
        "baseline": {n: f["bare_sql"] for n, f in figures.items()},
        "ratio": ratios["on_hand"],
        "ratio_means": "on-hand report: service p95 / bare SQL p95",
        "ratios": ratios,
        "judged": on_hand_worst,
        "brief": {"on-hand p95 ms (worst of service, HTTP)": on_hand_worst},
        "notes": [
            f"worst p95 of any report through the service or HTTP: {worst} ms",
            "turnover over 365 days reads the whole ledger (every line is in the range)",
        ],
        "setup": {
            "rows": ROWS,
            "iterations": ITERATIONS,
            "postgres": ctx.postgres,
            "load": ctx.loaded,
        },
    }


async def _scenarios(
    conn: asyncpg.Connection,
    maker: Any,
    actor: Actor,
    client: httpx.AsyncClient,
    headers: dict[str, str],
) -> dict[str, dict[str, list[float]]]:
    org = actor.org_id

    async def service_on_hand() -> Any:
        async with maker() as session:
            return await reports.on_hand(session, actor)

    async def http(path: str, params: dict[str, str]) -> Any:
        response = await client.get(f"/api/v1/stock-reports/{path}", params=params, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        return response.json()

    on_hand_sql = bare(reports.on_hand_sql(), ["org"])
    turnover_sql = bare(reports.turnover_sql(), ["org", "start", "end"])
    report = await service_on_hand()
    rows = await conn.fetch(on_hand_sql, org)
    if len(report.locations) != len(rows) or len(rows) < 100:
        raise RuntimeError(f"on-hand: service {len(report.locations)} vs SQL {len(rows)} rows")
    results = {
        "on_hand": await measure(
            {
                "service": service_on_hand,
                "http": lambda: http("on-hand", {}),
                "bare_sql": lambda: conn.fetch(on_hand_sql, org),
            },
            ITERATIONS,
        )
    }
    end = dt.datetime.now(dt.UTC)
    for days, iterations in ((30, ITERATIONS), (365, SLOW_ITERATIONS)):
        start = end - dt.timedelta(days=days)

        async def service_turnover(start: dt.datetime = start) -> Any:
            async with maker() as session:
                return await reports.turnover(session, actor, start=start, end=end)

        params = {"from": start.isoformat(), "to": end.isoformat()}
        results[f"turnover_{days}d"] = await measure(
            {
                "service": service_turnover,
                "http": lambda params=params: http("turnover", params),  # type: ignore[misc]
                "bare_sql": lambda start=start: conn.fetch(turnover_sql, org, start, end),  # type: ignore[misc]
            },
            iterations,
        )
    return results
