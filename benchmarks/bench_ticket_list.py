"""The dispatcher's work-order list on 1,000,000 work orders: GET /api/v1/tickets vs. bare SQL.

Data: one organisation, 50 engineers, 5,000 customers (one site each) and ROWS work
orders created over the past year (numbers in creation order), loaded in SQL with
INSERT .. SELECT generate_series (a couple of minutes on 2 cores), then VACUUM ANALYZE.
Old work orders are mostly closed; the last days hold most of the open ones. The
database is kept in var/bench/postgres under a name derived from the migration files and
the loader version, so later runs skip the load (delete var/bench/ to force one).

Each scenario is one list page (limit 50) a dispatcher asks for. The API side is the real
uvicorn server over loopback, one request at a time; the baseline is a hand-written
asyncpg query with the same filter, order and limit (and the same 51st row the server
fetches to know there is a next page). The two alternate request by request, and the
bench checks that both return the same work orders.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from benchmarks.common import (
    VAR_BENCH,
    ApiServer,
    CpuMeter,
    Goal,
    Tenant,
    fresh_database,
    http_limits,
    latency_summary,
    load_tenant,
    mint_token,
    other_cores,
    plain_url,
    postgres_info,
    postgres_server,
    redis_server,
    schema_key,
    seed_tenant,
)
from server import embedded
from server.config import ROOT
from server.tickets.models import Ticket

DESCRIPTION = "list work orders (1M rows): real HTTP API vs. bare asyncpg query"
ROWS = int(os.environ.get("BENCH_LIST_ROWS", "1000000"))
ITERATIONS = int(os.environ.get("BENCH_LIST_ITERATIONS", "200"))
WARMUP = 20
GOAL_P95_MS = 20.0
GOAL = Goal(f"the worst API p95 of the scenarios < {GOAL_P95_MS:g} ms", below=GOAL_P95_MS)
SLUG = "bench-list"
LOADER_VERSION = 1  # bump when the generated data changes: the cached database is rebuilt
OPEN = ["new", "assigned", "accepted", "travelling", "on_site", "on_hold"]
FIELD_OPEN = ["assigned", "accepted", "travelling", "on_site", "on_hold"]
FAR_FUTURE = "'9999-01-01T00:00:00+00:00'::timestamptz"

LOAD_SQL = """
WITH c AS (
    SELECT array_agg(c.id ORDER BY c.id) AS cust, array_agg(s.id ORDER BY c.id) AS site
    FROM customers c JOIN sites s ON s.customer_id = c.id WHERE c.org_id = $1
), e AS (
    SELECT array_agg(id ORDER BY id) AS eng FROM engineers WHERE org_id = $1
), p AS (
    SELECT array_agg(id ORDER BY priority) AS pol,
           array_agg(response_minutes ORDER BY priority) AS resp,
           array_agg(resolution_minutes ORDER BY priority) AS resol
    FROM sla_policies WHERE org_id = $1 AND customer_id IS NULL
), g AS (
    SELECT n,
           now() - (($2 - n)::float8 / $2) * interval '365 days'
                 - random() * interval '60 seconds' AS created_at,
           random() AS rs, random() AS rp, random() AS rb,
           1 + floor(random() * (SELECT cardinality(cust) FROM c))::int AS ci,
           1 + floor(random() * (SELECT cardinality(eng) FROM e))::int AS ei,
           floor(random() * 12)::int AS ti
    FROM generate_series(1, $2) AS n
), shaped AS (
    SELECT g.*,
        CASE WHEN rp < .05 THEN 1 WHEN rp < .25 THEN 2 WHEN rp < .75 THEN 3 ELSE 4 END AS pi,
        CASE
        WHEN now() - created_at < interval '2 days' THEN CASE
            WHEN rs < .25 THEN 'new' WHEN rs < .50 THEN 'assigned'
            WHEN rs < .60 THEN 'accepted' WHEN rs < .65 THEN 'travelling'
            WHEN rs < .75 THEN 'on_site' WHEN rs < .80 THEN 'on_hold'
            WHEN rs < .90 THEN 'resolved' WHEN rs < .98 THEN 'closed' ELSE 'cancelled' END
        WHEN now() - created_at < interval '30 days' THEN CASE
            WHEN rs < .03 THEN 'new' WHEN rs < .08 THEN 'assigned'
            WHEN rs < .11 THEN 'accepted' WHEN rs < .12 THEN 'travelling'
            WHEN rs < .14 THEN 'on_site' WHEN rs < .20 THEN 'on_hold'
            WHEN rs < .35 THEN 'resolved' WHEN rs < .95 THEN 'closed' ELSE 'cancelled' END
        ELSE CASE
            WHEN rs < .005 THEN 'new' WHEN rs < .015 THEN 'assigned'
            WHEN rs < .02 THEN 'accepted' WHEN rs < .03 THEN 'on_hold'
            WHEN rs < .05 THEN 'resolved' WHEN rs < .95 THEN 'closed' ELSE 'cancelled' END
        END AS status,
        (ARRAY['Unit not cooling', 'Compressor trips on high pressure', 'Water leak under unit',
               'Annual maintenance', 'Strange noise from fan', 'Install new cabinet',
               'Alarm E31 on panel', 'Door seal damaged', 'Generator fails weekly test',
               'Lift stops between floors', 'Customer complaint: slow repair',
               'Safety inspection'])[ti + 1] AS title
    FROM g
), timed AS (
    SELECT s.*, c.cust[ci] AS customer_id, c.site[ci] AS site_id, p.pol[pi] AS policy_id,
        s.created_at + p.resp[pi] * interval '1 minute' AS response_due_at,
        s.created_at + p.resol[pi] * interval '1 minute' AS resolution_due_at,
        CASE WHEN s.status IN ('accepted', 'travelling', 'on_site', 'on_hold', 'resolved',
                               'closed')
             THEN s.created_at + p.resp[pi] * (0.2 + rb) * interval '1 minute' END
             AS first_response_at,
        CASE WHEN s.status IN ('resolved', 'closed')
             THEN s.created_at + p.resol[pi] * (0.3 + rb) * interval '1 minute' END
             AS resolved_at,
        CASE WHEN s.status = 'new' OR (s.status = 'cancelled' AND rb < .5) THEN NULL
             ELSE e.eng[ei] END AS assignee_id
    FROM shaped s, c, e, p
), final AS (
    SELECT t.*,
        CASE WHEN status = 'closed' THEN resolved_at + interval '1 day' END AS closed_at,
        CASE WHEN status = 'on_hold' THEN created_at + interval '1 hour' END AS on_hold_since,
        CASE
            WHEN status IN ('resolved', 'closed') THEN
                CASE WHEN resolved_at > resolution_due_at THEN 'breached' ELSE 'met' END
            WHEN status = 'cancelled' THEN 'ok'
            WHEN now() > resolution_due_at THEN 'breached'
            ELSE 'ok' END AS sla_state,
        'Reported by the site manager: ' || lower(title)
            || '. Access through the loading bay; ask for the facilities desk.' AS description
    FROM timed t
)
INSERT INTO tickets (
    id, org_id, number, customer_id, site_id, channel, type, priority, status, title,
    description, search_text, required_skills, estimated_minutes, assignee_id, created_by,
    sla_policy_id, response_due_at, resolution_due_at, first_response_at, resolved_at,
    closed_at, on_hold_since, paused_seconds, sla_state, sla_next_check_at,
    response_breached, resolution_breached, version, created_at, updated_at)
