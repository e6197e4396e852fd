"""Engine, the declarative Base, and the one-transaction-per-request session.

Services never commit. The request's session dependency (and the worker's
``session_scope``) commits at the edge or rolls back. Jobs a service wants run
are put in the session's job buffer and sent to arq only after the commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import MetaData, event, func, text
from sqlalchemy.dialects.postgresql import UUID as PGUUID
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.ids import uuid7

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        uuid.UUID: PGUUID(as_uuid=True),
        dt.datetime: __import__("sqlalchemy").DateTime(timezone=True),
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)


class VersionMixin:
    """The object's version for optimistic concurrency: its ETag is ``"v<version>"``, and
    every change bumps it (server/crud.py ``check_version``). Rows written before the column
    existed start at 1."""

    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


def async_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


# --- timestamptz and date as asyncpg sees them -----------------------------------------------
#
# asyncpg writes exactly 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z as -infinity /
# infinity and reads those back as *naive* datetime.min / datetime.max; a value PostgreSQL
# holds beyond Python's years 1-9999 (written by hand) fails to decode (OverflowError). Either
# made every read of such a row a 500 (naive minus aware, or no datetime at all). The API
# no longer accepts such instants (shared/times.py), but rows stored before must stay
# readable, so timestamptz goes through this codec on every connection: reads are always
# aware UTC datetimes, infinities and values beyond Python's range clamped to its edges
# (shown as 0001-01-01T00:00:00Z / 9999-12-31T23:59:59.999999Z). Writes are the driver's own
# mapping (the edges become the infinities again, so a cursor holding a clamped value finds
# its row), naive datetimes and dates included. Dates get the same clamping (asyncpg already
# reads their infinities as date.min / date.max). Cost: 0.5-1 us per value read (a fetch of
# 150,000 values took 1.3-1.5x the driver's own decoding), ~0.3 ms for a 50-row ticket page.

_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_INFINITY, _MINUS_INFINITY = 2**63 - 1, -(2**63)
_HIGHEST = dt.datetime.max.replace(tzinfo=dt.UTC)
_LOWEST = dt.datetime.min.replace(tzinfo=dt.UTC)
_HIGHEST_US = (_HIGHEST - _PG_EPOCH) // _US
_LOWEST_US = (_LOWEST - _PG_EPOCH) // _US


def decode_timestamptz(value: tuple[int]) -> dt.datetime:
    microseconds = value[0]
    if _LOWEST_US < microseconds < _HIGHEST_US:
        return _PG_EPOCH + dt.timedelta(microseconds=microseconds)
    return _HIGHEST if microseconds >= _HIGHEST_US else _LOWEST


def encode_timestamptz(value: dt.datetime | dt.date) -> tuple[int]:
    if not isinstance(value, dt.datetime):  # a date: its midnight on the server's clock
        value = dt.datetime(value.year, value.month, value.day).astimezone()
    if value.tzinfo is None or value.utcoffset() is None:
        if value == dt.datetime.max or value == dt.datetime.min:
            return (_INFINITY if value == dt.datetime.max else _MINUS_INFINITY,)
        value = value.astimezone(dt.UTC)  # naive: the server's local time, as asyncpg does
    microseconds = (value - _PG_EPOCH) // _US
    if microseconds == _HIGHEST_US:
        return (_INFINITY,)
    return (_MINUS_INFINITY,) if microseconds == _LOWEST_US else (microseconds,)


_PG_EPOCH_DAY = _PG_EPOCH.date().toordinal()
_DAY_INFINITY, _DAY_MINUS_INFINITY = 2**31 - 1, -(2**31)
_LAST_DAY = dt.date.max.toordinal()


def decode_date(value: tuple[int]) -> dt.date:
    ordinal = value[0] + _PG_EPOCH_DAY
    return dt.date.fromordinal(min(max(ordinal, 1), _LAST_DAY))


def encode_date(value: dt.date) -> tuple[int]:
    ordinal = value.toordinal()
    if ordinal == _LAST_DAY:
        return (_DAY_INFINITY,)
    return (_DAY_MINUS_INFINITY,) if ordinal == 1 else (ordinal - _PG_EPOCH_DAY,)


async def _register_codecs(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=encode_timestamptz,
        decoder=decode_timestamptz,
        format="tuple",
    )
    await conn.set_type_codec(
        "date", schema="pg_catalog", encoder=encode_date, decoder=decode_date, format="tuple"
    )


def make_engine(
    url: str, *, pool_size: int = 20, idle_in_transaction_ms: int | None = None
) -> AsyncEngine:
    if idle_in_transaction_ms is None:
        from server.config import get_settings

        idle_in_transaction_ms = get_settings().DB_IDLE_IN_TRANSACTION_TIMEOUT_MS
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip on every checkout. Connections are recycled
        # instead, and a request that meets a dead one fails once and is retried by the
        # client (every write is idempotent with its Idempotency-Key).
        pool_recycle=1800,
        # A transaction left open holds back every sync pull's watermark (docs/sync.md)
        # and vacuum: PostgreSQL ends such a session after this long.
        connect_args={
            "server_settings": {"idle_in_transaction_session_timeout": str(idle_in_transaction_ms)},
            # SQLAlchemy names savepoints sa_savepoint_1, _2, ... within a transaction and
            # prepares every statement: a sync push of 100 mutations sends ~200 distinct
            # SAVEPOINT/RELEASE texts, which a cache of 100 always missed.
            "prepared_statement_cache_size": 1000,
        },
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _codecs(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(_register_codecs)

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def after_commit(session: AsyncSession, job: str, **kwargs: Any) -> None:
    """Buffer a job; the session's owner enqueues it after a successful commit."""
    session.info.setdefault("jobs", []).append((job, kwargs))


