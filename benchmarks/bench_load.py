"""Holding load: a mixed load on the real server, in steps of phones, until it no longer
holds.

Data (COPY, not measured): one organisation of ENGINEERS engineers, each with a registered
phone (``sync_clients``), WORK_ORDERS accepted work orders (each with its own customer,
site and asset), a van with 5 parts and the feed rows the server writes for all of it;
a catalogue of 1,000 parts; OFFICE office users (half dispatchers, half agents) and two
integrators' API keys. Each phone starts from a cursor at the feed's head, as a phone
that synced yesterday (no first snapshot).

The load (benchmarks/load_actors.py): phones sync every 10-20 s (pull; a push of 1-3
mutations of a day of visits on 40 % of their syncs); office users list, search, read,
create, edit and assign every 2-8 s; two integrators read every 1.5-2.5 s. The office and
the integrators run throughout; phones are added step by step (STEPS: 100, 200, ...).
Each step: the new phones join (their first syncs spread over 15 s; the JOIN seconds
from the step's start are reported as its join phase), then STEADY seconds are measured.
A step **holds** when its steady phase has reads (GET) p99 < 200 ms and writes
(POST/PATCH) p99 < 400 ms, and the whole step has no error (no answer, or a status of
400 or more). The run stops after the first step that does not hold; ``phones_held`` is
the largest step that held.

The requests go through a minimal HTTP/1.1 client (benchmarks/loopback.py), one
connection per simulated user, in this process; its CPU is reported as ``client``.

Baseline (same run, same API processes): GET /health from 16 connections in a closed loop
for BASELINE seconds: its rate and the API's CPU per request. The ratio is the API's CPU
per request of the held mix over that of the trivial request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from benchmarks.common import (
    LOOPBACK,
    ApiServer,
    CpuMeter,
    Goal,
    bench_token,
    fresh_database,
    latency_summary,
    plain_url,
    postgres_info,
    postgres_server,
    redis_server,
)
from benchmarks.load_actors import Integrator, Office, OrgData, Phone, Recorder, Sample
from benchmarks.loopback import Connection
from benchmarks.sync_seed import FieldOrg, register_clients, seed_field_org
from server.auth import security
from server.sync import cursor as cursors
from shared.ids import uuid7


def _ints(name: str, default: str) -> list[int]:
    return [int(v) for v in os.environ.get(name, default).split(",") if v.strip()]


DESCRIPTION = "holding load: phones syncing every 15 s + office + integrators, in steps"
STEPS = _ints("BENCH_LOAD_STEPS", "100,200,300,400,500,600,800,1000,1200")
ENGINEERS = int(os.environ.get("BENCH_LOAD_ENGINEERS", str(max(STEPS))))
WORK_ORDERS = int(os.environ.get("BENCH_LOAD_WORK_ORDERS", "4"))
OFFICE = int(os.environ.get("BENCH_LOAD_OFFICE", "8"))
INTEGRATORS = 2
JOIN = float(os.environ.get("BENCH_LOAD_JOIN", "20"))
STEADY = float(os.environ.get("BENCH_LOAD_STEADY", "60"))
WARMUP = float(os.environ.get("BENCH_LOAD_WARMUP", "10"))
BASELINE = float(os.environ.get("BENCH_LOAD_BASELINE", "5"))
WORKERS = int(os.environ.get("BENCH_LOAD_API_WORKERS", "2"))
SEED = int(os.environ.get("BENCH_LOAD_SEED", "1"))
READ_P99_MS, WRITE_P99_MS = 200.0, 400.0
GOAL_PHONES = 500
GOAL = Goal(
    f"phones_held >= {GOAL_PHONES} (steady reads p99 < {READ_P99_MS:.0f} ms, writes p99 < "
    f"{WRITE_P99_MS:.0f} ms, 0 errors; phones syncing every 15 s on average)",
    at_least=GOAL_PHONES,
)
CATALOGUE = 1000


# --------------------------------------------------------------------------- seed


@dataclass
class Seeded:
    org: FieldOrg
    clients: list[uuid.UUID]
    office: list[tuple[uuid.UUID, str]]  # (user id, role)
    keys: list[str]
    org_data: OrgData
    rows: dict[str, Any]


async def seed(conn: asyncpg.Connection) -> Seeded:
    started = time.perf_counter()
    org = await seed_field_org(
        conn,
        slug="bench-load",
        engineers=ENGINEERS,
        work_orders=WORK_ORDERS,
        status="accepted",
        parts=CATALOGUE,
        van_parts=5,
        feed=True,
    )
    clients = await register_clients(conn, org, org.engineers, "bench-load phone")
    tenant = org.tenant
    office = [(tenant.dispatcher_id, "dispatcher")]
    for n in range(1, OFFICE):
        role = "dispatcher" if n % 2 == 0 else "agent"
        user_id = uuid7()
        await conn.execute(
            "INSERT INTO users (id, org_id, email, full_name, password_hash, role, locale) "
            "VALUES ($1, $2, $3, $4, '!no-login', $5, 'zh_CN')",
            user_id,
            tenant.org_id,
            f"{role}{n}@bench-load.bench",
            f"Office {n}",
            role,
        )
        office.append((user_id, role))
    keys = []
    for n in range(INTEGRATORS):
        prefix = f"load{n:04d}"
        secret = f"ffk_{prefix}_{uuid.uuid4().hex}"
        keys.append(secret)
        await conn.execute(
            "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, scopes, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            uuid7(),
            tenant.org_id,
            f"ERP {n}",
            prefix,
            security.digest(secret),
            ["tickets:read", "customers:read"],
            tenant.dispatcher_id,
        )
    await conn.execute("VACUUM ANALYZE")
    data = OrgData(
        customers=list(zip(tenant.customer_ids, tenant.site_ids, strict=True)),
        engineer_ids=[e.id for e in org.engineers],
        ticket_ids=[wo.id for e in org.engineers for wo in e.work_orders],
    )
    rows = {
        **org.rows,
        "engineers": ENGINEERS,
        "phones": len(clients),
        "office_users": len(office),
        "api_keys": len(keys),
        "seed_seconds": round(time.perf_counter() - started, 1),
    }
    return Seeded(org, clients, office, keys, data, rows)


def _token(secret: str, user_id: uuid.UUID, org_id: uuid.UUID, role: str) -> str:
    return bench_token(secret, user_id=user_id, org_id=org_id, role=role)


async def phones(
    conn: asyncpg.Connection, seeded: Seeded, api: ApiServer, rng: random.Random
) -> list[Phone]:
    """One phone per engineer, its cursor at the feed's head (as after yesterday's sync)."""
    head = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    edge = (dt.datetime.now(dt.UTC) - dt.timedelta(days=14)).timestamp()
    state = cursors.Feed(t=head - 1, i=cursors.MAX_ID, w=head, o=edge)
    org = seeded.org
    out = []
    for engineer, client_id in zip(org.engineers, seeded.clients, strict=True):
        out.append(
            Phone(
                client_id=client_id,
                token=_token(api.secret_key, engineer.user_id, org.tenant.org_id, "engineer"),
                cursor=cursors.encode(state, secret=api.secret_key, client_id=client_id),
                work_orders=engineer.work_orders,
                items=org.items,
                conn=Connection(LOOPBACK, api.port),
                rng=random.Random(rng.random()),
            )
        )
    return out


# --------------------------------------------------------------------------- measuring


_GC_LINE = re.compile(r"^fixflow_gc_pause_seconds_(bucket|count|sum)\{([^}]*)\} ([0-9.e+-]+)$")


async def gc_pauses(api: ApiServer) -> dict[str, float]:
    """The API's GC pause histogram (server/runtime.py), summed over its worker processes:
    {"<generation> count" | "<generation> sum" | "<generation> le=<bound>": value}."""
    conn = Connection(LOOPBACK, api.port)
    try:
        answer = await conn.request("GET", "/metrics", {})
    finally:
        await conn.close()
    out: dict[str, float] = {}
    for line in answer.body.decode().splitlines():
        match = _GC_LINE.match(line)
        if not match:
            continue
        kind, labels, value = match.groups()
        fields = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        key = f"{fields.get('generation')} " + (f"le={fields['le']}" if kind == "bucket" else kind)
        out[key] = out.get(key, 0.0) + float(value)
    return out


def gc_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Per generation: collections, total and mean pause, and how many took over 10, 25,
    50 and 100 ms (from the histogram's buckets)."""
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    out: dict[str, Any] = {}
    for generation in ("0", "1", "2"):
        count = int(delta.get(f"{generation} count", 0))
        total = delta.get(f"{generation} sum", 0.0) * 1000
        entry: dict[str, Any] = {"collections": count, "total_ms": round(total, 1)}
        if count:
            entry["mean_ms"] = round(total / count, 2)
            for bound in ("0.01", "0.025", "0.05", "0.1"):
                below = delta.get(f"{generation} le={bound}", 0.0)
                entry[f"over_{int(float(bound) * 1000)}ms"] = int(count - below)
        out[f"gen{generation}"] = entry
    return out


