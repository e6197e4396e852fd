"""Who uses the phone, and the sync engine that works for them.

The first log-in needs the network (and the server's address, kept afterwards); from then
on the app opens straight to the day's work with no network at all. When the server says
the log-in has expired (a refresh token unused for too long), the app asks for the
password again and keeps every queued action; another engineer on the same phone is
refused until the queue has reached the server (``UserSwitchRefused``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from mobile.core.text import clip
from mobile.i18n import _, format_ago
from mobile.store import Store, UserSwitchRefused
from mobile.sync import AuthRequired, Claimed, OrganisationRequired, SyncEngine, Transient
from mobile.sync.engine import OnArrivals
from mobile.sync.errors import Refused

log = logging.getLogger(__name__)
_HOST = re.compile(r"[A-Za-z0-9._:-]+")  # a host as sent: IDNA for other scripts, IPv6 bare


class LoginFailed(Exception):
    """A log-in that did not work; ``message`` says what to do next, in the user's language."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "address", "credentials", "offline", "other_user", "server"


@dataclass(frozen=True)
class SyncBar:
    """The always-visible sync line."""

    online: bool | None
    pending: int
    uploads: int
    last_sync: str
    uploading: str
    attention: int
    auth_required: bool


def _not_an_address() -> LoginFailed:
    return LoginFailed(
        _("This is not a server address. Type it like https://fixflow.example.com"),
        kind="address",
    )


def _host_name(host: bytes) -> bool:
    """A DNS name or an IP address: at most 253 characters, labels of 1 to 63 (IDNA)."""
    text = host.decode("ascii", "replace")
    if not _HOST.fullmatch(text):  # "a b.com" arrives as "a%20b.com"
        return False
    labels = text.split(".")
    return 0 < len(text) <= 253 and all(0 < len(label) <= 63 for label in labels)


def normalise_url(url: str) -> str:
    """The server's address as the app keeps it (``https://host[:port][/path]``, no slash at
    the end), from what was typed: spaces around it, no scheme ("https://" is meant), the
    host in capitals. Anything that is no web server's address (another scheme, a password
    or a query in it, a host that cannot be one) is a LoginFailed saying what to type."""
    text = url.strip()
    if not text:
        raise LoginFailed(
            _("Enter the server address, e.g. https://fixflow.example.com"), kind="address"
        )
    if "://" not in text:
        if text.startswith("/"):
            raise _not_an_address()
        text = "https://" + text
    try:
        parsed = httpx.URL(text)
        port = parsed.port
    except (httpx.InvalidURL, ValueError):
        raise _not_an_address() from None
    if parsed.scheme not in ("http", "https"):
        raise LoginFailed(
            _("The server address must start with https:// or http://"), kind="address"
        )
    host = parsed.host
    if (
        not _host_name(parsed.raw_host)
        or parsed.userinfo
        or parsed.query
        or parsed.fragment
        or (port is not None and not 0 < port < 65536)
    ):
        raise _not_an_address()
    shown_host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"{parsed.scheme}://{shown_host}{'' if port is None else f':{port}'}" + (
        parsed.path.rstrip("/")
    )


