"""Sync pull: bytes and time of an idle pull and of an incremental pull after k changes,
through ``GET /api/v1/sync/pull`` on the real server, on two data sizes.

Data: two organisations in one database, built with COPY (not measured):

- ``large``: 5 engineers; the measured one holds 240 open work orders, each with its own
  customer, site and asset and with a visit (checked in and out), two labour entries and a
  note, plus 80 parts on their van: 240 x 8 + 80 = 2,000 rows in their scope; the
  organisation's catalogue has 50,000 parts; the other 4 engineers hold the same shape;
- ``small``: the same shape 10x smaller (24 work orders, 8 van parts: 200 rows; 5,000
  parts).

Every row has the feed rows the server writes when it is created (``sync_changes``), so
the feed has a history before the phone's cursor. The measured engineer's phone registers
and syncs from scratch (the snapshot, ``limit=500``), then:

- **idle**: IDLE pulls with nothing new: bytes (the response body, and body + status line +
  headers) and latency;
- **incremental**: for k in KS, k changes are made on the engineer's work orders by a
  dispatcher through the service layer (``server.field.service``: alternately a note and a
  labour entry, each in its own transaction, as the office would), then the phone pulls
  until ``has_more`` is false (``limit=200``, the client's default): total bytes, pages and
  wall time; every changed row must arrive, and nothing else. REPEAT times per k and size;
  the two sizes alternate run by run (and pull by pull when idle), and "large / small" is
  the median of the ratios of back-to-back runs, so the machine's drift cancels out.
- **baseline**: one asyncpg query reading the same k changed rows (``row_to_json`` of the
  notes and labour entries by id): its time and bytes are the floor a pull of those rows
  cannot beat. For the idle pull, the server's feed range query on its own.

The phone is the real HTTP client path: ``python -m server.cli api`` (one uvicorn worker)
over loopback, httpx, an engineer's bearer token. Pulls run one at a time.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

import server.models  # noqa: F401  (every table known to the ORM, the feed capture installed)
from benchmarks.common import (
    ApiServer,
    Goal,
    fresh_database,
    http_limits,
    latency_summary,
    plain_url,
    postgres_info,
    postgres_server,
    redis_server,
)
from benchmarks.sync_seed import (
    Engineer,
    FieldOrg,
    engineer_token,
    register_clients,
    seed_field_org,
)
from server.auth.actor import ROLE_SCOPES, Actor
from server.auth.models import Role
from server.db import make_engine, make_sessionmaker, session_scope
from server.field import service as field_service
from server.sync import cursor as cursors
from shared.ids import uuid7
from shared.sync import DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT

DESCRIPTION = "sync pull: idle and after k changes, 2,000-row scope + 50,000 parts vs. 10x smaller"
KS = tuple(int(k) for k in os.environ.get("BENCH_PULL_KS", "1,10,100,1000").split(","))
REPEAT = int(os.environ.get("BENCH_PULL_REPEAT", "5"))
IDLE = int(os.environ.get("BENCH_PULL_IDLE", "50"))
SIZES = {  # name -> (work orders per engineer, van parts, catalogue parts)
    "large": (240, 80, 50_000),
    "small": (24, 8, 5_000),
}
ENGINEERS = 5
GOAL_IDLE_BYTES = 1024
GOAL_GROWTH = 1.5  # large scope / small scope, time of a pull after the same k changes
GOAL = Goal(
    f"a pull after k changes proportional to k, not to the data: time on the large scope "
    f"<= {GOAL_GROWTH}x the small one's (idle and every k; the worst of them judged); in "
    f"every run, an idle response < {GOAL_IDLE_BYTES} bytes (status line + headers + body) "
    "and bytes per change within 25% for k >= 10 and the same on both sizes (+-25%)",
    at_most=GOAL_GROWTH,
)
PULL = "/api/v1/sync/pull"


# --------------------------------------------------------------------------- the phone


@dataclass
class Pull:
    pages: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)
    body_bytes: int = 0
    wire_bytes: int = 0  # status line + headers + body
    request_bytes: int = 0
    seconds: float = 0.0


def _wire(response: httpx.Response) -> tuple[int, int]:
    """(response bytes on the wire, request bytes on the wire), HTTP/1.1 framing."""
    head = len(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n") + 2
    head += sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
    request = response.request
    sent = len(f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n") + 2
    sent += sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
    return head + len(response.content), sent


@dataclass
class Phone:
    http: httpx.AsyncClient
    client_id: uuid.UUID
    token: str
    cursor: str | None = None

    async def pull(self, limit: int = DEFAULT_PULL_LIMIT) -> Pull:
        """Pages until has_more is false, applied (the cursor kept) as the phone does."""
        out = Pull()
        started = time.perf_counter()
        while True:
            params: dict[str, Any] = {"client_id": str(self.client_id), "limit": limit}
            if self.cursor:
                params["cursor"] = self.cursor
            response = await self.http.get(
                PULL, params=params, headers={"Authorization": f"Bearer {self.token}"}
            )
            if response.status_code != 200:
                raise RuntimeError(f"pull answered {response.status_code}: {response.text[:300]}")
            page = response.json()
            wire, sent = _wire(response)
            out.pages += 1
            out.body_bytes += len(response.content)
            out.wire_bytes += wire
            out.request_bytes += sent
            out.changes += page["changes"]
            self.cursor = page["cursor"]
            if not page["has_more"]:
                break
        out.seconds = time.perf_counter() - started
        return out


# --------------------------------------------------------------------------- the changes


def dispatcher(org: FieldOrg) -> Actor:
    tenant = org.tenant
    return Actor(
        org_id=tenant.org_id,
        role=Role.DISPATCHER,
        scopes=ROLE_SCOPES[Role.DISPATCHER],
        user_id=tenant.dispatcher_id,
        label=f"user:{tenant.dispatcher_email}",
    )


async def make_changes(
    maker: Any, org: FieldOrg, engineer: Engineer, k: int, serial: int
) -> dict[str, list[uuid.UUID]]:
    """k new rows in the engineer's scope, each in its own transaction: even ones notes,
    odd ones labour entries, on the engineer's work orders in turn."""
    actor = dispatcher(org)
    made: dict[str, list[uuid.UUID]] = {"note": [], "labour_entry": []}
    now = dt.datetime.now(dt.UTC)
    for i in range(k):
        wo = engineer.work_orders[(serial + i) % len(engineer.work_orders)]
        row_id = uuid7()
        async with session_scope(maker) as session:
            if i % 2 == 0:
                await field_service.add_note(
                    session,
                    actor,
                    ticket_id=wo.id,
                    note_id=row_id,
                    text=f"Customer called: the unit tripped again overnight ({serial + i}).",
                )
                made["note"].append(row_id)
            else:
                start = now - dt.timedelta(hours=3, minutes=i % 120)
                await field_service.add_labour(
                    session,
                    actor,
                    ticket_id=wo.id,
                    entry_id=row_id,
                    kind="work",
                    started_at=start,
                    ended_at=start + dt.timedelta(minutes=40),
                    note="Follow-up recorded by the office",
                )
                made["labour_entry"].append(row_id)
    return made


