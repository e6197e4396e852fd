"""The peers the notify benchmark delivers to, on loopback: an SMTP server (aiosmtpd, a
real SMTP implementation, in its own thread) and a minimal HTTP/1.1 receiver (asyncio
streams, keep-alive), each recording every message: when it arrived, its de-duplication key
(the e-mail's Message-ID, the webhook's ``webhook-id``), the event it carries and its bytes.
And the baseline: a minimal asyncio sender that sends those same bytes straight to them (no
database, no outbox, no worker) on persistent connections.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib
import httpx
from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"
# The headers a webhook is re-sent with by the baseline (as the worker sent them).
WEBHOOK_HEADERS = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "user-agent",
)


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes


@dataclass(frozen=True)
class Post:
    body: bytes
    headers: dict[str, str]


@dataclass
class Arrivals:
    """What a peer received, in order: (perf_counter time, key, event label) per message,
    and the message itself (for the baseline to send again). Thread-safe (aiosmtpd)."""

    times: list[float] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    first: dict[str, float] = field(default_factory=dict)  # label -> first arrival
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, label: str, message: Any) -> None:
        now = time.perf_counter()
        with self._lock:
            self.times.append(now)
            self.keys.append(key)
            self.labels.append(label)
            self.messages.append(message)
            self.first.setdefault(label, now)

    def clear(self) -> None:
        with self._lock:
            self.times.clear()
            self.keys.clear()
            self.labels.clear()
            self.messages.clear()
            self.first.clear()

    def count(self, prefix: str) -> int:
        """Events (labels) starting with ``prefix`` that arrived at least once."""
        return sum(label.startswith(prefix) for label in list(self.first))

    def audit(self, labels: list[str]) -> dict[str, int]:
        """Of the events ``labels``: how many arrived, how many messages came in all, how
        many were the same message again (same key), how many events came as more than one
        different message (a second message for one event: never expected)."""
        wanted = set(labels)
        keys_of: dict[str, set[str]] = {}
        messages = 0
        with self._lock:
            for key, label in zip(self.keys, self.labels, strict=True):
                if label in wanted:
                    messages += 1
                    keys_of.setdefault(label, set()).add(key)
        unique = sum(len(keys) for keys in keys_of.values())
        return {
            "events": len(wanted),
            "delivered": len(keys_of),
            "messages": messages,
            "same_message_again": messages - unique,
            "events_with_two_messages": sum(len(keys) > 1 for keys in keys_of.values()),
        }


class _SmtpHandler:
    def __init__(self, arrivals: Arrivals, label: re.Pattern[str]) -> None:
        self.arrivals = arrivals
        self.label = label

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        found = self.label.search(str(message.get("Subject") or ""))
        self.arrivals.add(
            str(message.get("Message-ID") or ""),
            found.group(1) if found else "",
            Mail(envelope.mail_from, list(envelope.rcpt_tos), raw),
        )
        return "250 OK"


class SmtpSink:
    """aiosmtpd on 127.0.0.1 (its own thread and loop); an e-mail's event label is the
    first group of ``label`` in its subject."""

    def __init__(self, port: int, label: str) -> None:
        self.arrivals = Arrivals()
        self.port = port
        self.controller = Controller(
            _SmtpHandler(self.arrivals, re.compile(label)), hostname=LOOPBACK, port=port
        )

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class HttpSink:
    """A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) answering 204; a
    webhook's key is its ``webhook-id``, its event label ``data[label_field]`` of the body."""

    def __init__(self, port: int, label_field: str = "number") -> None:
        self.arrivals = Arrivals()
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}/hooks"
        self.label_field = label_field
        self._server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> HttpSink:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _label(self, body: bytes) -> str:
        try:
            return str(json.loads(body)["data"][self.label_field])
        except (ValueError, KeyError, TypeError):
            return ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                kept = {k: headers[k] for k in WEBHOOK_HEADERS if k in headers}
                key = headers.get("webhook-id", "")
                self.arrivals.add(key, self._label(body), Post(body, kept))
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def _smtp_worker(queue: asyncio.Queue[Mail], port: int) -> None:
    """One persistent SMTP session sending from ``queue`` until it is empty."""
    smtp = aiosmtplib.SMTP(hostname=LOOPBACK, port=port, start_tls=False, use_tls=False)
    await smtp.connect()
    try:
        while not queue.empty():
            mail = queue.get_nowait()
            await smtp.sendmail(mail.mail_from, mail.rcpt_tos, mail.raw)
    finally:
        await smtp.quit()


async def _http_worker(queue: asyncio.Queue[Post], http: httpx.AsyncClient, url: str) -> None:
    while not queue.empty():
        post = queue.get_nowait()
        (await http.post(url, content=post.body, headers=post.headers)).raise_for_status()


async def send_directly(
    mails: list[Mail],
    posts: list[Post],
    *,
    smtp_port: int,
    http_url: str,
    smtp_concurrency: int,
    http_concurrency: int,
) -> float:
    """The baseline: ``mails`` over ``smtp_concurrency`` persistent SMTP sessions and, at
    the same time, ``posts`` by ``http_concurrency`` tasks over one keep-alive httpx pool;
    returns the seconds until the last was accepted."""
    mail_queue: asyncio.Queue[Mail] = asyncio.Queue()
    post_queue: asyncio.Queue[Post] = asyncio.Queue()
    for mail in mails:
        mail_queue.put_nowait(mail)
    for post in posts:
        post_queue.put_nowait(post)
    limits = httpx.Limits(
        max_connections=http_concurrency, max_keepalive_connections=http_concurrency
    )
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(
            *(_smtp_worker(mail_queue, smtp_port) for _ in range(smtp_concurrency)),
            *(_http_worker(post_queue, http, http_url) for _ in range(http_concurrency)),
        )
        return time.perf_counter() - started
