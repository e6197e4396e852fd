"""The webhook sender: claims due deliveries (committed lease), POSTs them at once, then
records each outcome (docs/webhooks.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import session_scope
from server.jobs import job
from server.webhooks import delivery, sender

RUN_SECONDS = 120


async def _attempt(maker: async_sessionmaker[AsyncSession], send: delivery.Send) -> bool:
    started = dt.datetime.now(dt.UTC)
    outcome = await sender.post(send.url, send.body, delivery.headers_for(send, int(time.time())))
    async with session_scope(maker) as session:
        await delivery.record(session, send, outcome, started=started)
    return outcome.ok


async def send_due(
    maker: async_sessionmaker[AsyncSession],
    *,
    batches: int = 20,
    lease_seconds: float = delivery.LEASE_SECONDS,
) -> int:
    """Send what is due, batch by batch, for at most ``RUN_SECONDS`` (well inside arq's job
    timeout; the next run goes on); returns how many were delivered."""
    delivered = 0
    stop = time.monotonic() + RUN_SECONDS
    for _ in range(batches):
        if time.monotonic() > stop:
            break
        async with session_scope(maker) as session:
            sends = await delivery.claim(session, lease_seconds=lease_seconds)
        if not sends:
            break
        results = await asyncio.gather(*(_attempt(maker, s) for s in sends))
        delivered += sum(results)
    return delivered


@job(delivery.SEND_JOB, cron={"second": set(range(2, 60, 5))}, keep_result=0)
async def send(ctx: dict[str, Any]) -> int:
    return await send_due(ctx["sessionmaker"])


JOBS = (send,)
