"""The KPI benchmark's data: ROWS work orders of one organisation over one year made by the
history generator (server/reports/history, docs/history.md) with visits, labour, parts and
surveys, and its KPI facts rebuilt; kept in the benchmark cluster (var/bench/postgres) as a
database named after the schema, the loader version and the size, marked 'loaded' when
complete, so later runs reuse it."""

from __future__ import annotations

import os
import time
from typing import Any

import asyncpg
from sqlalchemy import text

from benchmarks.common import fresh_database, plain_url, schema_key
from server import embedded
from server.db import make_engine, make_sessionmaker, session_scope
from server.reports import refresh
from server.reports.history import Bar, Options, generate

ROWS = int(os.environ.get("BENCH_KPI_ROWS", "1000000"))
ENGINEERS = int(os.environ.get("BENCH_KPI_ENGINEERS", "300"))
SLUG = "kpi-bench"
LOADER_VERSION = 1
PASSWORD = "bench-password"


def database_name() -> str:
    return f"fixflow_bench_kpi_{schema_key()}_v{LOADER_VERSION}_{ROWS}"


async def prepare(server_url: str) -> tuple[str, dict[str, Any]]:
    """The loaded database's URL, generating it first unless a previous run did."""
    name = database_name()
    server = await asyncpg.connect(plain_url(server_url))
    try:
        stale = [
            r["datname"]
            for r in await server.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE 'fixflow_bench_kpi_%'"
            )
            # Older schemas or loaders of this size only (a small run keeps the million).
            if r["datname"].endswith(f"_{ROWS}")
            if r["datname"] != name
        ]
        for old in stale:
            await server.execute(f'DROP DATABASE "{old}" WITH (FORCE)')
        comment = await server.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
        if comment == "loaded":
            url = embedded.replace_database(plain_url(server_url), name)
            return url, {"cached": True, "database": name, **await catch_up(url)}
        url = await fresh_database(server_url, name)
        timings = await load(url)
        await server.execute(f"COMMENT ON DATABASE \"{name}\" IS 'loaded'")
    finally:
        await server.close()
    return url, {"cached": False, "database": name, "dropped_stale": stale, **timings}


async def catch_up(url: str) -> dict[str, Any]:
    """What the worker's minute job does to a database found in the cache: the refresh
    since its mark (the roll-ups built again when the catalogue's sums changed since)."""
    engine = make_engine(url, pool_size=2)
    try:
        started = time.perf_counter()
        async with session_scope(make_sessionmaker(engine)) as session:
            org_id = await session.scalar(
                text("SELECT id FROM organisations WHERE slug = :slug"), {"slug": SLUG}
            )
            written, _ = await refresh.refresh_org(session, org_id)
        return {"catch_up_s": round(time.perf_counter() - started, 1), "catch_up_facts": written}
    finally:
        await engine.dispose()


async def load(url: str) -> dict[str, Any]:
    """Generate the year and rebuild the facts, each committed, with the bars on stderr."""
    engine = make_engine(url, pool_size=2)
    out: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        async with session_scope(make_sessionmaker(engine)) as session:
            options = Options(ROWS, ENGINEERS, 12, 14, SLUG)
            bar = Bar("history", unit="work orders")
            summary = await generate(session, options, password=PASSWORD, progress=bar)
            bar.close()
        out["generate_s"] = round(time.perf_counter() - started, 1)
        out["rows"] = summary.rows
        started = time.perf_counter()
        async with session_scope(make_sessionmaker(engine)) as session:
            bar = Bar("KPI facts", unit="work orders")
            await refresh.refresh_org(session, summary.org_id, full=True, progress=bar)
            bar.close()
        out["refresh_s"] = round(time.perf_counter() - started, 1)
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(plain_url(url))
    try:
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        out["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    finally:
        await conn.close()
    return out


if __name__ == "__main__":  # python -m benchmarks.kpi_data: load (or find) the data only
    import asyncio

    from benchmarks.common import VAR_BENCH, postgres_server

    async def _main() -> None:
        async with postgres_server(VAR_BENCH / "postgres") as pg:
            print(await prepare(pg.url))

    asyncio.run(_main())
