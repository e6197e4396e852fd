"""Outbox to delivered (issue 13): SLA-breach events through the real worker (``python -m
server.cli worker``, arq on an embedded Redis) to a local SMTP peer and a local webhook
receiver, against the same messages sent straight to the same peers by a minimal asyncio
sender in the same run.

Every event makes exactly one e-mail (the notifications domain: the dispatcher is the
organisation's one manager) and one webhook delivery (the webhooks domain: one endpoint,
subscribed to ``ticket.sla_breached``, on the receiver at 127.0.0.1; the worker runs with
``FIXFLOW_WEBHOOKS_ALLOW_PRIVATE=true`` and ``FIXFLOW_ENV=development``, as production refuses
that setting). The worker runs its jobs as it always does: ``events.deliver_outbox`` (both
domains' outbox handlers write their delivery rows) nudges ``notify.send_pending`` (SMTP, 16 at
a time, a session per message) and ``webhooks.send`` (20 at a time, a checked and pinned
connection per attempt), their crons catching any nudge lost.

Throughput: ``EVENTS`` events are committed to the outbox in one transaction, one nudge is
enqueued (as the API's after-commit hook does), and the clock runs until every e-mail reached
the aiosmtpd peer and every webhook the receiver (each counted once, by Message-ID and by
webhook-id). Baseline: the very bytes the peers received (each e-mail as sent, each webhook's
body with its signature headers) sent again straight to them by ``notify_peers.send_directly``
with the same concurrency (16 persistent SMTP sessions, 20 keep-alive HTTP connections), the
two channels at once like the worker's two senders. ``ratio`` = pipeline seconds per event /
baseline seconds per event.

Lag: a steady ``STEADY_RATE`` events per second for ``STEADY_SECONDS``, each committed on its
own and nudged through the API's own ``JobSender`` (it coalesces nudges for 200 ms on the
trailing edge), from the commit to the message received, per channel.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from benchmarks.common import (
    CpuMeter,
    Goal,
    free_port,
    fresh_database,
    latency_summary,
    plain_url,
    postgres_server,
    redis_server,
    seed_tenant,
)
from benchmarks.notify_peers import HttpSink, SmtpSink, send_directly
from server.config import ROOT
from server.events.service import DELIVERY_JOB_ID
from server.queue import JobSender
from server.webhooks import signing

DESCRIPTION = (
    "outbox -> worker (arq) -> SMTP peer + webhook receiver, vs a minimal asyncio sender of "
    "the same messages"
)
EVENTS = 300
WARMUP_EVENTS = 20
STEADY_RATE = 50  # events per second
STEADY_SECONDS = 15
DELIVERY_TIMEOUT = 120.0  # seconds for a phase's last message to arrive
SMTP_CONCURRENCY = 16  # server.notify.sending.SEND_CONCURRENCY
HTTP_CONCURRENCY = 20  # server.webhooks.delivery.claim's limit, all POSTed at once
DELIVER_JOB = "events.deliver_outbox"
# Chosen before the first measurement of both channels, not after: see docs/benchmarks.md.
GOAL = Goal(
    "pipeline seconds per event (one e-mail and one webhook) <= 5 x a minimal asyncio "
    "sender's on persistent connections, same messages, same peers",
    at_most=5,
)


class Worker:
    """``python -m server.cli worker`` in a subprocess, its log in a file."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="fixflow-bench-worker-", suffix=".log")[1])

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "worker"],
                env=self.env,
                stdout=log,
                stderr=log,
                cwd=ROOT,
            )

    def alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the worker exited ({self.proc.returncode}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_path.unlink(missing_ok=True)


def worker_environment(
    *, database_url: str, redis_url: str, smtp_port: int, http_port: int
) -> dict[str, str]:
    """The worker's environment: this one's, with our database, Redis and peers; webhooks
    may reach loopback (development only: production refuses ALLOW_PRIVATE)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL")
    }
    env.update(
        FIXFLOW_ENV="development",
        FIXFLOW_DATABASE_URL=database_url,
        FIXFLOW_REDIS_URL=redis_url,
        FIXFLOW_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        FIXFLOW_NOTIFY_PER_HOUR=str(10**9),  # one dispatcher gets every message
        FIXFLOW_WEBHOOKS_ALLOW_PRIVATE="true",
        FIXFLOW_WEBHOOKS_ALLOWED_PORTS=json.dumps([http_port]),
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Bench:
    conn: asyncpg.Connection
    org_id: uuid.UUID
    pool: ArqRedis
    smtp: SmtpSink
    http: HttpSink
    worker: Worker
    pg_pid: int | None
    runs: int = 0

    def cpu(self) -> CpuMeter:
        """Where the CPU goes: the worker (reported as ``api_cores``), PostgreSQL, this
        process (the peers, the emitter, the baseline sender) and the rest of the machine."""
        assert self.worker.proc is not None
        return CpuMeter(api_pid=self.worker.proc.pid, pg_pid=self.pg_pid)


async def _emit(conn: asyncpg.Connection, org_id: uuid.UUID, labels: list[str]) -> None:
    """Outbox rows as the SLA sweep writes them, in one transaction."""
    await conn.executemany(
        "INSERT INTO outbox_events (id, org_id, topic, aggregate_id, payload, attempts) "
        "VALUES ($1, $2, 'ticket.sla_breached', $3, $4::jsonb, 0)",
        [
            (
                uuid.uuid4(),
                org_id,
                uuid.uuid4(),
                json.dumps({"number": label, "changes": {"sla_state": ["at_risk", "breached"]}}),
            )
            for label in labels
        ],
    )


async def _register_endpoint(conn: asyncpg.Connection, org_id: uuid.UUID, url: str) -> None:
    await conn.execute(
        "INSERT INTO webhook_endpoints (id, org_id, url, description, event_types, secret, "
        "version) VALUES ($1, $2, $3, 'benchmark receiver', $4, $5, 1)",
        uuid.uuid4(),
        org_id,
        url,
        ["ticket.sla_breached"],
        signing.new_secret(),
    )


async def _delivered(bench: Bench, labels: list[str]) -> float:
    """Wait until every event of ``labels`` reached both peers; returns when it did."""
    wanted, deadline = set(labels), time.monotonic() + DELIVERY_TIMEOUT
    smtp, http = bench.smtp.arrivals, bench.http.arrivals
    while time.monotonic() < deadline:
        now = time.perf_counter()
        if len(smtp.first) >= len(wanted) and len(http.first) >= len(wanted):
            if wanted <= smtp.first.keys() and wanted <= http.first.keys():
                return now
        bench.worker.alive()
        await asyncio.sleep(0.002)
    missing = (len(wanted - smtp.first.keys()), len(wanted - http.first.keys()))
    raise RuntimeError(
        f"not delivered within {DELIVERY_TIMEOUT} s: {missing[0]} e-mails and {missing[1]} "
        f"webhooks missing\n{bench.worker.log_tail()}"
    )


def _clear(bench: Bench) -> None:
    bench.smtp.arrivals.clear()
    bench.http.arrivals.clear()


def _audit(bench: Bench, labels: list[str]) -> dict[str, dict[str, int]]:
    return {
        "email": bench.smtp.arrivals.audit(labels),
        "webhook": bench.http.arrivals.audit(labels),
    }


def _clean(audit: dict[str, dict[str, int]]) -> bool:
    """Every event arrived on both channels, once (no message twice, no second message)."""
    return all(
        a["delivered"] == a["events"]
        and a["same_message_again"] == 0
        and a["events_with_two_messages"] == 0
        for a in audit.values()
    )


async def _warm_up(bench: Bench) -> None:
    """A few events through everything: the worker is up, the peers answer, the code is
    loaded and the pools are open before anything is timed."""
    labels = [f"W-{i}" for i in range(WARMUP_EVENTS)]
    await _emit(bench.conn, bench.org_id, labels)
    await bench.pool.enqueue_job(DELIVER_JOB, _job_id=DELIVERY_JOB_ID)
    await _delivered(bench, labels)
    _clear(bench)


async def _throughput(
    bench: Bench, prefix: str
) -> tuple[float, dict[str, dict[str, int]], dict[str, Any]]:
    """Seconds from the events committed to the last message received; the audit, the
    CPU and when the messages arrived (per second since the start, per channel)."""
    _clear(bench)
    labels = [f"{prefix}{i}" for i in range(EVENTS)]
    await _emit(bench.conn, bench.org_id, labels)
    with bench.cpu() as meter:
        started = time.perf_counter()
        await bench.pool.enqueue_job(DELIVER_JOB, _job_id=DELIVERY_JOB_ID)
        finished = await _delivered(bench, labels)
    await asyncio.sleep(0.5)  # a duplicate, if any, has time to show
    timeline = {
        "email": _per_second(bench.smtp.arrivals.times, started),
        "webhook": _per_second(bench.http.arrivals.times, started),
    }
    return finished - started, _audit(bench, labels), {"cpu": meter.result, **timeline}


def _per_second(times: list[float], started: float) -> list[int]:
    """Arrivals in each second since ``started``."""
    counts: list[int] = []
    for t in times:
        second = max(0, int(t - started))
        counts += [0] * (second + 1 - len(counts))
        counts[second] += 1
    return counts


async def _baseline(bench: Bench) -> tuple[float, dict[str, int]]:
    """The messages the peers just received, sent again straight to them."""
    mails = list(bench.smtp.arrivals.messages)
    posts = list(bench.http.arrivals.messages)
    _clear(bench)
    seconds = await send_directly(
        mails,
        posts,
        smtp_port=bench.smtp.port,
        http_url=bench.http.url,
        smtp_concurrency=SMTP_CONCURRENCY,
        http_concurrency=HTTP_CONCURRENCY,
    )
    received = {"email": len(bench.smtp.arrivals.keys), "webhook": len(bench.http.arrivals.keys)}
    _clear(bench)
    return seconds, received | {"sent": len(mails) + len(posts)}


async def _steady(bench: Bench, prefix: str) -> dict[str, Any]:
    """STEADY_RATE events a second, each committed alone and nudged as the API nudges."""
    _clear(bench)
    labels = [f"{prefix}{i}" for i in range(STEADY_RATE * STEADY_SECONDS)]
    written: dict[str, float] = {}
    with bench.cpu() as meter:
        rate, late = await _emit_steadily(bench, labels, written)
        await _delivered(bench, labels)
    await asyncio.sleep(0.5)
    smtp, http = bench.smtp.arrivals.first, bench.http.arrivals.first
    return {
        "events": len(labels),
        "achieved_rate_per_s": round(rate, 1),
        "emitter_late_max_ms": round(late * 1000, 1),
        "email": latency_summary(smtp[x] - t for x, t in written.items()),
        "webhook": latency_summary(http[x] - t for x, t in written.items()),
        "both": latency_summary(max(smtp[x], http[x]) - t for x, t in written.items()),
        "cpu": meter.result,
        "audit": _audit(bench, labels),
    }


async def _emit_steadily(
    bench: Bench, labels: list[str], written: dict[str, float]
) -> tuple[float, float]:
    """One event every 1/STEADY_RATE s, committed alone, then nudged through the API's
    JobSender; returns the rate achieved and the most the emitter ran late."""
    sender = JobSender(bench.pool)
    start = time.perf_counter()
    late = 0.0
    for i, label in enumerate(labels):
        due = start + i / STEADY_RATE
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        late = max(late, time.perf_counter() - due)
        await _emit(bench.conn, bench.org_id, [label])
        written[label] = time.perf_counter()
        await sender.send([(DELIVER_JOB, {"_job_id": DELIVERY_JOB_ID})])
    return len(labels) / (time.perf_counter() - start), late


async def _rows_per_event(conn: asyncpg.Connection) -> dict[str, int]:
    """Delivery rows per outbox event, from the database (both should be exactly one)."""
    return {
        "events": await conn.fetchval("SELECT count(*) FROM outbox_events"),
        "notifications": await conn.fetchval("SELECT count(*) FROM notifications"),
        "notifications_duplicated": await conn.fetchval(
            "SELECT count(*) - count(DISTINCT event_id) FROM notifications"
        ),
        "webhook_deliveries": await conn.fetchval("SELECT count(*) FROM webhook_deliveries"),
        "webhook_attempts": await conn.fetchval("SELECT count(*) FROM webhook_attempts"),
        "undelivered_events": await conn.fetchval(
            "SELECT count(*) FROM outbox_events WHERE delivered_at IS NULL"
        ),
    }


@asynccontextmanager
async def setup() -> AsyncIterator[Bench]:
    """PostgreSQL, Redis, the peers, a tenant with its webhook endpoint, and the worker,
    warmed up; made once for the runs."""
    async with AsyncExitStack() as stack:
        pg = await stack.enter_async_context(postgres_server())
        redis_url = await stack.enter_async_context(redis_server())
        db_url = await fresh_database(pg.url, "fixflow_bench_notify")
        smtp = stack.enter_context(SmtpSink(free_port(), r"SLA breached: (\S+)"))
        http = await stack.enter_async_context(HttpSink(free_port()))
        conn = await asyncpg.connect(plain_url(db_url))
        stack.push_async_callback(conn.close)
        tenant = await seed_tenant(conn, slug="notify", customers=1, engineers=1)
        await _register_endpoint(conn, tenant.org_id, http.url)
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        stack.push_async_callback(pool.aclose)
        env = worker_environment(
            database_url=db_url, redis_url=redis_url, smtp_port=smtp.port, http_port=http.port
        )
        worker = Worker(env)
        worker.start()
        stack.callback(worker.stop)
        bench = Bench(conn, tenant.org_id, pool, smtp, http, worker, pg.pid)
        await _warm_up(bench)
        yield bench


async def run(bench: Bench) -> dict[str, Any]:
    bench.runs += 1
    pipeline, audit, details = await _throughput(bench, f"R{bench.runs}T-")
    baseline, baseline_received = await _baseline(bench)
    steady = await _steady(bench, f"R{bench.runs}S-")
    rows = await _rows_per_event(bench.conn)
    checks = (
        _clean(audit)
        and _clean(steady["audit"])
        and rows["notifications"] == rows["events"]
        and rows["webhook_deliveries"] == rows["events"]
        and rows["notifications_duplicated"] == 0
        and baseline_received["email"] + baseline_received["webhook"] == baseline_received["sent"]
    )
    ratio = round((pipeline / EVENTS) / (baseline / EVENTS), 2)
    return {
        "description": DESCRIPTION,
        "ratio": ratio,
        "ratio_means": "pipeline seconds per event / direct sender seconds per event",
        "judged": ratio,
        "checks_met": checks,
        "brief": {
            "pipeline events/s": round(EVENTS / pipeline, 1),
            "baseline events/s": round(EVENTS / baseline, 1),
            "lag p99 e-mail ms": steady["email"]["p99_ms"],
            "lag p99 webhook ms": steady["webhook"]["p99_ms"],
        },
        "summary_keys": ["brief", "figures", "lag"],
        "figures": {
            "events": EVENTS,
            "pipeline_s": round(pipeline, 3),
            "pipeline_events_per_s": round(EVENTS / pipeline, 1),
            "baseline_s": round(baseline, 3),
            "baseline_events_per_s": round(EVENTS / baseline, 1),
        },
        "audit": audit,
        "pipeline_cpu": details["cpu"],
        "arrivals_per_second": {"email": details["email"], "webhook": details["webhook"]},
        "baseline": baseline_received,
        "lag": steady,
        "rows": rows,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(),
    }