def pop_jobs(session: AsyncSession) -> list[tuple[str, dict[str, Any]]]:
    jobs: list[tuple[str, dict[str, Any]]] = session.info.pop("jobs", [])
    return jobs


@asynccontextmanager
async def session_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction for a job or a script: commit on success, roll back on error."""
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# --- hot paths: statements straight through asyncpg ----------------------------------------


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session``, inside the session's transaction.

    For the few hot paths that send hand-written SQL (a field record a phone syncs, the
    sync log): a statement through asyncpg costs about half the client CPU of the same
    ``text()`` through SQLAlchemy. Pending ORM changes are flushed first (raw statements
    do not autoflush), and the transaction is begun if SQLAlchemy has not yet begun it,
    so the statements commit or roll back with the request like everything else. Send
    them with :func:`fetchrow` / :func:`execute`, which turn asyncpg's errors into
    SQLAlchemy's (the error handlers and the sync push classify those). Every caller is a
    fast path registered in server/fastpaths.py, run only when ``fastpaths.enabled`` says
    so, beside an ORM twin that writes the same rows.
    """
    fairy = await session.run_sync(_pooled_connection)  # one hop into SQLAlchemy, not three
    adapter = fairy.dbapi_connection
    if adapter._transaction is None:  # SQLAlchemy sends BEGIN lazily, on the first statement
        await adapter._start_transaction()  # the same BEGIN, tracked by the adapter as its own
    conn: asyncpg.Connection = fairy.driver_connection
    return conn


def _pooled_connection(session: Session) -> Any:
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().connection


def _translated(
    conn: asyncpg.Connection, sql: str, args: tuple[Any, ...], exc: Exception
) -> DBAPIError:
    if isinstance(exc, asyncpg.PostgresError):  # class 08 (connection) included
        kind = IntegrityError if str(exc.sqlstate or "").startswith("23") else DBAPIError
        return kind(sql, args, exc)
    # An OSError, or asyncpg's InterfaceError: the connection is gone (and the transaction
    # with it) when asyncpg says it is closed; otherwise the call itself was wrong.
    lost = isinstance(exc, OSError) or conn.is_closed()
    return DBAPIError(sql, args, exc, connection_invalidated=lost)


async def fetchrow(conn: asyncpg.Connection, sql: str, *args: Any) -> asyncpg.Record | None:
    try:
        return await conn.fetchrow(sql, *args)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise _translated(conn, sql, args, exc) from exc


async def fetch(conn: asyncpg.Connection, sql: str, *args: Any) -> list[asyncpg.Record]:
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise _translated(conn, sql, args, exc) from exc
    return rows


async def execute(conn: asyncpg.Connection, sql: str, *args: Any) -> None:
    try:
        await conn.execute(sql, *args)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise _translated(conn, sql, args, exc) from exc
