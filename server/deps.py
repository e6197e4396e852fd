"""HTTP dependencies of the core: the request's session (one transaction) and the settings.
The caller (``require``, ``ActorDep``) is auth's HTTP face, ``server.auth.http``; the blob
store is attachments', ``server.attachments.http``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db import pop_jobs

log = logging.getLogger("fixflow.db")


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """Commit when the endpoint returns, before the response is sent; roll back on error.
    Jobs buffered with ``after_commit`` are enqueued only after the commit succeeded."""
    maker = request.app.state.sessionmaker
    async with maker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
            await enqueue_jobs(request.app.state, pop_jobs(session))


async def enqueue_jobs(state: Any, jobs: list[tuple[str, dict[str, Any]]]) -> None:
    sender = getattr(state, "jobs", None)
    if sender is None:
        if jobs:
            log.warning("jobs %s not enqueued: no queue", [name for name, _ in jobs])
        return
    await sender.send(jobs)


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


# Dependencies are ``async def`` even when they do not await: FastAPI runs a plain ``def``
# dependency in its thread pool, a thread hop on every request for a dictionary lookup.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
