"""Auth's HTTP face: the caller of a request (``ActorDep``) and the scope check every route
declares (``require``). Routers of every domain use it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server import schemas
from server.auth import service as auth_service
from server.auth.actor import Actor
from server.deps import SessionDep, SettingsDep
from server.errors import Unauthenticated

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
