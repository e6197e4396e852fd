"""Work-order creation: POST /api/v1/tickets through the real server vs. raw inserts.

API side: httpx with a pool of CONCURRENCY keep-alive connections to the real uvicorn
server on loopback, a dispatcher's bearer token, valid bodies spread over customers,
sites and priorities (so the SLA deadlines are computed on the business calendar).

Baseline: the same rows, inserted with asyncpg in one transaction per work order at the
same concurrency (pool of CONCURRENCY): the number from ticket_counters with the same
INSERT .. ON CONFLICT DO UPDATE .. RETURNING, the tickets row, its ticket_events row and
its outbox_events row. That is the database's own price of a work order; everything the
API adds (HTTP, auth, validation, reference checks, SLA policy lookup, ORM, the job
enqueued in Redis) shows up in the ratio.

The phases alternate (raw, api, raw, api) so drift on a shared machine hits both sides.
Every work order of one organisation takes its number from the same counter row, which
stays locked until the transaction commits; a last pair of phases spreads the work over
SPREAD_ORGS organisations to show how much of the gap that row explains. Each phase
records where the CPU went and how many sessions waited on a lock (see common.py).

The database, the seed and the servers are set up once (``setup``); each run (BENCH_RUNS,
benchmarks/__main__.py) warms up again and writes new work orders after the last run's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from benchmarks.common import (
    LOOPBACK,
    SLA_MINUTES,
    ApiServer,
    CpuMeter,
    Goal,
    LockWaitSampler,
    Tenant,
    fresh_database,
    http_limits,
    latency_summary,
    mint_token,
    other_cores,
    plain_url,
    postgres_info,
    postgres_server,
    redis_server,
    seed_tenant,
)
from benchmarks.loopback import Pool
from shared.ids import uuid7

DESCRIPTION = "create work orders: real HTTP API vs. the same rows inserted with asyncpg"
CONCURRENCY = 32
REQUESTS = int(os.environ.get("BENCH_CREATE_REQUESTS", "3000"))
WARMUP = 300
ROUNDS = 2
SPREAD_ORGS = 16
SPREAD_REQUESTS = int(os.environ.get("BENCH_CREATE_SPREAD_REQUESTS", "1500"))
# The API side's load generator: "light" (benchmarks/loopback.py's Pool) or "httpx".
CLIENT = os.environ.get("BENCH_CREATE_CLIENT", "light")
# The API should reach at least a third of the raw insert rate.
GOAL = Goal("API creations per second >= 1/3 of the raw rate (one organisation)", at_least=1 / 3)
PRIORITIES = ("P1", "P2", "P3", "P4")

Op = Callable[[int], Awaitable[None]]


async def drive(count: int, op: Op, *, offset: int = 0) -> tuple[float, list[float]]:
    """Run op(offset..offset+count-1) from CONCURRENCY tasks; return (wall seconds, latencies)."""
    todo = iter(range(offset, offset + count))
    latencies: list[float] = []

    async def worker() -> None:
        for i in todo:  # the tasks share one iterator: each index runs once
            started = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, latencies


# --------------------------------------------------------------------------- the API side


def request_bodies(tenants: list[Tenant], count: int) -> list[bytes]:
    """Request i is for tenants[i % len(tenants)]."""
    bodies = []
    for i in range(count):
        tenant = tenants[i % len(tenants)]
        c = i // len(tenants) % len(tenant.customer_ids)
        body = {
            "customer_id": str(tenant.customer_ids[c]),
            "site_id": str(tenant.site_ids[c]),
            "priority": PRIORITIES[i % 4],
            "type": "repair",
            "channel": "phone",
            "title": f"Chiller trips on high pressure #{i}",
            "description": "Unit 2 shows alarm E31 since this morning; the shop is warm.",
            "required_skills": ["hvac"],
            "estimated_minutes": 90,
        }
        bodies.append(json.dumps(body).encode())
    return bodies


Post = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[int, bytes]]]


def httpx_post(client: httpx.AsyncClient) -> Post:
    async def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        response = await client.post(path, content=body, headers=headers)
        return response.status_code, response.content

    return post


def api_op(post: Post, tokens: list[str], bodies: list[bytes], failures: list[str]) -> Op:
    headers = [{"Authorization": f"Bearer {t}", "Content-Type": "application/json"} for t in tokens]

    async def create(i: int) -> None:
        status, answer = await post("/api/v1/tickets", bodies[i], headers[i % len(headers)])
        if status != 201:
            failures.append(f"{status} {answer[:300]!r}")

    return create


@asynccontextmanager
async def http_client(api: ApiServer) -> AsyncIterator[tuple[Post, str]]:
    """The load generator (CLIENT): the light one, or httpx as it was until 6 December."""
    if CLIENT == "httpx":
        limits = http_limits(CONCURRENCY)
        async with httpx.AsyncClient(base_url=api.base_url, limits=limits, timeout=60) as client:
            yield httpx_post(client), f"httpx.AsyncClient, pool of {CONCURRENCY} keep-alive"
        return
    async with Pool(LOOPBACK, api.port, CONCURRENCY) as light:
        yield light.post, f"loopback.Pool, {CONCURRENCY} keep-alive connections"


# --------------------------------------------------------------------------- the baseline

NEXT_NUMBER = (
    "INSERT INTO ticket_counters (org_id, last_number) VALUES ($1, 1) "
    "ON CONFLICT (org_id) DO UPDATE SET last_number = ticket_counters.last_number + 1 "
    "RETURNING ticket_counters.last_number"
)
INSERT_TICKET = (
    "INSERT INTO tickets (id, org_id, number, customer_id, site_id, channel, type, priority, "
    "status, title, description, search_text, required_skills, estimated_minutes, created_by, "
    "sla_policy_id, response_due_at, resolution_due_at, paused_seconds, sla_state, "
    "sla_next_check_at, response_breached, resolution_breached, version, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, 'phone', 'repair', $6, 'new', $7, $8, $9, $10, 90, $11, $12, "
    "$13, $14, 0, 'ok', $15, false, false, 1, $16, $16)"
)
INSERT_EVENT = (
    "INSERT INTO ticket_events (id, org_id, ticket_id, kind, to_status, changes, actor) "
    "VALUES ($1, $2, $3, 'created', 'new', $4::jsonb, $5)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox_events (id, org_id, topic, aggregate_id, payload, attempts) "
    "VALUES ($1, $2, 'ticket.created', $3, $4::jsonb, 0)"
)


def raw_op(pool: asyncpg.Pool, tenants: list[Tenant]) -> Op:
    description = "Unit 2 shows alarm E31 since this morning; the shop is warm."

    async def create(i: int) -> None:
        tenant = tenants[i % len(tenants)]
        actor = f"user:{tenant.dispatcher_email}"
        c = i // len(tenants) % len(tenant.customer_ids)
        priority = PRIORITIES[i % 4]
        response_min, resolution_min = SLA_MINUTES[priority]
        now = dt.datetime.now(dt.UTC)
        ticket_id = uuid7()
        title = f"Chiller trips on high pressure #{i}"
        changes = {"priority": priority, "customer_id": str(tenant.customer_ids[c])}
        resolution_due = now + dt.timedelta(minutes=resolution_min)
        async with pool.acquire() as conn, conn.transaction():
            number = await conn.fetchval(NEXT_NUMBER, tenant.org_id)
            await conn.execute(
                INSERT_TICKET,
                ticket_id,
                tenant.org_id,
                number,
                tenant.customer_ids[c],
                tenant.site_ids[c],
                priority,
                title,
                description,
                f"wo-{number:06d} {title} {description}".lower(),
                ["hvac"],
                actor,
                tenant.policies[priority],
                now + dt.timedelta(minutes=response_min),
                resolution_due,
                now + (resolution_due - now) * 0.8,
                now,
            )
            await conn.execute(
                INSERT_EVENT, uuid7(), tenant.org_id, ticket_id, json.dumps(changes), actor
            )
            payload = {
                "ticket_id": str(ticket_id),
                "number": f"WO-{number:06d}",
                "status": "new",
                "action": None,
                "from_status": None,
                "to_status": "new",
                "changes": changes,
                "actor": actor,
            }
            await conn.execute(
                INSERT_OUTBOX, uuid7(), tenant.org_id, ticket_id, json.dumps(payload)
            )

    return create


# --------------------------------------------------------------------------- the run


class Side:
    """Accumulates one side's phases."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.latencies: list[float] = []
        self.cpu: list[dict[str, float]] = []

    def add(
        self,
        count: int,
        seconds: float,
        latencies: list[float],
        cpu: dict[str, float],
        locks: float,
    ) -> None:
        self.count += count
        self.seconds += seconds
        self.latencies += latencies
        self.cpu.append({**cpu, "lock_waiters": locks})

    def report(self) -> dict[str, Any]:
        cpu = {k: round(sum(c[k] for c in self.cpu) / len(self.cpu), 2) for k in self.cpu[0]}
        return {
            "requests": self.count,
            "per_second": round(self.count / self.seconds, 1),
            "latency": latency_summary(self.latencies),
            "cpu": cpu,
        }