SELECT
    (lpad(to_hex(floor(extract(epoch FROM created_at) * 1000)::bigint), 12, '0') || '7'
        || substr(md5(n::text), 1, 3) || '8' || substr(md5(n::text), 4, 15))::uuid,
    $1, n, customer_id, site_id,
    (ARRAY['phone', 'web', 'email', 'im', 'qr', 'iot', 'api'])[1 + n % 7],
    (ARRAY['repair', 'installation', 'maintenance', 'inspection', 'complaint'])[1 + n / 7 % 5],
    'P' || pi, status, title, description,
    lower('WO-' || lpad(n::text, 6, '0') || ' ' || title || ' ' || description),
    ARRAY[(ARRAY['hvac', 'refrigeration', 'electrical', 'generators', 'lifts'])[1 + ti % 5]],
    30 + (n % 8) * 15, assignee_id, $3, policy_id, response_due_at, resolution_due_at,
    first_response_at, resolved_at, closed_at, on_hold_since, 0, sla_state,
    CASE WHEN status IN ('new', 'assigned', 'accepted', 'travelling', 'on_site')
              AND sla_state = 'ok' THEN resolution_due_at END,
    first_response_at IS NULL AND now() > response_due_at
        AND status NOT IN ('cancelled'),
    sla_state = 'breached',
    1 + floor(rb * 6)::int, created_at,
    coalesce(closed_at, resolved_at, first_response_at, created_at)