BASELINE_ROWS = (
    "SELECT 'note' AS entity, row_to_json(n)::text AS data FROM ticket_notes n "
    "WHERE n.id = ANY($1::uuid[]) "
    "UNION ALL "
    "SELECT 'labour_entry', row_to_json(l)::text FROM labour_entries l "
    "WHERE l.id = ANY($2::uuid[])"
)
# The feed range the server reads on every pull (server/sync/pull.py _FEED), for one
# installation: its engineer's scope, its acknowledgements and the catalogue.
BASELINE_FEED = (
    " UNION ALL ".join(
        f"(SELECT id, txid, entity, entity_id, op FROM sync_changes WHERE org_id = $1 "
        f"AND scope = ${n + 2} AND (txid, id) > ($5, $6) AND txid < $7 ORDER BY txid, id LIMIT $8)"
        for n in range(3)
    )
    + " ORDER BY txid, id LIMIT $8"
)


# --------------------------------------------------------------------------- one size


@dataclass
class Size:
    name: str
    org: FieldOrg
    phone: Phone
    seeded: dict[str, Any]
    snapshot: dict[str, Any] = field(default_factory=dict)
    idle: dict[str, Any] = field(default_factory=dict)
    by_k: dict[int, dict[str, Any]] = field(default_factory=dict)
    idle_pulls: list[Pull] = field(default_factory=list)
    runs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    serial: int = 0

    @property
    def engineer(self) -> Engineer:
        return self.org.engineers[0]

    @property
    def scope_rows(self) -> int:
        work_orders, van, _ = SIZES[self.name]
        return work_orders * 8 + van


async def seed(conn: asyncpg.Connection, name: str) -> tuple[FieldOrg, dict[str, Any]]:
    work_orders, van, parts = SIZES[name]
    started = time.perf_counter()
    org = await seed_field_org(
        conn,
        slug=f"bench-pull-{name}",
        engineers=ENGINEERS,
        work_orders=work_orders,
        status="on_site",
        records=True,
        parts=parts,
        van_parts=van,
        feed=True,
    )
    return org, {**org.rows, "seed_seconds": round(time.perf_counter() - started, 1)}


