"""Where a work-order creation spends its time: ``python -m benchmarks.profile_ticket_create``.

Not a benchmark (not ``bench_*``): a diagnostic for docs/benchmarks.md (ticket_create). It
runs the real app in this process (``httpx.ASGITransport``, no uvicorn) with the same seed
and the same request bodies as ``bench_ticket_create`` and reports:

1. per creation, one request at a time (so the process's CPU time between the request's
   start and its end is that request's): CPU milliseconds in the whole app (middleware,
   dependencies, the route, the commit, the response), in ``server.tickets.service.create``
   and in the route's response building; statements sent through SQLAlchemy, statements
   sent straight through asyncpg (BEGIN and COMMIT included, and server/db.py ``driver``'s
   hand-written ones), asyncpg statement preparations, and the round trips these add up to;
2. a cProfile of CONCURRENCY creations at a time (as the benchmark sends them), with the
   CPU-time timer, its own time summed by package, and the Fixflow functions with the
   largest cumulative time, and the functions with the largest own time.
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

from benchmarks import bench_ticket_create as bench
from benchmarks.common import (
    fresh_database,
    mint_token,
    plain_url,
    postgres_server,
    redis_server,
    seed_tenant,
)
from benchmarks.profile_sync_push import print_by_package
from server.config import Settings
from server.main import create_app
from server.tickets import router as tickets_router
from server.tickets import service as tickets_service

WARMUP = 100
SINGLE = 400
PROFILED = 1600
CONCURRENCY = bench.CONCURRENCY
SECRET = "profile-" + "k" * 40

CPU: collections.defaultdict[str, float] = collections.defaultdict(float)  # seconds per part
COUNTS: collections.Counter[str] = collections.Counter()  # statements per kind
ACTIVE = [False]


def _timed(name: str, call: Callable[..., Any], *, awaited: bool = True) -> Callable[..., Any]:
    """``call`` with its CPU time added to CPU[name] (one request at a time only)."""
    if awaited:

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await call(*args, **kwargs)
            finally:
                CPU[name] += time.process_time() - started

        return timed_async

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            CPU[name] += time.process_time() - started

    return timed


def _counted(kind: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if ACTIVE[0]:
            COUNTS[kind] += 1
        return await method(self, *args, **kwargs)

    return call


def _instrument() -> None:
    tickets_service.create = _timed("service.create", tickets_service.create)
    tickets_router.to_read = _timed("to_read", tickets_router.to_read, awaited=False)
    connection = asyncpg.connection.Connection
    connection.prepare = _counted("prepares", connection.prepare)
    for name in ("execute", "fetch", "fetchrow", "fetchval"):
        setattr(connection, name, _counted("asyncpg", getattr(connection, name)))


class TimedApp:
    """The ASGI app with the CPU time of each call added to CPU["app"]."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.process_time()
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                CPU["app"] += time.process_time() - started


async def _drive(create: bench.Op, count: int, offset: int, concurrency: int) -> None:
    todo = iter(range(offset, offset + count))

    async def worker() -> None:
        for i in todo:
            await create(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _report_single(count: int) -> None:
    statements, direct, prepares = COUNTS["sqlalchemy"], COUNTS["asyncpg"], COUNTS["prepares"]
    lines = [
        ("CPU ms, whole app (middleware, auth, route, commit)", CPU["app"] * 1000),
        ("CPU ms, tickets.service.create", CPU["service.create"] * 1000),
        ("CPU ms, router.to_read (the response model)", CPU["to_read"] * 1000),
        ("statements through SQLAlchemy", statements),
        ("straight through asyncpg (BEGIN, COMMIT, driver)", direct),
        ("asyncpg prepares", prepares),
        ("round trips", statements + direct + prepares),
    ]
    print(f"one creation at a time, {count} creations (per creation):")
    for what, total in lines:
        print(f"  {what:52s} {total / count:6.2f}")


def _report_profile(profile: cProfile.Profile, cpu: float, count: int) -> None:
    print(
        f"\n{CONCURRENCY} at a time, {count} creations under cProfile: "
        f"{cpu / count * 1000:.2f} ms CPU per creation (client and profiler overhead included)"
    )
    stats = pstats.Stats(profile)
    print_by_package(stats)
    print("\n  Fixflow functions by cumulative CPU per creation (ms):")
    ours = [
        (row[3], f"{path.split('/server/')[-1]}:{line} {name}")
        for (path, line, name), row in stats.stats.items()  # type: ignore[attr-defined]
        if "/server/" in path and "/site-packages/" not in path
    ]
    for seconds, where in sorted(ours, reverse=True)[:20]:
        print(f"  {seconds / count * 1000:7.3f}  {where}")
    print("\n  any functions by own CPU per creation (ms):")
    own = [
        (row[2], f"{path.split('/site-packages/')[-1]}:{line} {name}")
        for (path, line, name), row in stats.stats.items()  # type: ignore[attr-defined]
    ]
    for seconds, where in sorted(own, reverse=True)[:25]:
        print(f"  {seconds / count * 1000:7.3f}  {where}")


async def main() -> None:
    _instrument()
    async with postgres_server() as pg, redis_server() as redis_url:
        db_url = await fresh_database(pg.url, "fixflow_bench_create_profile")
        conn = await asyncpg.connect(plain_url(db_url))
        tenant = await seed_tenant(conn, slug="bench-create-profile", customers=500, engineers=20)
        settings = Settings(
            DATABASE_URL=db_url, REDIS_URL=redis_url, SECRET_KEY=SECRET, LOG_LEVEL="WARNING"
        )
        app = create_app(settings)
        total = WARMUP + SINGLE + PROFILED
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=TimedApp(app)),
                base_url="http://app",
                timeout=300,
                limits=limits,
            ) as http,
        ):

            def count(*_: Any) -> None:
                if ACTIVE[0]:
                    COUNTS["sqlalchemy"] += 1

            event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
            failures: list[str] = []
            bodies = bench.request_bodies([tenant], total)
            token = mint_token(SECRET, tenant)
            create = bench.api_op(bench.httpx_post(http), [token], bodies, failures)
            await _drive(create, WARMUP, 0, 1)
            CPU.clear()
            ACTIVE[0] = True
            await _drive(create, SINGLE, WARMUP, 1)
            ACTIVE[0] = False
            single_cpu, single_counts = CPU.copy(), COUNTS.copy()
            profile = cProfile.Profile(time.process_time)
            started = time.process_time()
            profile.enable()
            await _drive(create, PROFILED, WARMUP + SINGLE, CONCURRENCY)
            profile.disable()
            cpu = time.process_time() - started
            if failures:
                raise RuntimeError(f"{len(failures)} creations failed; first: {failures[0]}")
        await conn.close()
    CPU.clear()
    CPU.update(single_cpu)
    COUNTS.clear()
    COUNTS.update(single_counts)
    _report_single(SINGLE)
    _report_profile(profile, cpu, PROFILED)


if __name__ == "__main__":
    asyncio.run(main())