async def baseline(api: ApiServer, pg_pid: int | None) -> dict[str, Any]:
    """GET /health in a closed loop from 16 connections: the API's trivial request."""
    conns = [Connection(LOOPBACK, api.port) for _ in range(16)]
    done: list[float] = []
    stop = time.monotonic() + BASELINE

    async def loop(conn: Connection) -> None:
        while time.monotonic() < stop:
            started = time.monotonic()
            answer = await conn.request("GET", "/health", {})
            if answer.status != 200:
                raise RuntimeError(f"/health answered {answer.status}")
            done.append(time.monotonic() - started)
        await conn.close()

    await asyncio.gather(*(loop(c) for c in conns[:4]))  # warm-up
    done.clear()
    stop = time.monotonic() + BASELINE
    with CpuMeter(api_pid=api.pid, pg_pid=pg_pid) as cpu:
        started = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in conns))
        wall = time.perf_counter() - started
    rate = len(done) / wall
    return {
        "what": "GET /health, 16 connections, closed loop (no database, no authentication)",
        "requests_per_s": round(rate, 1),
        "latency": latency_summary(done),
        "api_cpu_ms_per_request": round(cpu.result["api_cores"] / rate * 1000, 3),
        "cpu": cpu.result,
    }


def _errors(samples: list[Sample]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in samples:
        if s.kind != "sync" and (s.status == 0 or s.status >= 400):
            key = f"{s.what}:{s.status or 'no answer'}"
            out[key] = out.get(key, 0) + 1
    return out


def phase(samples: list[Sample], seconds: float, cpu: dict[str, float]) -> dict[str, Any]:
    requests = [s for s in samples if s.kind != "sync"]
    rate = len(requests) / seconds
    by_what: dict[str, list[float]] = {}
    for s in requests:
        by_what.setdefault(s.what, []).append(s.seconds)
    return {
        "seconds": round(seconds, 1),
        "requests": len(requests),
        "requests_per_s": round(rate, 1),
        "syncs_per_s": round(sum(1 for s in samples if s.kind == "sync") / seconds, 1),
        "reads": latency_summary(s.seconds for s in requests if s.kind == "read"),
        "writes": latency_summary(s.seconds for s in requests if s.kind == "write"),
        "sync": latency_summary(s.seconds for s in samples if s.kind == "sync"),
        "errors": _errors(samples),
        "cpu": cpu,
        "api_cpu_ms_per_request": round(cpu["api_cores"] / rate * 1000, 2) if rate else None,
        "client_cpu_ms_per_request": round(cpu["client_cores"] / rate * 1000, 3) if rate else None,
        "by_request": {
            what: {
                "count": len(v),
                "p50_ms": latency_summary(v)["p50_ms"],
                "p99_ms": latency_summary(v)["p99_ms"],
            }
            for what, v in sorted(by_what.items())
        },
    }


def held(step: dict[str, Any]) -> bool:
    steady = step["steady"]
    reads, writes = steady["reads"], steady["writes"]
    return (
        bool(reads)
        and reads["p99_ms"] < READ_P99_MS
        and (not writes or writes["p99_ms"] < WRITE_P99_MS)
        and not step["join"]["errors"]
        and not steady["errors"]
    )


# --------------------------------------------------------------------------- the run


async def run_steps(
    api: ApiServer, pg_pid: int | None, all_phones: list[Phone], seeded: Seeded, rng: random.Random
) -> tuple[list[dict[str, Any]], Recorder]:
    rec = Recorder()
    tasks: list[asyncio.Task[None]] = []
    for user_id, role in seeded.office:
        token = _token(api.secret_key, user_id, seeded.org.tenant.org_id, role)
        office = Office(
            token,
            role == "dispatcher",
            seeded.org_data,
            Connection(LOOPBACK, api.port),
            random.Random(rng.random()),
        )
        tasks.append(asyncio.create_task(office.run(rec)))
    for key in seeded.keys:
        integrator = Integrator(
            key, seeded.org_data, Connection(LOOPBACK, api.port), random.Random(rng.random())
        )
        tasks.append(asyncio.create_task(integrator.run(rec)))
    await asyncio.sleep(WARMUP)
    steps: list[dict[str, Any]] = []
    running = 0
    try:
        for target in STEPS:
            if target > len(all_phones):
                break
            for phone in all_phones[running:target]:
                delay = rng.uniform(0, 15)
                tasks.append(asyncio.create_task(phone.run(rec, delay)))
            running = target
            step = await measure_step(api, pg_pid, rec, target)
            steps.append(step)
            print(f"   {target} phones: {brief(step)}", flush=True)
            if not step["held"]:
                break
    finally:
        rec.stop = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return steps, rec


async def measure_step(
    api: ApiServer, pg_pid: int | None, rec: Recorder, phones_now: int
) -> dict[str, Any]:
    t0 = time.monotonic()
    with CpuMeter(api_pid=api.pid, pg_pid=pg_pid) as join_cpu:
        await asyncio.sleep(JOIN)
    gc_before = await gc_pauses(api)
    t1 = time.monotonic()
    with CpuMeter(api_pid=api.pid, pg_pid=pg_pid) as steady_cpu:
        await asyncio.sleep(STEADY)
    t2 = time.monotonic()
    gc_after = await gc_pauses(api)
    join = [s for s in rec.samples if t0 <= s.started < t1]
    steady = [s for s in rec.samples if t1 <= s.started < t2]
    step = {
        "phones": phones_now,
        "join": phase(join, t1 - t0, join_cpu.result),
        "steady": phase(steady, t2 - t1, steady_cpu.result),
        "gc_steady": gc_delta(gc_before, gc_after),
        "rejected_mutations_so_far": rec.rejected_mutations,
    }
    step["held"] = held(step)
    return step


def brief(step: dict[str, Any]) -> str:
    s = step["steady"]
    p99 = {k: s[k].get("p99_ms") for k in ("reads", "writes", "sync")}
    errors = sum(s["errors"].values()) + sum(step["join"]["errors"].values())
    return (
        f"{s['requests_per_s']} req/s, p99 reads {p99['reads']} / writes {p99['writes']} / "
        f"sync {p99['sync']} ms, errors {errors}, "
        f"api {s['cpu']['api_cores']} pg {s['cpu']['postgres_cores']} client "
        f"{s['cpu']['client_cores']} other {s['cpu']['other_cores']} cores "
        f"-> {'held' if step['held'] else 'NOT held'}"
    )


async def run() -> dict[str, Any]:
    rng = random.Random(SEED)
    async with postgres_server() as pg_server, redis_server() as redis_url:
        db_url = await fresh_database(pg_server.url, "fixflow_bench_load")
        conn = await asyncpg.connect(plain_url(db_url))
        try:
            seeded = await seed(conn)
            pg = await postgres_info(conn)
            async with ApiServer(database_url=db_url, redis_url=redis_url, workers=WORKERS) as api:
                all_phones = await phones(conn, seeded, api, rng)
                base = await baseline(api, pg_server.pid)
                steps, rec = await run_steps(api, pg_server.pid, all_phones, seeded, rng)
        finally:
            await conn.close()
    return report(steps, base, seeded, pg, rec)


def report(
    steps: list[dict[str, Any]],
    base: dict[str, Any],
    seeded: Seeded,
    pg: dict[str, Any],
    rec: Recorder,
) -> dict[str, Any]:
    held_steps = [s for s in steps if s["held"]]
    phones_held = held_steps[-1]["phones"] if held_steps else 0
    at = held_steps[-1] if held_steps else (steps[0] if steps else None)
    mix_ms = at["steady"]["api_cpu_ms_per_request"] if at else None
    ratio = round(mix_ms / base["api_cpu_ms_per_request"], 2) if mix_ms else 0.0
    held = at["steady"] if at else {"reads": {}, "writes": {}, "requests_per_s": None}
    return {
        "description": DESCRIPTION,
        "judged": phones_held,
        "brief": {
            "phones_held": phones_held,
            "req/s": held["requests_per_s"],
            "reads p99 ms": held["reads"].get("p99_ms"),
            "writes p99 ms": held["writes"].get("p99_ms"),
            "other cores": held["cpu"]["other_cores"] if at else None,
        },
        "figures": {
            "phones_held": phones_held,
            "phone_syncs_per_s_held": round(phones_held / 15, 1),
            "steps": {
                str(s["phones"]): {
                    "held": s["held"],
                    "req_per_s": s["steady"]["requests_per_s"],
                    "reads_p50_p95_p99_ms": _pcts(s["steady"]["reads"]),
                    "writes_p50_p95_p99_ms": _pcts(s["steady"]["writes"]),
                    "sync_p50_p95_p99_ms": _pcts(s["steady"]["sync"]),
                    "join_reads_writes_p99_ms": (
                        s["join"]["reads"].get("p99_ms"),
                        s["join"]["writes"].get("p99_ms"),
                    ),
                    "errors": {**s["join"]["errors"], **s["steady"]["errors"]},
                    "api_cpu_ms_per_request": s["steady"]["api_cpu_ms_per_request"],
                    "cores_api_pg_client_other": (
                        s["steady"]["cpu"]["api_cores"],
                        s["steady"]["cpu"]["postgres_cores"],
                        s["steady"]["cpu"]["client_cores"],
                        s["steady"]["cpu"]["other_cores"],
                    ),
                    "gc_pauses": s["gc_steady"],
                }
                for s in steps
            },
            "rejected_mutations": rec.rejected_mutations,
        },
        "baseline": base,
        "ratio": ratio,
        "ratio_means": "API CPU per request of the mixed load at the largest step held "
        "(steady phase) / API CPU per GET /health (same processes, same run): what a real "
        "request costs in trivial requests",
        "steps_detail": steps,
        "setup": {
            "api_workers": WORKERS,
            "seeded": seeded.rows,
            "steps": STEPS,
            "join_s": JOIN,
            "steady_s": STEADY,
            "office_users": len(seeded.office),
            "integrators": len(seeded.keys),
            "postgres": pg,
        },
    }


def _pcts(summary: dict[str, float]) -> tuple[float | None, ...]:
    return tuple(summary.get(k) for k in ("p50_ms", "p95_ms", "p99_ms"))
