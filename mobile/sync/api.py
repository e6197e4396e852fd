"""HTTP to the Fixflow API: bearer tokens kept in the store's meta, one refresh on 401, and
every failure mapped onto the sync error tree (``mobile.sync.errors``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from typing import Any

import httpx

from mobile.store import Store
from mobile.store.core import (
    ACCESS_EXPIRES_AT,
    ACCESS_TOKEN,
    ORGANISATION,
    REFRESH_TOKEN,
    USERNAME,
)
from mobile.sync.errors import AuthRequired, OrganisationRequired, Refused, Transient
from shared.digits import NumberTooLarge, ascii_uint

TOKEN_PATH = "/api/v1/auth/token"
REFRESH_PATH = "/api/v1/auth/refresh"
# 409s that mean "try again", not "you are wrong".
# A day: beyond it a Retry-After is as good as "much later" (the backoff caps it anyway).
RETRY_AFTER_CAP = 86_400
_RETRYABLE_CODES = frozenset({"retryable_conflict", "idempotency_in_progress"})


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), or None."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return float(ascii_uint(value, maximum=RETRY_AFTER_CAP))
    except NumberTooLarge:
        return float(RETRY_AFTER_CAP)
    except ValueError:
        pass  # not delta-seconds: an HTTP date, or nothing we can read
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.text[:200]}
    return body if isinstance(body, dict) else {"detail": str(body)[:200]}


class Api:
    def __init__(self, store: Store, http: httpx.AsyncClient) -> None:
        self.store = store
        self.http = http
        self._refreshing: asyncio.Lock | None = None
        # Whether the last request got an answer from the server (any status: a 503 is an
        # answer), or None before the first one: the sync bar's online/offline.
        self.reached: bool | None = None

    # --- tokens -------------------------------------------------------------------------

    async def login(self, username: str, password: str, organisation: str | None = None) -> None:
        """OAuth2 password grant; the tokens go to the store (they survive restarts).
        ``organisation`` (a slug or id) is needed only when the e-mail and password open
        accounts in several organisations: without it that login raises
        ``OrganisationRequired`` listing them."""
        form = {"username": username, "password": password}
        if organisation:
            form["organisation"] = organisation
        response = await self._send("POST", TOKEN_PATH, data=form)
        body = problem(response) if response.status_code >= 400 else {}
        if response.status_code == 409 and body.get("code") == "organisation_required":
            raise OrganisationRequired(str(body.get("detail")), list(body["organisations"]))
        if response.status_code in (400, 401, 403):
            raise AuthRequired(body.get("detail") or "wrong e-mail or password")
        self._check_transient(response)
        self._keep_tokens(response)
        self.store.set_meta(**{USERNAME: username, ORGANISATION: organisation})

    def logged_in(self) -> bool:
        return self.store.get_meta(REFRESH_TOKEN) is not None

    def _keep_tokens(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise Refused(response.status_code, problem(response))
        body = response.json()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(body.get("expires_in", 0)))
        self.store.set_meta(
            **{
                ACCESS_TOKEN: str(body["access_token"]),
                REFRESH_TOKEN: str(body["refresh_token"]),
                ACCESS_EXPIRES_AT: expires.isoformat(),
            }
        )

    async def _refresh(self, stale: str | None) -> None:
        """Exchange the refresh token once, even when several requests saw the same 401
        (using a refresh token twice revokes the whole login on the server, unless it is
        a retry of a lost answer within the server's grace: docs/api.md)."""
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            if self.store.get_meta(ACCESS_TOKEN) != stale:
                return  # another request refreshed meanwhile
            token = self.store.get_meta(REFRESH_TOKEN)
            if token is None:
                raise AuthRequired("log in first")
            response = await self._send("POST", REFRESH_PATH, json={"refresh_token": token})
            if response.status_code in (401, 403, 422):
                self.store.set_meta(**{ACCESS_TOKEN: None, REFRESH_TOKEN: None})
                raise AuthRequired(problem(response).get("detail") or "log in again")
            self._check_transient(response)
            self._keep_tokens(response)

    def _expiring(self) -> bool:
        expires = self.store.get_meta(ACCESS_EXPIRES_AT)
        if expires is None:
            return False
        left = dt.datetime.fromisoformat(expires) - dt.datetime.now(dt.UTC)
        return left < dt.timedelta(seconds=30)

    # --- requests -----------------------------------------------------------------------

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An authenticated request. Transient failures raise ``Transient``; a 401 refreshes
        the tokens once; every other answer is returned for the caller to read."""
        token = self.store.get_meta(ACCESS_TOKEN)
        if token is None or self._expiring():
            await self._refresh(token)
            token = self.store.get_meta(ACCESS_TOKEN)
        response = await self._send(method, url, token=token, **kwargs)
        if response.status_code == 401:
            await self._refresh(token)
            token = self.store.get_meta(ACCESS_TOKEN)
            response = await self._send(method, url, token=token, **kwargs)
            if response.status_code == 401:
                raise AuthRequired(problem(response).get("detail") or "log in again")
        self._check_transient(response)
        return response

    async def _send(
        self, method: str, url: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await self.http.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            # Connection refused, reset, timed out: the request may or may not have arrived;
            # everything we send is idempotent, so sending it again is safe.
            self.reached = False
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        self.reached = True
        return response

    @staticmethod
    def _check_transient(response: httpx.Response) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise Transient(
                f"HTTP {status}", retry_after=retry_after(response), body=problem(response)
            )
        if status == 409 and problem(response).get("code") in _RETRYABLE_CODES:
            raise Transient("HTTP 409 (retry)", retry_after=retry_after(response))