FROM final
"""


# --------------------------------------------------------------------------- loading


def database_name() -> str:
    return f"fixflow_bench_list_{schema_key()}_v{LOADER_VERSION}_{ROWS}"


async def _database_ready(server: asyncpg.Connection, name: str) -> bool:
    comment = await server.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name
    )
    return comment == "loaded"


async def _drop_stale(server: asyncpg.Connection, keep: str) -> list[str]:
    """Remove benchmark databases of older schemas or loaders (they are large)."""
    names = [
        r["datname"]
        for r in await server.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'fixflow_bench_list_%'"
        )
        if r["datname"] != keep
    ]
    for name in names:
        await server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    return names


async def load(url: str) -> dict[str, float]:
    """Seed the organisation and load ROWS work orders; returns timings in seconds."""
    timings: dict[str, float] = {}
    conn = await asyncpg.connect(plain_url(url))
    try:
        started = time.perf_counter()
        tenant = await seed_tenant(conn, slug=SLUG, customers=5000, engineers=50)
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute("SET work_mem = '64MB'")
        await conn.execute("SELECT setseed(0.42)")
        await conn.execute(LOAD_SQL, tenant.org_id, ROWS, f"user:{tenant.dispatcher_email}")
        await conn.execute(
            "INSERT INTO ticket_counters (org_id, last_number) VALUES ($1, $2)",
            tenant.org_id,
            ROWS,
        )
        timings["insert_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) tickets")
        await conn.execute("ANALYZE")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    finally:
        await conn.close()
    return timings


async def prepare(server_url: str) -> tuple[str, dict[str, Any]]:
    """The loaded database's URL, loading it first unless a previous run did."""
    name = database_name()
    server = await asyncpg.connect(plain_url(server_url))
    try:
        dropped = await _drop_stale(server, name)
        if await _database_ready(server, name):
            return embedded.replace_database(plain_url(server_url), name), {
                "cached": True,
                "database": name,
            }
        url = await fresh_database(server_url, name)
        timings = await load(url)
        await server.execute(f"COMMENT ON DATABASE \"{name}\" IS 'loaded'")
    finally:
        await server.close()
    return url, {"cached": False, "database": name, "dropped_stale": dropped, **timings}


