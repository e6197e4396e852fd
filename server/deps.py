"""HTTP dependencies: the request's session (one transaction), the caller (Actor)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from server import schemas
from server.attachments.storage import BlobStore
from server.auth import service as auth_service
from server.auth.actor import Actor
from server.config import Settings
from server.db import pop_jobs
from server.errors import Unauthenticated

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


async def get_blob_store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blob_store
    return store


BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]

_bearer = HTTPBearer(auto_error=False, description="Access token (JWT) or API key (ffk_...)")


async def get_actor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        exc = Unauthenticated("send 'Authorization: Bearer <access token or API key>'")
        exc.headers["WWW-Authenticate"] = "Bearer"
        raise exc
    try:
        actor = await auth_service.actor_from_bearer(session, settings, credentials.credentials)
    except Unauthenticated as exc:
        # RFC 6750 section 3: a 401 for a presented token names the scheme and the error.
        exc.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
        raise
    request.state.actor = actor.label
    schemas.show_people(actor.can("engineers:read"))  # the audit labels it reads
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require(*scopes: str) -> Any:
    """A dependency that checks the caller holds every one of ``scopes`` (``Actor.require``)
    and yields the Actor. The scopes are kept on the check, so the tests can read what
    each route needs (tests/server/test_scopes.py)."""

    async def check(actor: ActorDep) -> Actor:
        actor.require(*scopes)
        return actor

    check.required_scopes = scopes  # type: ignore[attr-defined]
    return Depends(check)