async def idle_once(size: Size) -> None:
    pulled = await size.phone.pull()
    if pulled.changes:
        raise RuntimeError(f"{size.name}: an idle pull brought changes")
    size.idle_pulls.append(pulled)


async def finish_idle(size: Size, conn: asyncpg.Connection, secret: str) -> None:
    state = cursors.decode(size.phone.cursor or "", secret=secret, client_id=size.phone.client_id)
    assert isinstance(state, cursors.Feed)
    scopes = (
        f"engineer:{size.engineer.id}",
        f"client:{size.phone.client_id}",
        "catalogue",
    )
    raw: list[float] = []
    for _ in range(IDLE):
        started = time.perf_counter()
        rows = await conn.fetch(
            BASELINE_FEED,
            size.org.tenant.org_id,
            *scopes,
            state.t,
            state.i,
            2**62,
            DEFAULT_PULL_LIMIT + 1,
        )
        raw.append(time.perf_counter() - started)
        if rows:
            raise RuntimeError(f"{size.name}: the feed is not empty after the cursor")
    pulls = size.idle_pulls
    size.idle = {
        "response_body_bytes": max(p.body_bytes for p in pulls),
        "response_wire_bytes": max(p.wire_bytes for p in pulls),
        "request_wire_bytes": max(p.request_bytes for p in pulls),
        "latency": latency_summary(p.seconds for p in pulls),
        "baseline_feed_query": latency_summary(raw),
    }


async def k_once(size: Size, k: int, maker: Any, conn: asyncpg.Connection) -> None:
    """k changes, then the phone's pull, then the baseline reading the same rows."""
    made = await make_changes(maker, size.org, size.engineer, k, size.serial)
    size.serial += k
    pulled = await size.phone.pull()
    got = {(c["entity"], c["id"]) for c in pulled.changes}
    want = {(entity, str(i)) for entity, ids in made.items() for i in ids}
    if got != want or len(pulled.changes) != k:
        raise RuntimeError(
            f"{size.name} k={k}: pulled {len(pulled.changes)} changes, "
            f"{len(want - got)} missing, {len(got - want)} unexpected"
        )
    started = time.perf_counter()
    rows = await conn.fetch(BASELINE_ROWS, made["note"], made["labour_entry"])
    raw_seconds = time.perf_counter() - started
    size.runs.setdefault(k, []).append(
        {
            "ms": pulled.seconds * 1000,
            "pages": pulled.pages,
            "body_bytes": pulled.body_bytes,
            "wire_bytes": pulled.wire_bytes,
            "raw_ms": raw_seconds * 1000,
            "raw_bytes": sum(len(r["data"]) for r in rows),
        }
    )


def summarise_k(size: Size, k: int) -> None:
    runs = size.runs[k]
    ms = statistics.median(r["ms"] for r in runs)
    body = statistics.median(r["body_bytes"] for r in runs)
    raw_ms = statistics.median(r["raw_ms"] for r in runs)
    size.by_k[k] = {
        "pull_ms_median": round(ms, 2),
        "pull_ms_min": round(min(r["ms"] for r in runs), 2),
        "pull_ms_runs": [round(r["ms"], 2) for r in runs],
        "ms_per_change": round(ms / k, 3),
        "pages": runs[0]["pages"],
        "body_bytes_median": int(body),
        "wire_bytes_median": int(statistics.median(r["wire_bytes"] for r in runs)),
        "bytes_per_change": round(body / k, 1),
        "baseline_ms_median": round(raw_ms, 2),
        "baseline_bytes": int(statistics.median(r["raw_bytes"] for r in runs)),
        "pull_ms_over_baseline": round(ms / raw_ms, 1) if raw_ms else None,
    }


def paired(large: list[float], small: list[float]) -> float:
    """Median of the ratios of runs made one after the other (drift cancels out)."""
    return round(statistics.median(a / b for a, b in zip(large, small, strict=True)), 2)


# --------------------------------------------------------------------------- the run


