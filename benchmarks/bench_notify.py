"""Outbox to delivered: SLA-breach events through the notification pipeline to a local SMTP
peer, against the same messages sent by a minimal asyncio sender in the same run.

Pipeline, in process, with the worker's own code: ``events.deliver_pending`` (the outbox
handler writes the delivery log rows, ON CONFLICT DO NOTHING) and ``sending.send_pending``
(claim with SKIP LOCKED, commit ``sending``, SMTP 16 at a time, record ``sent``), side by
side as the worker runs its two jobs, until every message reached the aiosmtpd peer on
loopback. Baseline: ``aiosmtplib.send`` of the same number of messages, 16 at a time like
the sender, to the same peer (what any sender pays for SMTP itself). ``ratio`` = pipeline
seconds per message / baseline seconds per message: what the log, the exactly-once rules and the
retries' bookkeeping cost. The webhook half of issue 13's benchmark is the webhooks
domain's.

Also: the delivery lag (event written -> message received by the peer) p50/p99 at a steady
50 events per second for ``STEADY_SECONDS``, the pipeline polling every 50 ms when idle.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import asyncpg
from aiosmtpd.controller import Controller

from benchmarks.common import (
    Goal,
    free_port,
    fresh_database,
    latency_summary,
    plain_url,
    postgres_server,
    seed_tenant,
)

DESCRIPTION = "outbox -> delivery log -> SMTP peer, vs a minimal aiosmtplib sender"
EVENTS = 300
STEADY_RATE = 50  # events per second
STEADY_SECONDS = 10
GOAL = Goal(
    "pipeline seconds per message <= 3 x a minimal asyncio SMTP sender's, same peer", at_most=3
)


@dataclass
class Peer:
    received: dict[str, float] = field(default_factory=dict)  # subject -> when

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        text = envelope.content.decode(errors="replace")
        subject = next((ln[9:] for ln in text.splitlines() if ln.startswith("Subject: ")), "")
        self.received.setdefault(subject.strip(), time.perf_counter())
        return "250 OK"


async def _emit(conn: asyncpg.Connection, org_id: uuid.UUID, number: str) -> None:
    await conn.execute(
        "INSERT INTO outbox_events (id, org_id, topic, aggregate_id, payload, attempts) "
        "VALUES ($1, $2, 'ticket.sla_breached', $3, $4::jsonb, 0)",
        uuid.uuid4(),
        org_id,
        uuid.uuid4(),
        json.dumps({"number": number, "changes": {"sla_state": ["at_risk", "breached"]}}),
    )


async def _deliver(maker: Any) -> int:
    """One run of the worker's ``events.deliver_outbox`` batch; returns events delivered."""
    from server.db import session_scope
    from server.events import service as events

    async with session_scope(maker) as session:
        delivered, _ = await events.deliver_pending(session)
    return delivered


async def _pipeline(maker: Any, done: Callable[[], bool]) -> None:
    """The worker's two jobs, running side by side as arq runs them (each nudged by the
    other's work, here: polling every 10 ms when idle), until ``done()``."""
    from server.notify import sending

    async def deliverer() -> None:
        while not done():
            if await _deliver(maker) == 0:
                await asyncio.sleep(0.01)

    async def sender() -> None:
        while not done():
            if await sending.send_pending(maker, limit=200) == 0:
                await asyncio.sleep(0.01)

    await asyncio.gather(deliverer(), sender())


async def _throughput(conn: asyncpg.Connection, maker: Any, org_id: Any, peer: Peer) -> float:
    for i in range(EVENTS):
        await _emit(conn, org_id, f"T-{i}")
    started = time.perf_counter()
    await _pipeline(
        maker, lambda: sum(s.startswith("SLA breached: T-") for s in peer.received) >= EVENTS
    )
    return time.perf_counter() - started


async def _baseline(port: int) -> float:
    """The same number of messages, SEND_CONCURRENCY at once, as the pipeline sends them."""
    from server.notify.sending import SEND_CONCURRENCY

    async def one(i: int) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "a@b.test", "c@d.test", f"Baseline {i}"
        mail["Message-ID"] = f"<{uuid.uuid4()}@bench>"
        mail.set_content("SLA breached")
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=port)

    started = time.perf_counter()
    for first in range(0, EVENTS, SEND_CONCURRENCY):
        await asyncio.gather(*(one(i) for i in range(first, min(EVENTS, first + SEND_CONCURRENCY))))
    return time.perf_counter() - started


async def _steady(conn: asyncpg.Connection, maker: Any, org_id: Any, peer: Peer) -> list[float]:
    emitted: dict[str, float] = {}
    total = STEADY_RATE * STEADY_SECONDS

    async def emitter() -> None:
        start = time.perf_counter()
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / STEADY_RATE - time.perf_counter()))
            emitted[f"SLA breached: S-{i}"] = time.perf_counter()
            await _emit(conn, org_id, f"S-{i}")

    def finished() -> bool:
        return len(emitted) == total and all(s in peer.received for s in emitted)

    await asyncio.wait_for(
        asyncio.gather(emitter(), _pipeline(maker, finished)), timeout=STEADY_SECONDS * 10
    )
    return [peer.received[s] - t for s, t in emitted.items()]


def _settings(port: int, db_url: str) -> dict[str, str | None]:
    from server.config import get_settings

    wanted = {
        "FIXFLOW_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "FIXFLOW_NOTIFY_PER_HOUR": str(10**9),
        "FIXFLOW_DATABASE_URL": db_url,
    }
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    get_settings.cache_clear()
    return saved


def _restore(saved: dict[str, str | None]) -> None:
    from server.config import get_settings

    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


async def run() -> dict[str, Any]:
    from server import domains
    from server.db import make_engine, make_sessionmaker

    domains.install()
    peer, port = Peer(), free_port()
    controller = Controller(peer, hostname="127.0.0.1", port=port)
    controller.start()
    async with postgres_server() as pg:
        url = await fresh_database(pg.url, "fixflow_bench_notify")
        saved = _settings(port, url)
        conn = await asyncpg.connect(plain_url(url))
        engine = make_engine(url, pool_size=4, idle_in_transaction_ms=0)
        try:
            tenant = await seed_tenant(conn, slug="notify", customers=1, engineers=1)
            maker = make_sessionmaker(engine)
            pipeline = await _throughput(conn, maker, tenant.org_id, peer)
            baseline = await _baseline(port)
            lags = await _steady(conn, maker, tenant.org_id, peer)
            duplicates = await conn.fetchval(
                "SELECT count(*) - count(DISTINCT event_id) FROM notifications"
            )
        finally:
            await conn.close()
            await engine.dispose()
            _restore(saved)
            with suppress(Exception):
                controller.stop()
    ratio = (pipeline / EVENTS) / (baseline / EVENTS)
    return {
        "ratio": round(ratio, 2),
        "judged": round(ratio, 2),
        "checks_met": duplicates == 0,
        "events": EVENTS,
        "pipeline_events_per_s": round(EVENTS / pipeline, 1),
        "baseline_messages_per_s": round(EVENTS / baseline, 1),
        "steady_rate_per_s": STEADY_RATE,
        "lag": latency_summary(lags),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(),
    }