async def model_indexes(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """Create the indexes the model declares on tickets that the database lacks.

    That happens when an index was added to server/tickets/models.py before the migration
    was regenerated: the benchmark then measures the schema the code asks for, and says so.
    """
    existing = {
        r["indexname"]
        for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'tickets'")
    }
    migrations = "".join(p.read_text() for p in (ROOT / "migrations" / "versions").glob("*.py"))
    created, not_in_migrations = [], []
    for index in sorted(Ticket.__table__.indexes, key=lambda i: str(i.name)):
        if str(index.name) not in migrations:
            not_in_migrations.append(str(index.name))
        if index.name not in existing:
            ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
            await conn.execute(ddl)
            created.append(ddl)
    if created:
        await conn.execute("ANALYZE tickets")
    return {"created_now": created, "not_in_migrations": not_in_migrations}


# --------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    name: str
    what: str
    params: list[tuple[str, str]]
    where: str  # SQL after "org_id = $1 AND", parameters from $2
    args: list[Any]
    order: str  # "created" (-created_at) or "due" (resolution_due_at ascending)
    page2: bool = False
    api_cursor: str | None = None
    raw_after: tuple[Any, ...] = ()
    api: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    def sql(self) -> str:
        n = len(self.args) + 2
        if self.order == "created":
            key, order = "(created_at, id)", "created_at DESC, id DESC"
            after = f" AND {key} < (${n}, ${n + 1})" if self.raw_after else ""
        else:
            key = f"(coalesce(resolution_due_at, {FAR_FUTURE}), id)"
            order = f"coalesce(resolution_due_at, {FAR_FUTURE}), id"
            after = f" AND {key} > (${n}, ${n + 1})" if self.raw_after else ""
        return (
            f"SELECT * FROM tickets WHERE org_id = $1 AND {self.where}{after} "
            f"ORDER BY {order} LIMIT 51"
        )

    def sql_args(self, org_id: uuid.UUID) -> list[Any]:
        return [org_id, *self.args, *self.raw_after]

    def api_params(self) -> list[tuple[str, str]]:
        cursor = [("cursor", self.api_cursor)] if self.api_cursor else []
        return [*self.params, ("limit", "50"), *cursor]


def scenarios(tenant: Tenant) -> list[Scenario]:
    engineer = tenant.engineer_ids[7]
    p1p2 = [("status", "new"), ("status", "assigned"), ("priority", "P1"), ("priority", "P2")]
    open_params = [("status", s) for s in OPEN]
    return [
        Scenario(
            "new_assigned_p1_p2",
            "status=new,assigned & priority=P1,P2, newest first",
            p1p2,
            "status = ANY($2) AND priority = ANY($3)",
            [["new", "assigned"], ["P1", "P2"]],
            "created",
        ),
        Scenario(
            "new_assigned_p1_p2_page2",
            "the same, second page via next_cursor",
            p1p2,
            "status = ANY($2) AND priority = ANY($3)",
            [["new", "assigned"], ["P1", "P2"]],
            "created",
            page2=True,
        ),
        Scenario(
            "engineer_open_work",
            "one engineer's open work orders, newest first",
            [("assignee_id", str(engineer)), *[("status", s) for s in FIELD_OPEN]],
            "assignee_id = $2 AND status = ANY($3)",
            [engineer, FIELD_OPEN],
            "created",
        ),
        Scenario(
            "open_by_due",
            "every open work order, soonest resolution deadline first",
            [*open_params, ("sort", "resolution_due_at")],
            "status = ANY($2)",
            [OPEN],
            "due",
        ),
        Scenario(
            "open_by_due_page2",
            "the same, second page via next_cursor",
            [*open_params, ("sort", "resolution_due_at")],
            "status = ANY($2)",
            [OPEN],
            "due",
            page2=True,
        ),
    ]


async def _set_cursors(
    client: httpx.AsyncClient, conn: asyncpg.Connection, tenant: Tenant, sc: Scenario
) -> None:
    """Page 2 starts after page 1's last row: the API's next_cursor, the raw row's keys."""
    first = await client.get("/api/v1/tickets", params=[*sc.params, ("limit", "50")])
    first.raise_for_status()
    sc.api_cursor = first.json()["next_cursor"]
    rows = await conn.fetch(sc.sql(), *sc.sql_args(tenant.org_id))
    last = rows[49]
    if sc.order == "created":
        sc.raw_after = (last["created_at"], last["id"])
    else:
        far = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
        sc.raw_after = (last["resolution_due_at"] or far, last["id"])


async def _api_page(client: httpx.AsyncClient, sc: Scenario) -> list[str]:
    response = await client.get("/api/v1/tickets", params=sc.api_params())
    if response.status_code != 200:
        raise RuntimeError(f"{sc.name}: {response.status_code} {response.text[:300]}")
    return [item["id"] for item in response.json()["items"]]


async def _raw_page(conn: asyncpg.Connection, sc: Scenario, org_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(sc.sql(), *sc.sql_args(org_id))
    return [str(r["id"]) for r in rows[:50]]


async def measure(
    client: httpx.AsyncClient,
    conn: asyncpg.Connection,
    tenant: Tenant,
    sc: Scenario,
    meter: CpuMeter,
) -> None:
    if sc.page2:
        await _set_cursors(client, conn, tenant, sc)
    api_ids, raw_ids = await _api_page(client, sc), await _raw_page(conn, sc, tenant.org_id)
    if api_ids != raw_ids:
        raise RuntimeError(f"{sc.name}: the API and the baseline returned different pages")
    if len(api_ids) != 50:
        raise RuntimeError(f"{sc.name}: expected a full page, got {len(api_ids)} rows")
    for _ in range(WARMUP):
        await _api_page(client, sc)
        await _raw_page(conn, sc, tenant.org_id)
    with meter:
        for _ in range(ITERATIONS):
            started = time.perf_counter()
            await _api_page(client, sc)
            middle = time.perf_counter()
            await _raw_page(conn, sc, tenant.org_id)
            sc.api.append(middle - started)
            sc.raw.append(time.perf_counter() - middle)
    sc.cpu = meter.result


async def plan(conn: asyncpg.Connection, sc: Scenario, org_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sc.sql()}", *sc.sql_args(org_id))
    return [r[0] for r in rows]


def _plan_brief(lines: list[str]) -> str:
    """The scan nodes and the execution time, on one line."""
    nodes = [ln.strip().removeprefix("->  ").split("  (")[0] for ln in lines if "Scan" in ln]
    time_line = next((ln for ln in lines if ln.startswith("Execution Time")), "")
    return "; ".join(nodes) + f" [{time_line.removeprefix('Execution Time: ')}]"


# --------------------------------------------------------------------------- the run


@dataclass
class Context:
    """What every run shares: the loaded database, the API server and the clients."""

    conn: asyncpg.Connection
    client: httpx.AsyncClient
    api: ApiServer
    tenant: Tenant
    meter: CpuMeter
    data: dict[str, Any]
    postgres: dict[str, Any]


@asynccontextmanager
async def setup() -> AsyncIterator[Context]:
    """The million work orders (loaded, or found in the cache), the API server and the
    clients, once for all the runs."""
    async with postgres_server(VAR_BENCH / "postgres") as pg_server, redis_server() as redis_url:
        started = time.perf_counter()
        db_url, data = await prepare(pg_server.url)
        data["prepare_s"] = round(time.perf_counter() - started, 1)
        conn = await asyncpg.connect(plain_url(db_url))
        try:
            tenant = await load_tenant(conn, slug=SLUG)
            assert tenant is not None
            data["rows"] = await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE org_id = $1", tenant.org_id
            )
            data["open_rows"] = await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE org_id = $1 AND status = ANY($2)",
                tenant.org_id,
                OPEN,
            )
            data["model_indexes"] = await model_indexes(conn)
            pg = await postgres_info(conn)
            async with (
                ApiServer(database_url=db_url, redis_url=redis_url, workers=1) as api,
                httpx.AsyncClient(
                    base_url=api.base_url, limits=http_limits(), timeout=60
                ) as client,
            ):
                meter = CpuMeter(api_pid=api.pid, pg_pid=pg_server.pid)
                yield Context(conn, client, api, tenant, meter, data, pg)
        finally:
            await conn.close()


