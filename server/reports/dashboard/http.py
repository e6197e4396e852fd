"""Who is looking at a dashboard page: the login kept in cookies.

The dashboard is a website, so the tokens the API hands out (``auth.service.login``) are
kept by the browser in cookies rather than by a client: HttpOnly (no script reads them;
the pages have none anyway), SameSite=Strict (another site's link or form never carries
them), Path=/dashboard (the API never sees them: it takes only ``Authorization``), Secure
in production. Each page checks the access token with the API's own check
(``actor_from_bearer``: the user's current role, an inactive user refused at once); an
expired one is exchanged for new tokens with the refresh token, whose reuse revokes the
login as in the API. The forms that change something (log in, log out) carry a CSRF token
that must match the one in its own cookie: a cross-site post carries no cookie (Strict),
and a script on another site cannot read the token to copy it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.auth import service as auth_service
from server.config import Settings
from server.errors import Unauthenticated

PATH = "/dashboard"
ACCESS = "ff_dash_access"
REFRESH = "ff_dash_refresh"
CSRF = "ff_dash_csrf"
_NEXT_MAX = 2000


@dataclass
class Visitor:
    """A logged-in caller; ``renewed``: the tokens a refresh just issued, which the
    page's answer must store (``keep``)."""

    actor: Actor
    renewed: auth_service.TokenPair | None = None


def _cookie(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=settings.is_production,
    )


def store(response: Response, settings: Settings, pair: auth_service.TokenPair) -> None:
    """Keep a login's tokens (the access token a little past its own expiry: an expired
    one tells the page to refresh, where a missing one would look logged out)."""
    _cookie(response, settings, ACCESS, pair.access_token, pair.expires_in + 3600)
    _cookie(response, settings, REFRESH, pair.refresh_token, settings.REFRESH_TOKEN_DAYS * 86400)


def forget(response: Response, settings: Settings) -> None:
    """Remove the login's cookies (and the CSRF token: the next login gets a new one)."""
    for name in (ACCESS, REFRESH, CSRF):
        response.delete_cookie(
            name, path=PATH, httponly=True, samesite="strict", secure=settings.is_production
        )


def keep(response: Response, settings: Settings, visitor: Visitor) -> Response:
    """``response`` with the tokens of a refresh made while answering, if any."""
    if visitor.renewed is not None:
        store(response, settings, visitor.renewed)
    return response


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> tuple[str, bool]:
    """The CSRF token for a form: the cookie's, or a new one (True: set the cookie)."""
    current = request.cookies.get(CSRF, "")
    if 32 <= len(current) <= 64 and current.isascii() and current.isprintable():
        return current, False
    return new_csrf(), True


def set_csrf(response: Response, settings: Settings, token: str) -> None:
    _cookie(response, settings, CSRF, token, settings.REFRESH_TOKEN_DAYS * 86400)


def csrf_ok(request: Request, sent: str | None) -> bool:
    """Whether a posted form carries the CSRF token of its own cookie."""
    current = request.cookies.get(CSRF, "")
    return bool(current and sent) and hmac.compare_digest(current.encode(), (sent or "").encode())


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of the dashboard on this site, else the
    overview (never another host: ``//evil``, ``/\\evil``, ``https:``, control
    characters, or a path outside /dashboard, dot segments included)."""
    if not value or len(value) > _NEXT_MAX or not value.isprintable() or "\\" in value:
        return PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return PATH
    if parts.path != PATH and not parts.path.startswith(PATH + "/"):
        return PATH
    # A browser resolves dot segments (also written %2e) before it asks: not a way out.
    segments = parts.path.lower().replace("%2e", ".").split("/")
    if "." in segments or ".." in segments:
        return PATH
    return value


def to_login(request: Request) -> RedirectResponse:
    """303 to the login page, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = safe_next(here)
    return RedirectResponse(f"{PATH}/login?next={quote(target, safe='')}", status_code=303)


async def visitor(request: Request, session: AsyncSession, settings: Settings) -> Visitor | None:
    """The logged-in caller of a page, refreshing an expired access token; None: not
    logged in (no cookies, a revoked or reused login, an inactive user)."""
    access = request.cookies.get(ACCESS)
    refresh = request.cookies.get(REFRESH)
    # Only the tokens this page stored: an API key pasted into a cookie is not a login.
    if access and not access.startswith("ffk_"):
        try:
            actor = await auth_service.actor_from_bearer(session, settings, access)
        except Unauthenticated:
            pass  # expired (or otherwise refused): try the refresh token
        else:
            # The access token alone is no login: its login must not have logged out
            # (an old access cookie replayed after Log out, or without its refresh cookie).
            alive = actor.user_id is not None and await auth_service.login_alive(
                session, refresh_token=refresh, user_id=actor.user_id
            )
            return Visitor(actor) if alive else None
    if not refresh or len(refresh) > 200:
        return None
    try:
        pair = await auth_service.refresh(session, settings, refresh_token=refresh)
        if pair is None:  # reuse: the login is revoked (committed with this answer)
            return None
        actor = await auth_service.actor_from_bearer(session, settings, pair.access_token)
    except Unauthenticated:
        return None
    return Visitor(actor, renewed=pair)
