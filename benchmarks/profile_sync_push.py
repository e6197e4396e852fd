"""Where a sync push spends its time: ``python -m benchmarks.profile_sync_push``.

Not a benchmark (not ``bench_*``): a diagnostic for docs/benchmarks.md (sync_push). It runs
the real app in this process (``httpx.ASGITransport``, no uvicorn) with the same seed and
the same phone queue as ``bench_sync_push`` and reports:

1. per mutation name: CPU milliseconds in ``server.sync.push._apply`` (one phone, pushes one
   after the other, so the process's CPU time between two awaits is that mutation's), SQL
   statements sent through SQLAlchemy, hand-written statements sent straight through
   asyncpg (server/db.py ``driver``) and asyncpg statement preparations (each one more
   round trip);
2. a cProfile of PROFILE_PHONES phones pushing at once, with the CPU-time timer, its own
   time summed by package.
"""

from __future__ import annotations

import asyncio
import collections
import cProfile
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from benchmarks import bench_sync_push as bench
from benchmarks.common import fresh_database, plain_url, postgres_server, redis_server
from benchmarks.sync_seed import engineer_token, register_clients, seed_field_org
from server.config import Settings
from server.main import create_app
from server.sync import push as push_module

BATCHES = 5  # per phone, the first one a warm-up
PROFILE_PHONES = 4
SECRET = "profile-" + "k" * 40

CPU: dict[str, float] = collections.defaultdict(float)
COUNT: collections.Counter[str] = collections.Counter()
STATEMENTS: collections.Counter[str] = collections.Counter()
PREPARES: collections.Counter[str] = collections.Counter()
RAW: collections.Counter[str] = collections.Counter()
CURRENT: list[str | None] = [None]


def _instrument() -> None:
    apply: Callable[..., Awaitable[Any]] = push_module._apply
    prepare = asyncpg.connection.Connection.prepare

    async def timed_apply(*args: Any) -> Any:
        name = args[3].mutation.name
        CURRENT[0] = name
        started = time.process_time()
        try:
            return await apply(*args)
        finally:
            CPU[name] += time.process_time() - started
            COUNT[name] += 1
            CURRENT[0] = None

    async def counted_prepare(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if CURRENT[0]:
            PREPARES[CURRENT[0]] += 1
        return await prepare(self, query, *args, **kwargs)

    def counted(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            if CURRENT[0]:
                RAW[CURRENT[0]] += 1
            return await method(self, *args, **kwargs)

        return call

    push_module._apply = timed_apply  # type: ignore[assignment]
    asyncpg.connection.Connection.prepare = counted_prepare
    for name in ("fetchrow", "execute"):
        setattr(
            asyncpg.connection.Connection,
            name,
            counted(getattr(asyncpg.connection.Connection, name)),
        )


def _package(path: str, name: str) -> str:
    if "httpx" in path or "/benchmarks/" in path or "h11" in path:
        return "client (httpx, this script)"
    if "sqlalchemy/orm" in path:
        return "SQLAlchemy ORM"
    if "sqlalchemy" in path or "greenlet" in name:
        return "SQLAlchemy Core, engine, dialect"
    if "asyncpg" in path:
        return "asyncpg"
    if "fastapi" in path or "starlette" in path or "server/middleware" in path:
        return "FastAPI/Starlette/middleware"
    if "asyncio" in path or "selectors" in path or "socket" in name or "epoll" in name:
        return "asyncio loop, sockets"
    if "/server/" in path or "/shared/" in path:
        return "Fixflow (server/, shared/)"
    return "other (stdlib, builtins)"


async def main() -> None:
    _instrument()
    phones_needed = 1 + PROFILE_PHONES
    async with postgres_server() as pg, redis_server() as redis_url:
        db_url = await fresh_database(pg.url, "fixflow_bench_sync_profile")
        conn = await asyncpg.connect(plain_url(db_url))
        org = await seed_field_org(
            conn,
            slug="bench-sync-profile",
            engineers=phones_needed,
            work_orders=-(-BATCHES * bench.BATCH // bench.PER_VISIT),
        )
        ids = await register_clients(conn, org, org.engineers, "profile")
        phones = [
            bench.make_phone(org, e, c, BATCHES) for e, c in zip(org.engineers, ids, strict=True)
        ]
        settings = Settings(
            DATABASE_URL=db_url, REDIS_URL=redis_url, SECRET_KEY=SECRET, LOG_LEVEL="WARNING"
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://app", timeout=300
            ) as http,
        ):
            for phone in phones:
                phone.token = engineer_token(SECRET, org.tenant, phone.engineer)

            def count(*_: Any) -> None:
                if CURRENT[0]:
                    STATEMENTS[CURRENT[0]] += 1

            event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
            push = bench.api_push(http)
            one, crowd = phones[0], phones[1:]
            await push(one)
            for counter in (CPU, COUNT, STATEMENTS, PREPARES, RAW):
                counter.clear()
            for _ in range(BATCHES - 1):
                await push(one)
            single = (dict(CPU), COUNT.copy(), STATEMENTS.copy(), PREPARES.copy(), RAW.copy())
            await asyncio.gather(*(push(p) for p in crowd))  # warm-up
            profile = cProfile.Profile(time.process_time)
            started = time.process_time()
            profile.enable()
            for _ in range(BATCHES - 1):
                await asyncio.gather(*(push(p) for p in crowd))
            profile.disable()
            cpu = time.process_time() - started
        await conn.close()
    spent, counts, statements, prepares, raw = single
    n = sum(counts.values())
    print(
        f"one phone, {n} mutations: CPU ms, statements through SQLAlchemy and straight "
        "through asyncpg, asyncpg prepares per mutation"
    )
    print(
        f"  {'mutation':18s} {'count':>5s} {'cpu_ms':>7s} {'stmts':>6s} {'raw':>5s} "
        f"{'prepares':>8s}"
    )
    for name in [*counts, None]:
        c = counts[name] if name else n
        cpu_ms = (spent[name] if name else sum(spent.values())) / c * 1000
        stmts = (statements[name] if name else sum(statements.values())) / c
        prep = (prepares[name] if name else sum(prepares.values())) / c
        direct = (raw[name] if name else sum(raw.values())) / c
        print(f"  {name or 'all':18s} {c:5d} {cpu_ms:7.2f} {stmts:6.1f} {direct:5.1f} {prep:8.1f}")
    mutations = PROFILE_PHONES * (BATCHES - 1) * bench.BATCH
    print(
        f"\n{PROFILE_PHONES} phones at once, {mutations} mutations under cProfile: "
        f"{cpu / mutations * 1000:.2f} ms CPU per mutation (profiler overhead included)"
    )
    print_by_package(pstats.Stats(profile))


def print_by_package(stats: pstats.Stats) -> None:
    """The profile's own CPU time grouped by _package, largest share first."""
    groups: collections.Counter[str] = collections.Counter()
    for (path, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        groups[_package(path, name)] += row[2]
    total = sum(groups.values())
    for name, seconds in groups.most_common():
        print(f"  {seconds / total * 100:5.1f}%  {name}")


if __name__ == "__main__":
    asyncio.run(main())
