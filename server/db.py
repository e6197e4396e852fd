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

from sqlalchemy import MetaData, func
from sqlalchemy.dialects.postgresql import UUID as PGUUID
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


def async_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def make_engine(
    url: str, *, pool_size: int = 20, idle_in_transaction_ms: int | None = None
) -> AsyncEngine:
    if idle_in_transaction_ms is None:
        from server.config import get_settings

        idle_in_transaction_ms = get_settings().DB_IDLE_IN_TRANSACTION_TIMEOUT_MS
    return create_async_engine(
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
            "server_settings": {"idle_in_transaction_session_timeout": str(idle_in_transaction_ms)}
        },
    )


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