async def run() -> dict[str, Any]:
    async with postgres_server() as pg_server, redis_server() as redis_url:
        db_url = await fresh_database(pg_server.url, "fixflow_bench_sync_pull")
        url = plain_url(db_url)
        conn = await asyncpg.connect(url)
        engine = make_engine(db_url, pool_size=2)
        maker = make_sessionmaker(engine)
        try:
            seeded = {name: await seed(conn, name) for name in SIZES}
            await conn.execute("VACUUM ANALYZE")
            pg = await postgres_info(conn)
            async with (
                ApiServer(database_url=db_url, redis_url=redis_url) as api,
                httpx.AsyncClient(base_url=api.base_url, limits=http_limits(), timeout=300) as http,
            ):
                sizes = []
                for name, (org, rows) in seeded.items():
                    [client_id] = await register_clients(conn, org, org.engineers[:1], "bench")
                    token = engineer_token(api.secret_key, org.tenant, org.engineers[0])
                    sizes.append(Size(name, org, Phone(http, client_id, token), rows))
                for size in sizes:
                    first = await size.phone.pull(limit=MAX_PULL_LIMIT)
                    size.snapshot = {
                        "rows": len(first.changes),
                        "pages": first.pages,
                        "body_bytes": first.body_bytes,
                        "seconds": round(first.seconds, 2),
                    }
                    await size.phone.pull()  # settle the cursor at the watermark
                # The two sizes alternate pull by pull, so the machine's drift hits both.
                for _ in range(IDLE):
                    for size in sizes:
                        await idle_once(size)
                for size in sizes:
                    await finish_idle(size, conn, api.secret_key)
                    await make_changes(maker, size.org, size.engineer, 10, 0)  # warm-up
                    await size.phone.pull()
                    size.serial = 10
                for k in KS:
                    for _ in range(REPEAT):
                        for size in sizes:
                            await k_once(size, k, maker, conn)
                    for size in sizes:
                        summarise_k(size, k)
        finally:
            await engine.dispose()
            await conn.close()
    return report(sizes, pg)


def report(sizes: list[Size], pg: dict[str, Any]) -> dict[str, Any]:
    large, small = sizes
    growth = {
        "idle": paired(
            [p.seconds for p in large.idle_pulls], [p.seconds for p in small.idle_pulls]
        ),
        **{
            f"k={k}": paired([r["ms"] for r in large.runs[k]], [r["ms"] for r in small.runs[k]])
            for k in KS
        },
    }
    bytes_growth = {
        k: round(large.by_k[k]["body_bytes_median"] / small.by_k[k]["body_bytes_median"], 2)
        for k in KS
    }
    idle_ok = all(s.idle["response_wire_bytes"] < GOAL_IDLE_BYTES for s in sizes)
    data_ok = all(g <= GOAL_GROWTH for g in growth.values())
    per_change = [large.by_k[k]["bytes_per_change"] for k in KS if k >= 10]
    bytes_ok = max(per_change) <= 1.25 * min(per_change) and all(
        0.8 <= g <= 1.25 for g in bytes_growth.values()
    )
    mean_growth = sum(growth.values()) / len(growth)
    return {
        "description": DESCRIPTION,
        "figures": {
            s.name: {
                "idle": s.idle,
                "incremental": {f"k={k}": s.by_k[k] for k in KS},
            }
            for s in sizes
        },
        "baseline": {
            "what": "idle: the server's feed range query alone; incremental: one asyncpg query "
            "reading the k changed rows as JSON (row_to_json), see *baseline_* per k",
        },
        "ratios": {
            "pull_ms_large_over_small": growth,
            "bytes_large_over_small": {f"k={k}": g for k, g in bytes_growth.items()},
        },
        "ratio": round(mean_growth, 3),
        "ratio_means": "pull time on the 2,000-row scope / on the 200-row scope (idle, and after "
        "the same k changes; median of the ratios of back-to-back runs), mean over idle and "
        "every k (1 = does not grow with the data)",
        "judged": max(growth.values()),
        # Bytes do not drift with the machine's load: every run must meet these.
        "checks_met": idle_ok and bytes_ok,
        "checks": {"idle_under_1kb": idle_ok, "time_not_data": data_ok, "bytes_prop_k": bytes_ok},
        "brief": {
            "worst large/small": max(growth.values()),
            "idle bytes": large.idle["response_wire_bytes"],
        },
        "setup": {
            "sizes": {
                s.name: {
                    "scope_rows": s.scope_rows,
                    "catalogue_parts": SIZES[s.name][2],
                    "engineers_in_org": ENGINEERS,
                    "snapshot": s.snapshot,
                    "seeded": s.seeded,
                }
                for s in sizes
            },
            "changes": "a dispatcher through server.field.service: note / labour entry "
            "alternately, one transaction each, on the measured engineer's work orders",
            "pull_limit": DEFAULT_PULL_LIMIT,
            "repeat_per_k": REPEAT,
            "idle_pulls": IDLE,
            "api": "python -m server.cli api, 1 uvicorn worker, loopback HTTP (httpx)",
            "postgres": pg,
        },
    }
