"""The sync engine: moves the store's outbox to the server and the server's changes back.

``sync_once`` = register (once) -> push every unanswered mutation -> pull every page ->
upload pending bytes. ``run(stop)`` repeats it on its own timer: every ``interval`` seconds
after a success (sooner after ``wake()``), and after a failure with capped exponential backoff
and full jitter, never sooner than the server's Retry-After. A failed push is retried by the
timer, not by the next thing the engineer does (PowerSync's stuck-upload bug).

Push: batches of ``MAX_MUTATIONS_PER_PUSH`` in seq order; each result is stored (a rejection
drops its local effect at once). A 409 gap answers with the seq the server expects: the
engine sends again from there, even mutations it already had answers for.
Pull: each page is applied in one local transaction with its cursor (``Store.apply_page``);
the new work the pull brought (new jobs of the engineer's, new jobs in the claim pool) is
handed to ``on_arrivals`` once, for the phone's notification.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from mobile.store import Store
from mobile.store.core import BASE_URL, CURSOR, REGISTERED, USER_ID
from mobile.sync.api import Api, problem
from mobile.sync.backoff import Backoff
from mobile.sync.claim import Claimed, claim
from mobile.sync.errors import AuthRequired, Refused, SyncError, Transient
from mobile.sync.upload import Uploader
from shared.sync import DEFAULT_PULL_LIMIT, MAX_MUTATIONS_PER_PUSH, PullPage, Result

log = logging.getLogger(__name__)

ME_PATH = "/api/v1/auth/me"
CLIENTS_PATH = "/api/v1/sync/clients"
PUSH_PATH = "/api/v1/sync/push"
PULL_PATH = "/api/v1/sync/pull"


# What changed, for the UI's ``on_change``: "pushed" (the server answered mutations),
# "pulled" (rows changed), "uploaded" (files arrived), "status" (SyncStatus changed).
OnChange = Callable[[str], None]
# New work a pull brought (``Store.apply_page``'s arrivals: the engineer's new jobs and the
# pool's), once per pull that brought any, for the phone's notification.
OnArrivals = Callable[[list[dict[str, Any]]], None]


@dataclass
class SyncStatus:
    """What the UI shows: when the phone last reached the server, and why not since.

    ``online``: whether the last request got an answer (None before the first);
    ``uploading``: bytes the server holds / bytes in all of the files being uploaded
    (updated after every chunk), None when no file waits."""

    last_success: dt.datetime | None = None
    last_error: str | None = None
    failures: int = 0
    auth_required: bool = False
    next_attempt_in: float | None = None
    online: bool | None = None
    uploading: tuple[int, int] | None = None


class SyncEngine:
    def __init__(
        self,
        store: Store,
        *,
        base_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        device: str = "",
        interval: float = 30.0,
        backoff: Backoff | None = None,
        pull_limit: int = DEFAULT_PULL_LIMIT,
        chunk_size: int = 256 * 1024,
        timeout: float = 30.0,
        on_change: OnChange | None = None,
        on_arrivals: OnArrivals | None = None,
    ) -> None:
        """``on_change`` is called on the asyncio loop (from the engine's own coroutines)
        with what changed, ``on_arrivals`` with the new work a pull brought; neither may
        block, and what they raise is logged, not raised."""
        self.store = store
        if base_url is not None:
            store.set_meta(**{BASE_URL: base_url})
        self._owns_http = http is None
        if http is None:
            url = store.get_meta(BASE_URL)
            if url is None:
                raise ValueError("the server's base URL is needed once (it is kept afterwards)")
            http = httpx.AsyncClient(base_url=url, transport=transport, timeout=timeout)
        self.http = http
        self.api = Api(store, http)
        self.uploader = Uploader(
            self.api, store, chunk_size=chunk_size, on_progress=self._uploading
        )
        self.on_change = on_change
        self.on_arrivals = on_arrivals
        self.device = device
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.pull_limit = pull_limit
        self.status = SyncStatus()
        self._wake = asyncio.Event()

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> SyncEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the steps ----------------------------------------------------------------------

    def _notify(self, what: str) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(what)
        except Exception:  # the UI's bug must not stop syncing
            log.exception("on_change(%r) failed", what)

    def _announce(self, arrivals: list[dict[str, Any]]) -> None:
        if not arrivals or self.on_arrivals is None:
            return
        try:
            self.on_arrivals(arrivals)
        except Exception:  # a notification that fails must not stop syncing
            log.exception("on_arrivals failed")

    def _uploading(self, progress: tuple[int, int] | None) -> None:
        if progress != self.status.uploading:
            self.status.uploading = progress
            self._notify("status")

    async def login(self, username: str, password: str, organisation: str | None = None) -> None:
        """Log in; the store first decides, without the network, whether this user may
        (``mobile.store.UserSwitchRefused`` while another user's work is queued), then the
        server is asked, and who it says is logged in is kept (``Store.user()``)."""
        self.store.begin_session(username, organisation=organisation)
        await self.api.login(username, password, organisation)
        self.status.auth_required = False
        await self.fetch_user()
        self.status.online = self.api.reached
        self._notify("status")

    async def fetch_user(self) -> None:
        """GET /api/v1/auth/me into the store (the engineer id the job lists need)."""
        response = await self.api.request("GET", ME_PATH)
        self.store.remember_user(self._ok(response))

    async def register(self) -> int:
        """Register this installation (idempotent); the server's last applied seq."""
        response = await self.api.request(
            "POST", CLIENTS_PATH, json={"client_id": self.store.client_id, "device": self.device}
        )
        body = self._ok(response)
        self.store.set_meta(**{REGISTERED: "1"})
        last_seq = int(body.get("last_seq") or 0)
        self.store.record_results([], last_seq=last_seq)
        return last_seq

    async def _ensure_registered(self) -> None:
        if self.store.get_meta(REGISTERED) is None:
            await self.register()

    async def push(self) -> int:
        """Push every unanswered mutation; the number of results received."""
        await self._ensure_registered()
        answered, resend_from, resent = 0, None, set()
        while batch := self.store.unsent(MAX_MUTATIONS_PER_PUSH, from_seq=resend_from):
            mutations = _fitting([e.mutation().to_json() for e in batch])
            batch = batch[: len(mutations)]
            self.store.mark_sent(e.seq for e in batch)
            body = {
                "client_id": self.store.client_id,
                "mutations": mutations,
                "sent_at": self.store.device_time(),  # lets the server estimate clock skew
            }
            try:
                response = await self.api.request("POST", PUSH_PATH, json=body)
            except Transient as exc:
                # A 503 stops the batch but commits what came before the failure.
                answered += self._record(exc.body) if isinstance(exc.body, dict) else 0
                raise
            if response.status_code == 409 and "expected_seq" in problem(response):
                expected = int(problem(response)["expected_seq"])
                if expected in resent or expected < 1:
                    raise Refused(409, problem(response))  # the server keeps asking: stop
                resent.add(expected)
                resend_from = expected
                continue
            received = self._record(self._ok(response))
            if not received:
                raise Refused(response.status_code, {"detail": "the push was not answered"})
            answered += received
            resend_from = None
            self._notify("pushed")
        return answered

    def _record(self, payload: dict[str, Any]) -> int:
        results = [Result.from_json(r) for r in payload.get("results") or []]
        last_seq = payload.get("last_seq")
        self.store.record_results(results, last_seq=None if last_seq is None else int(last_seq))
        return len(results)

    async def pull(self) -> int:
        """Pull every page; the number of changes applied. The new work the pages brought
        is announced once, after the last (``on_arrivals``), or after the pages applied
        when a later one fails."""
        await self._ensure_registered()
        arrivals: list[dict[str, Any]] = []
        try:
            return await self._pull_pages(arrivals)
        finally:
            self._announce(arrivals)

    async def _pull_pages(self, arrivals: list[dict[str, Any]]) -> int:
        applied = 0
        while True:
            params: dict[str, Any] = {"client_id": self.store.client_id, "limit": self.pull_limit}
            if self.store.cursor:
                params["cursor"] = self.store.cursor
            response = await self.api.request("GET", PULL_PATH, params=params)
            if response.status_code == 400 and "cursor" in params:
                # A cursor the server cannot read (another server's secret, a bug): start
                # over; the snapshot comes with reset and keeps the outbox.
                log.warning("pull cursor refused (%s); pulling a snapshot", problem(response))
                self.store.set_meta(**{CURSOR: None})
                continue
            page = PullPage.from_json(self._ok(response))
            arrivals += self.store.apply_page(page)
            applied += len(page.changes)
            if page.changes:
                self._notify("pulled")
            if not page.has_more:
                return applied

    async def claim(self, work_order_id: str) -> Claimed:
        """Claim a job of the pool now (``mobile.sync.claim``); ``Transient`` when there is
        no answer (the job stays in the pool; asking again is the same request)."""
        return await claim(self.api, self.store, work_order_id)

    async def upload_pending(self) -> int:
        done = await self.uploader.upload_all()
        if done:
            self._notify("uploaded")
        return done

    async def sync_once(self) -> None:
        if not self.api.logged_in():
            raise AuthRequired("log in first")
        if self.store.get_meta(USER_ID) is None:
            await self.fetch_user()  # logged in before the phone kept who it is
        await self.push()
        await self.pull()
        await self.upload_pending()

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 404 and "/api/v1/sync/" in response.url.path:
            # The server does not know this installation (its database was restored, say):
            # register again; a gap answer then brings the queue back from where it is.
            self.store.set_meta(**{REGISTERED: None})
            raise Transient("this installation is not registered")
        if response.status_code not in (200, 201):
            raise Refused(response.status_code, problem(response))
        body = response.json()
        if not isinstance(body, dict):
            raise Refused(response.status_code, {"detail": "expected a JSON object"})
        return body

    # --- the loop -----------------------------------------------------------------------

    def wake(self) -> None:
        """Sync soon (after a local action); the timer runs regardless."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until ``stop`` is set. Never raises for a failed sync: it waits and retries."""
        while not stop.is_set():
            delay = await self._attempt()
            self.status.next_attempt_in = delay
            await self._sleep(stop, delay, wakeable=self.status.failures == 0)

    async def attempt(self) -> float:
        """One sync now, outside the loop (which must not run meanwhile): never raises;
        the outcome is in ``status``; the delay the loop would wait next."""
        return await self._attempt()

    async def _attempt(self) -> float:
        try:
            return await self._try()
        finally:
            self.status.online = self.api.reached
            self._notify("status")

    async def _try(self) -> float:
        try:
            await self.sync_once()
        except AuthRequired as exc:
            self.status.auth_required, self.status.last_error = True, str(exc)
            return self.interval
        except Transient as exc:
            return self._failed(exc, exc.retry_after)
        except SyncError as exc:
            log.warning("sync failed: %s", exc)
            return self._failed(exc, None)
        except Exception as exc:  # a bug must not stop syncing for good: log it, back off
            log.exception("sync failed unexpectedly")
            return self._failed(exc, None)
        self.backoff.success()
        status = self.status
        status.last_success, status.last_error = dt.datetime.now(dt.UTC), None
        status.failures, status.auth_required = 0, False
        return self.interval

    def _failed(self, exc: Exception, retry_after: float | None) -> float:
        delay = self.backoff.failure(retry_after)
        self.status.failures = self.backoff.failures
        self.status.last_error = str(exc)
        return delay

    async def _sleep(self, stop: asyncio.Event, delay: float, *, wakeable: bool) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(stop.wait())]
        if wakeable:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


# The server refuses bodies over 1 MiB (FIXFLOW_MAX_BODY_BYTES) with 413: a push stays well
# under it however large its mutations (signature strokes may be 256 KiB each), so a batch
# of big mutations is sent in several pushes instead of being refused forever.
MAX_PUSH_BYTES = 768 * 1024


def _fitting(mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The longest prefix of ``mutations`` whose JSON stays under MAX_PUSH_BYTES (at least
    one: a single mutation is bounded by shared/sync.py far below the limit)."""
    size, out = 0, list[dict[str, Any]]()
    for mutation in mutations:
        size += len(json.dumps(mutation, ensure_ascii=False).encode()) + 1
        if out and size > MAX_PUSH_BYTES:
            break
        out.append(mutation)
    return out
