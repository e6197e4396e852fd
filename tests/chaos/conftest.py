"""Fixtures of the chaos tests: a PostgreSQL database and a Redis database of their own
(the server under test is another process, and commits for real)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from server import embedded
from server.db import async_url


def _prepare(server_url: str, name: str) -> str:
    from server.migrate import upgrade

    url = asyncio.run(embedded.ensure_database(server_url, name, fresh=True))
    upgrade(async_url(url))
    return url


async def _drop(server_url: str, name: str) -> None:
    import asyncpg

    con = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await con.close()


@pytest.fixture
async def chaos_db(infra: dict[str, str]) -> AsyncIterator[str]:
    """A database of its own (the server is another process and commits for real)."""
    name = f"fixflow_chaos_{os.getpid()}"
    url = await asyncio.to_thread(_prepare, infra["server_url"], name)
    try:
        yield url
    finally:
        await _drop(infra["server_url"], name)


@pytest.fixture
async def chaos_redis(infra: dict[str, str]) -> str:
    """A Redis database of its own: the chaos worker must not run other tests' jobs."""
    from redis.asyncio import Redis

    url = infra["redis_url"]
    url += ("&" if "?" in url else "?") + "db=7"
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    return url
