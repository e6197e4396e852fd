"""Real local peers for the notification channels: an aiosmtpd SMTP server and a small
HTTP receiver on 127.0.0.1, and a sessionmaker whose commits stay in the test's
transaction (the worker's ``session_scope`` commits; here those are savepoint releases)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from server.config import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SmtpPeer:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: int = 0  # answer the next N messages with a temporary failure

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp_peer(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpPeer]:
    peer = SmtpPeer(_free_port())
    controller = Controller(peer, hostname="127.0.0.1", port=peer.port)
    controller.start()
    monkeypatch.setattr(settings, "SMTP_URL", peer.url)
    try:
        yield peer
    finally:
        controller.stop()


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpPeer:
    base: str
    requests: list[Request] = field(default_factory=list)
    answers: list[tuple[int, Any]] = field(default_factory=list)  # queued; then 200 {}


@pytest.fixture
def http_peer() -> Iterator[HttpPeer]:
    """A provider on 127.0.0.1: the channels may reach it (``NOTIFY_ALLOW_PRIVATE``)."""
    from server.config import get_settings

    settings = get_settings()
    saved, settings.NOTIFY_ALLOW_PRIVATE = settings.NOTIFY_ALLOW_PRIVATE, True
    peer = HttpPeer("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            peer.requests.append(Request(self.path, dict(self.headers), json.loads(raw or b"{}")))
            status, answer = peer.answers.pop(0) if peer.answers else (200, {})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        settings.NOTIFY_ALLOW_PRIVATE = saved
        server.shutdown()
        server.server_close()


@pytest.fixture
async def maker(
    connection: AsyncConnection, db: AsyncSession
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The worker's sessions, inside the test's transaction. What other tests committed
    and left undelivered (outbox events, messages) is put aside first, in this transaction
    only, so the delivery and sending jobs (which serve every organisation) see this
    test's events and messages alone."""
    await db.execute(
        text("UPDATE outbox_events SET delivered_at = now() WHERE delivered_at IS NULL")
    )
    await db.execute(
        text(
            "UPDATE notifications SET status = 'sent'"
            " WHERE status IN ('pending', 'deferred', 'sending')"
        )
    )
    await db.flush()
    yield async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