class Bench:
    """The servers, clients and tenants of one run."""

    def __init__(self, api: ApiServer, post: Post, pool: asyncpg.Pool, db_url: str) -> None:
        self.api, self.post, self.pool, self.db_url = api, post, pool, db_url
        self.client = ""  # what the load generator is
        self.pg_pid: int | None = None
        self.failures: list[str] = []

    def ops(self, tenants: list[Tenant], count: int) -> tuple[Op, Op]:
        """(via the API, direct) for requests 0..count-1 spread over the tenants."""
        bodies = request_bodies(tenants, count)
        tokens = [mint_token(self.api.secret_key, t) for t in tenants]
        return api_op(self.post, tokens, bodies, self.failures), raw_op(self.pool, tenants)

    async def phase(self, side: Side, op: Op, count: int, offset: int) -> None:
        async with LockWaitSampler(self.db_url) as locks:
            with CpuMeter(api_pid=self.api.pid, pg_pid=self.pg_pid) as meter:
                seconds, latencies = await drive(count, op, offset=offset)
        side.add(count, seconds, latencies, meter.result, locks.mean)
        if self.failures:
            raise RuntimeError(
                f"{len(self.failures)} API requests failed; first: {self.failures[0]}"
            )

    async def compare(
        self, tenants: list[Tenant], count: int, rounds: int, offset: int = 0
    ) -> tuple[Side, Side]:
        """Warm up, then alternate raw and API phases; returns (api, raw). ``offset``: the
        requests made before (their titles are not repeated)."""
        via_api, direct = self.ops(tenants, offset + WARMUP + count)
        await drive(WARMUP, direct, offset=offset)  # connections, prepared statements, caches
        await drive(WARMUP, via_api, offset=offset)
        api_side, raw_side = Side(), Side()
        per_round = count // rounds
        for r in range(rounds):
            for side, op in ((raw_side, direct), (api_side, via_api)):
                await self.phase(side, op, per_round, offset + WARMUP + r * per_round)
        return api_side, raw_side