async def run(ctx: Context) -> dict[str, Any]:
    ctx.client.headers["Authorization"] = f"Bearer {mint_token(ctx.api.secret_key, ctx.tenant)}"
    cases = scenarios(ctx.tenant)
    for sc in cases:
        await measure(ctx.client, ctx.conn, ctx.tenant, sc, ctx.meter)
    plans = {sc.name: await plan(ctx.conn, sc, ctx.tenant.org_id) for sc in cases}
    return report(cases, plans, ctx.data, ctx.postgres)


def report(
    cases: list[Scenario], plans: dict[str, list[str]], data: dict[str, Any], pg: dict[str, Any]
) -> dict[str, Any]:
    figures, baseline, ratios = {}, {}, {}
    for sc in cases:
        api, raw = latency_summary(sc.api), latency_summary(sc.raw)
        figures[sc.name] = api
        baseline[sc.name] = raw
        ratios[sc.name] = round(api["p95_ms"] / raw["p95_ms"], 2)
    worst = max(figures[sc.name]["p95_ms"] for sc in cases)
    return {
        "description": DESCRIPTION,
        "figures": {"api": figures, "worst_api_p95_ms": worst},
        "baseline": {"raw_asyncpg": baseline},
        "ratio": ratios[cases[0].name],
        "ratio_means": f"API p95 / raw p95 for {cases[0].name}; per scenario in ratios",
        "ratios": ratios,
        "judged": worst,
        "brief": {
            "worst API p95 ms": worst,
            "other cores": other_cores(*(sc.cpu for sc in cases)),
        },
        "scenarios": {sc.name: {"what": sc.what, "query": sc.api_params()} for sc in cases},
        "plans_brief": {name: _plan_brief(lines) for name, lines in plans.items()},
        "cpu": {sc.name: sc.cpu for sc in cases},
        "plans": plans,
        "setup": {
            "iterations": ITERATIONS,
            "warmup": WARMUP,
            "client": "one request at a time, API and baseline alternating",
            "data": data,
            "postgres": pg,
        },
    }
