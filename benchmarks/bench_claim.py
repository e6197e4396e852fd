"""Claiming from the pool under contention: 50 engineers claim one work order at once.

Each round opens a fresh work order for claim, then fires CLAIMERS concurrent
``POST /tickets/{id}/claim`` requests at the real uvicorn server on loopback, one per
engineer (each with their own token, each eligible): exactly one must win (200), the
others get 409 ``already_claimed``. The figure is the latency of all those requests
(p50/p95/p99): the losers queue on the work order's row lock behind the winner and each
other, so the tail is the price of the contention.

Baseline, same run, same server: the same concurrency without contention: CLAIMERS
engineers each accepting their own work order at once (the cheapest lifecycle step a phone
sends). ``ratio`` = claim p95 / that crowd's accept p95: what contending for one row costs
beyond CLAIMERS requests arriving together. The goal: at most 2 (the losers queue on the
row lock and are answered from one read; they must not cost more than a second round of
the same requests). Also reported: a single accept (one request at a time) with the claim
p95 over it, and a lone claim (nobody contending), the claim's own work.

History: the first goal was "claim p95 <= 50 x a single accept's p50" (50 claims cost no
more than 50 accepts one after another). Measured at 63-68, but 50 plain accepts arriving
together already reach about 36-40 x on one API worker: that goal judged the arrival of 50
requests at once, not the claim, so the judged baseline became the same-concurrency one.

The checks (``checks_met``): one winner per round, its work order accepted, pinned and out
of the pool, and one assign event per work order.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from benchmarks.common import (
    ApiServer,
    CpuMeter,
    Goal,
    LockWaitSampler,
    Tenant,
    bench_token,
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

DESCRIPTION = "50 concurrent claims of one work order vs. a single accept, real HTTP API"
CLAIMERS = 50
ROUNDS = 10  # work orders claimed per run
ACCEPTS = 50  # baseline requests per run
WARMUP = 20
CROWD_ROUNDS = 3  # rounds of CLAIMERS concurrent accepts, each on its own work order
GOAL = Goal(
    f"claim p95 under {CLAIMERS} concurrent claimers <= 2 x the p95 of {CLAIMERS} concurrent "
    "accepts without contention",
    at_most=2,
)
ALL_WEEK = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class Context:
    api: ApiServer
    client: httpx.AsyncClient
    conn: asyncpg.Connection
    db_url: str
    pg_pid: int | None
    tenant: Tenant
    dispatcher: dict[str, str]
    engineers: list[tuple[uuid.UUID, dict[str, str]]]  # (engineer id, headers)
    postgres: dict[str, Any]
    made: int = 0
    failures: list[str] = field(default_factory=list)


async def _engineers(conn: asyncpg.Connection, api: ApiServer, t: Tenant) -> list[Any]:
    """Every engineer on shift all week (the pool needs a shift on today's date) and with a
    home to start from (an engineer without one cannot be routed, so cannot claim)."""
    await conn.execute(
        "UPDATE engineers SET working_hours = $2::jsonb, home_lat = 31.2, home_lon = 121.5 "
        "WHERE org_id = $1",
        t.org_id,
        json.dumps(ALL_WEEK),
    )
    await conn.execute(
        "UPDATE sites SET lat = 31.23, lon = 121.47 WHERE org_id = $1", t.org_id
    )  # a job needs a location to be claimable
    rows = await conn.fetch(
        "SELECT id, user_id FROM engineers WHERE org_id = $1 ORDER BY id", t.org_id
    )
    return [
        (
            r["id"],
            {
                "Authorization": "Bearer "
                + bench_token(
                    api.secret_key, user_id=r["user_id"], org_id=t.org_id, role="engineer"
                )
            },
        )
        for r in rows
    ]


@asynccontextmanager
async def setup() -> AsyncIterator[Context]:
    async with postgres_server() as pg_server, redis_server() as redis_url:
        db_url = await fresh_database(pg_server.url, "fixflow_bench_claim")
        conn = await asyncpg.connect(plain_url(db_url))
        try:
            tenant = await seed_tenant(conn, slug="bench-claim", customers=20, engineers=CLAIMERS)
            pg = await postgres_info(conn)
            async with (
                ApiServer(database_url=db_url, redis_url=redis_url) as api,
                httpx.AsyncClient(
                    base_url=api.base_url, limits=http_limits(CLAIMERS + 4), timeout=120
                ) as client,
            ):
                engineers = await _engineers(conn, api, tenant)
                dispatcher = {"Authorization": f"Bearer {mint_token(api.secret_key, tenant)}"}
                yield Context(
                    api,
                    client,
                    conn,
                    plain_url(db_url),
                    pg_server.pid,
                    tenant,
                    dispatcher,
                    engineers,
                    pg,
                )
        finally:
            await conn.close()


async def _new_ticket(ctx: Context) -> str:
    i = ctx.made
    ctx.made += 1
    body = {
        "customer_id": str(ctx.tenant.customer_ids[i % len(ctx.tenant.customer_ids)]),
        "site_id": str(ctx.tenant.site_ids[i % len(ctx.tenant.site_ids)]),
        "title": f"Chiller trips #{i}",
        "required_skills": ["hvac:2"],
        "priority": "P2",
    }
    response = await ctx.client.post("/api/v1/tickets", json=body, headers=ctx.dispatcher)
    if response.status_code != 201:
        raise RuntimeError(f"create: {response.status_code} {response.text[:300]}")
    ticket_id: str = response.json()["id"]
    return ticket_id


async def _post(ctx: Context, path: str, headers: dict[str, str], **body: Any) -> tuple[int, float]:
    started = time.perf_counter()
    response = await ctx.client.post(path, json=body or None, headers=headers)
    seconds = time.perf_counter() - started
    if response.status_code >= 400 and response.json().get("code") != "already_claimed":
        ctx.failures.append(f"{path}: {response.status_code} {response.text[:200]}")
    return response.status_code, seconds


async def _accepts(ctx: Context, count: int) -> list[float]:
    """``count`` single accepts, one after another (assigned first, not timed)."""
    latencies = []
    for i in range(count):
        ticket_id = await _new_ticket(ctx)
        engineer_id, headers = ctx.engineers[i % len(ctx.engineers)]
        path = f"/api/v1/tickets/{ticket_id}/transitions"
        assign = {"action": "assign", "engineer_id": str(engineer_id)}
        status, _ = await _post(ctx, path, ctx.dispatcher, **assign)
        status_accept, seconds = await _post(ctx, path, headers, action="accept")
        if (status, status_accept) != (200, 200):
            raise RuntimeError(f"assign/accept answered {status}/{status_accept}")
        latencies.append(seconds)
    return latencies


async def _crowd_accepts(ctx: Context) -> list[float]:
    """Every engineer accepts a work order of their own, all at once: the same concurrency
    as a round of claims, without the contention (assigned first, not timed)."""
    paths = []
    for engineer_id, _ in ctx.engineers:
        path = f"/api/v1/tickets/{await _new_ticket(ctx)}/transitions"
        assign = {"action": "assign", "engineer_id": str(engineer_id)}
        if (await _post(ctx, path, ctx.dispatcher, **assign))[0] != 200:
            raise RuntimeError("assign failed")
        paths.append(path)
    answers = await asyncio.gather(
        *(
            _post(ctx, path, h, action="accept")
            for path, (_, h) in zip(paths, ctx.engineers, strict=True)
        )
    )
    if any(status != 200 for status, _ in answers):
        raise RuntimeError(f"concurrent accepts answered {sorted({s for s, _ in answers})}")
    return [seconds for _, seconds in answers]


async def _round(ctx: Context) -> tuple[list[float], list[int]]:
    """One work order opened for claim and claimed by every engineer at once."""
    ticket_id = await _new_ticket(ctx)
    opened = await ctx.client.post(
        f"/api/v1/tickets/{ticket_id}/open-for-claim", headers=ctx.dispatcher
    )
    if opened.status_code != 200:
        raise RuntimeError(f"open-for-claim: {opened.status_code} {opened.text[:300]}")
    path = f"/api/v1/tickets/{ticket_id}/claim"
    answers = await asyncio.gather(*(_post(ctx, path, h) for _, h in ctx.engineers))
    statuses = [s for s, _ in answers]
    if sorted(statuses) != [200] + [409] * (len(ctx.engineers) - 1):
        ctx.failures.append(f"{ticket_id}: statuses {sorted(set(statuses))}")
    await _check(ctx, ticket_id)
    return [seconds for _, seconds in answers], statuses


async def _solo(ctx: Context, i: int) -> float:
    """One claim nobody contends: what the claim itself costs."""
    ticket_id = await _new_ticket(ctx)
    await ctx.client.post(f"/api/v1/tickets/{ticket_id}/open-for-claim", headers=ctx.dispatcher)
    _, headers = ctx.engineers[i % len(ctx.engineers)]
    status, seconds = await _post(ctx, f"/api/v1/tickets/{ticket_id}/claim", headers)
    if status != 200:
        ctx.failures.append(f"{ticket_id}: a lone claim answered {status}")
    return seconds


async def _check(ctx: Context, ticket_id: str) -> None:
    row = await ctx.conn.fetchrow(
        "SELECT status, pinned, open_for_claim, "
        "(SELECT count(*) FROM ticket_events e WHERE e.ticket_id = t.id AND action = 'assign') "
        "AS assigns FROM tickets t WHERE id = $1",
        uuid.UUID(ticket_id),
    )
    if tuple(row) != ("accepted", True, False, 1):
        ctx.failures.append(f"{ticket_id}: row {tuple(row)}")


async def run(ctx: Context) -> dict[str, Any]:
    await _accepts(ctx, WARMUP)
    for _ in range(2):
        await _round(ctx)  # connections, statement caches
    ctx.failures.clear()
    accepts: list[float] = []
    claims: list[float] = []
    winners: list[float] = []
    alone: list[float] = []
    crowd: list[float] = []
    async with LockWaitSampler(ctx.db_url) as locks:
        with CpuMeter(api_pid=ctx.api.pid, pg_pid=ctx.pg_pid) as meter:
            # Alternate, so drift on the shared machine hits both sides.
            for _ in range(ROUNDS):
                accepts += await _accepts(ctx, ACCEPTS // ROUNDS)
                alone += [await _solo(ctx, i) for i in range(ACCEPTS // ROUNDS)]
                if len(crowd) < CROWD_ROUNDS * CLAIMERS:
                    crowd += await _crowd_accepts(ctx)
                latencies, statuses = await _round(ctx)
                claims += latencies
                winners += [s for s, code in zip(latencies, statuses, strict=True) if code == 200]
    claim_summary, accept_summary = latency_summary(claims), latency_summary(accepts)
    crowd_summary = latency_summary(crowd)
    ratio = claim_summary["p95_ms"] / crowd_summary["p95_ms"]
    return {
        "description": DESCRIPTION,
        "figures": {
            f"claim_{CLAIMERS}_concurrent": claim_summary,
            "claim_winner": latency_summary(winners),
            "claim_alone": latency_summary(alone),
        },
        "baseline": {
            "single_accept": accept_summary,
            f"accept_{CLAIMERS}_concurrent": crowd_summary,
        },
        "ratio": round(ratio, 2),
        "ratio_means": "claim p95 (50 concurrent claimers) / p95 of 50 concurrent accepts",
        "ratios": {
            "p50_over_accept_p50": round(claim_summary["p50_ms"] / accept_summary["p50_ms"], 2),
            "p95_over_accept_p50": round(claim_summary["p95_ms"] / accept_summary["p50_ms"], 2),
            "p99_over_accept_p50": round(claim_summary["p99_ms"] / accept_summary["p50_ms"], 2),
            "p95_over_concurrent_accept_p95": round(ratio, 2),
        },
        "judged": round(ratio, 2),
        "checks_met": not ctx.failures,
        "failures": ctx.failures[:5],
        "brief": {
            "claim p50/p95/p99 ms": f"{claim_summary['p50_ms']}/{claim_summary['p95_ms']}/"
            f"{claim_summary['p99_ms']}",
            "accept p50 ms": accept_summary["p50_ms"],
            "lone claim p50 ms": latency_summary(alone)["p50_ms"],
            f"{CLAIMERS} concurrent accepts p95 ms": crowd_summary["p95_ms"],
        },
        "cpu": {**meter.result, "lock_waiters": locks.mean},
        "setup": {
            "claimers": CLAIMERS,
            "rounds": ROUNDS,
            "accepts": ACCEPTS,
            "api_workers": ctx.api.workers,
            "client": f"httpx.AsyncClient, {CLAIMERS + 4} keep-alive connections",
            "postgres": ctx.postgres,
        },
    }