class Session:
    def __init__(
        self,
        store: Store,
        *,
        device_name: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        interval: float = 30.0,
        on_change: Callable[[str], None] | None = None,
        engine_options: dict[str, object] | None = None,
        autosync: bool = True,
        on_arrivals: OnArrivals | None = None,
    ) -> None:
        self.store = store
        # False: sync only when asked (sync_now); tests drive every sync themselves.
        self.autosync = autosync
        self.device_name = device_name
        self.transport = transport
        self.interval = interval
        self.on_change = on_change or (lambda what: None)
        self.on_arrivals = on_arrivals  # new work a pull brought (the phone's notification)
        self.engine_options = dict(engine_options or {})
        self.engine: SyncEngine | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    # --- who -----------------------------------------------------------------------------

    @property
    def server_url(self) -> str | None:
        return self.store.get_meta("base_url")

    @property
    def username(self) -> str | None:
        return self.store.get_meta("username")

    def ready(self) -> bool:
        """Whether the app can open on the day's work (someone logged in on this phone
        before); it works offline from then on, even after the log-in expired."""
        return self.server_url is not None and self.username is not None

    def logged_out(self) -> bool:
        """Someone worked on this phone, and their log-in is gone (expired or logged out):
        the queue waits for the next log-in."""
        return self.username is not None and self.store.get_meta("refresh_token") is None

    def _engine(self, url: str) -> SyncEngine:
        if self.engine is None or str(self.engine.http.base_url).rstrip("/") != url:
            self.engine = SyncEngine(
                self.store,
                base_url=url,
                transport=self.transport,
                device=self.device_name,
                interval=self.interval,
                on_change=self._engine_changed,
                on_arrivals=self.on_arrivals,
                **self.engine_options,  # type: ignore[arg-type]
            )
        return self.engine

    def _engine_changed(self, what: str) -> None:
        if what == "status":
            self._remember_success()
        self.on_change(what)

    async def login(
        self, url: str, email: str, password: str, organisation: str | None = None
    ) -> None:
        """Log in (needs the network). Raises LoginFailed with a message for the engineer,
        or OrganisationRequired listing the organisations to choose from."""
        url = normalise_url(url)
        if not email.strip() or not password:
            raise LoginFailed(_("Enter your e-mail and password"), kind="credentials")
        self._may_log_in(url, email.strip(), organisation)
        await self.stop()
        if self.engine is not None and self.server_url != url:
            await self.engine.aclose()  # the next one talks to another server
            self.engine = None
        engine = self._engine(url)
        try:
            await engine.login(email.strip(), password, organisation)
        except UserSwitchRefused as exc:
            raise LoginFailed(self._other_user(), kind="other_user") from exc
        except OrganisationRequired:
            raise
        except AuthRequired as exc:
            raise LoginFailed(
                _("Wrong e-mail or password. Check them and try again."), kind="credentials"
            ) from exc
        except (Transient, httpx.TransportError) as exc:
            unreachable = _(
                "Cannot reach the server. Check the address and your connection, then try again."
            )
            raise LoginFailed(unreachable, kind="offline") from exc
        except Refused as exc:
            raise LoginFailed(
                _("The server refused the log-in: {detail}").format(
                    detail=clip(str(exc), chars=300)
                ),
                kind="server",
            ) from exc
        self.on_change("login")

    def _may_log_in(self, url: str, email: str, organisation: str | None) -> None:
        """Decided on the phone, before the server is asked: while work of the current
        user waits here, the log-in must be theirs (the store's rule: the e-mail case
        aside), on the server it belongs to (sent anywhere else it would be refused, or
        worse, applied to another server's jobs of the same ids)."""
        changes = self.store.pending_count() + self.store.pending_uploads_count()
        if not changes and not self.store.running_timers():
            return
        if self.server_url not in (None, url):
            raise LoginFailed(
                _(
                    "This phone still has {count} changes for {server}. Log in to that "
                    "server and let them sync before changing the server address."
                ).format(count=changes, server=self.server_url),
                kind="other_server",
            )
        if not self.store.is_current_user(email, organisation=organisation):
            raise LoginFailed(self._other_user(), kind="other_user")

    def _other_user(self) -> str:
        """Why another engineer cannot log in yet: the current one's changes (and photos)
        wait to sync, or a timer of theirs runs (which no sync ends)."""
        user = self.username
        changes = self.store.pending_count() + self.store.pending_uploads_count()
        said = []
        if changes:
            said.append(
                _(
                    "{user} still has {count} changes waiting to sync on this phone. "
                    "Connect to the network and let them sync (or ask {user} to log in) "
                    "before another engineer logs in."
                ).format(user=user, count=changes)
            )
        if self.store.running_timers():
            said.append(
                _(
                    "A timer of {user} is still running on this phone: {user} must stop it "
                    "on the job's Labour screen before another engineer can log in."
                ).format(user=user)
            )
        return " ".join(said)

    async def logout(self) -> None:
        """Forget the log-in; every queued action stays and is sent after the next log-in."""
        await self.stop()
        self.store.logout()
        self.on_change("logout")

    # --- the sync loop ------------------------------------------------------------------

    def start(self) -> None:
        """Sync in the background from now on (after the app opens or a log-in)."""
        if not self.autosync or (self._task is not None and not self._task.done()):
            return
        url = self.server_url
        if url is None:
            return
        engine = self._engine(url)
        self._stop = asyncio.Event()
        self._task = asyncio.ensure_future(engine.run(self._stop))

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:  # the loop never raises; a bug there must not block log-out
                log.exception("the sync loop ended with an error")
        self._task = self._stop = None

    async def close(self) -> None:
        await self.stop()
        if self.engine is not None:
            await self.engine.aclose()
            self.engine = None

    def wake(self) -> None:
        if self.engine is not None:
            self.engine.wake()

    async def sync_now(self) -> None:
        """One sync at once (pull to refresh, *Sync now*), then the loop carries on; its
        outcome is in the status bar, as for the loop's own syncs."""
        url = self.server_url
        if url is None:
            return
        engine = self._engine(url)
        looping = self._task is not None and not self._task.done()
        if looping:
            await self.stop()  # one sync at a time: the loop's attempt and this one
        try:
            await engine.attempt()
        finally:
            self._remember_success()
            if looping:
                self.start()

    async def claim(self, work_order_id: str) -> Claimed:
        """Claim a job of the pool now (``Transient`` without an answer: nothing is queued),
        then sync, so the job arrives on Today or leaves the pool."""
        url = self.server_url
        if url is None:
            raise AuthRequired("log in first")
        outcome = await self._engine(url).claim(work_order_id)
        await self.sync_now()
        return outcome

    def _remember_success(self) -> None:
        last = self.engine.status.last_success if self.engine else None
        if last is not None and last.isoformat() != self.store.get_meta("last_sync_at"):
            self.store.set_meta(last_sync_at=last.isoformat())

    def bar(self, now: dt.datetime) -> SyncBar:
        status = self.engine.status if self.engine else None
        uploading = status.uploading if status else None
        return SyncBar(
            online=status.online if status else None,
            pending=self.store.pending_count(),
            uploads=self.store.pending_uploads_count(),
            last_sync=self.last_sync_text(now),
            uploading=(f"{uploading[0] * 100 // max(1, uploading[1])} %" if uploading else ""),
            attention=len(self.store.attention()),
            auth_required=bool(status and status.auth_required) or self.logged_out(),
        )

    def last_sync_text(self, now: dt.datetime) -> str:
        """ "3 min ago": the one part of the bar that changes with the clock alone (the
        rest changes with the data, and is read again when it does)."""
        return format_ago(self._last_success(self.engine.status if self.engine else None), now)

    def _last_success(self, status: object) -> dt.datetime | None:
        last = getattr(status, "last_success", None)
        if last is not None:
            return last  # type: ignore[no-any-return]
        kept = self.store.get_meta("last_sync_at")
        return dt.datetime.fromisoformat(kept) if kept else None