async def _check_rows(conn: asyncpg.Connection) -> dict[str, int]:
    """Every work order has its event and outbox row, and the counters add up."""
    counts = {
        table: await conn.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("tickets", "ticket_events", "outbox_events")
    }
    counts["numbers_issued"] = await conn.fetchval("SELECT sum(last_number) FROM ticket_counters")
    if len(set(counts.values())) != 1:
        raise RuntimeError(f"the rows do not add up: {counts}")
    return counts


async def _seed(conn: asyncpg.Connection) -> tuple[Tenant, list[Tenant]]:
    main = await seed_tenant(conn, slug="bench-create", customers=500, engineers=20)
    spread = [
        await seed_tenant(conn, slug=f"bench-spread-{i}", customers=50, engineers=2)
        for i in range(SPREAD_ORGS)
    ]
    return main, spread


@dataclass
class Context:
    """What every run shares: the servers, the clients and the tenants."""

    bench: Bench
    tenant: Tenant
    spread: list[Tenant]
    conn: asyncpg.Connection
    postgres: dict[str, Any]
    offset: int = 0  # requests already made (each run's bodies follow the last run's)


@asynccontextmanager
async def setup() -> AsyncIterator[Context]:
    """A fresh database (migrations, seed), the API server and both clients, once for all
    the runs: each run warms up again and writes new work orders after the last run's."""
    async with postgres_server() as pg_server, redis_server() as redis_url:
        db_url = await fresh_database(pg_server.url, "fixflow_bench_create")
        conn = await asyncpg.connect(plain_url(db_url))
        try:
            tenant, spread = await _seed(conn)
            pg = await postgres_info(conn)
            pool = await asyncpg.create_pool(
                plain_url(db_url), min_size=CONCURRENCY, max_size=CONCURRENCY
            )
            try:
                async with (
                    ApiServer(database_url=db_url, redis_url=redis_url) as api,
                    http_client(api) as (post, client),
                ):
                    bench = Bench(api, post, pool, plain_url(db_url))
                    bench.pg_pid = pg_server.pid
                    bench.client = client
                    yield Context(bench, tenant, spread, conn, pg)
            finally:
                await pool.close()
        finally:
            await conn.close()


async def run(ctx: Context) -> dict[str, Any]:
    bench = ctx.bench
    api_side, raw_side = await bench.compare([ctx.tenant], REQUESTS, ROUNDS, ctx.offset)
    api_spread, raw_spread = await bench.compare(ctx.spread, SPREAD_REQUESTS, 1, ctx.offset)
    ctx.offset += WARMUP + max(REQUESTS, SPREAD_REQUESTS)
    rows = await _check_rows(ctx.conn)
    api_report, raw_report = api_side.report(), raw_side.report()
    api_spread_report, raw_spread_report = api_spread.report(), raw_spread.report()
    ratio = api_report["per_second"] / raw_report["per_second"]
    spread_ratio = api_spread_report["per_second"] / raw_spread_report["per_second"]
    return {
        "description": DESCRIPTION,
        "figures": {"api": api_report, f"api_{SPREAD_ORGS}_orgs": api_spread_report},
        "baseline": {
            "raw_asyncpg": raw_report,
            f"raw_asyncpg_{SPREAD_ORGS}_orgs": raw_spread_report,
        },
        "ratio": round(ratio, 3),
        "ratio_means": "API creations per second / raw asyncpg creations per second, one org",
        "ratios": {"one_org": round(ratio, 3), f"{SPREAD_ORGS}_orgs": round(spread_ratio, 3)},
        "judged": round(ratio, 3),
        "brief": {
            "API/s": api_report["per_second"],
            "raw/s": raw_report["per_second"],
            f"{SPREAD_ORGS} orgs": round(spread_ratio, 3),
            "other cores (API / raw)": other_cores(api_report["cpu"], raw_report["cpu"]),
        },
        "setup": {
            "concurrency": CONCURRENCY,
            "warmup_per_side": WARMUP,
            "rounds": ROUNDS,
            "api_workers": bench.api.workers,
            "client": f"one process; API side: {bench.client}; raw side: asyncpg pool of "
            f"{CONCURRENCY}",
            "spread": f"{SPREAD_REQUESTS} more per side over {SPREAD_ORGS} organisations "
            "(own counters), to show what the shared counter row costs",
            "postgres": ctx.postgres,
            "rows_written": rows,
        },
    }
