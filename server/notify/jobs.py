"""Notifications' job: send the delivery log's due messages (a cron every few seconds,
and a nudge after each outbox delivery that wrote messages)."""

from __future__ import annotations

from typing import Any

from server.jobs import job
from server.notify import sending


@job("notify.send_pending", cron={"second": set(range(0, 60, 5))}, keep_result=0)
async def send_pending(ctx: dict[str, Any]) -> int:
    total = 0
    for _ in range(20):  # bounded: a huge backlog is finished by the next runs
        sent = await sending.send_pending(ctx["sessionmaker"])
        total += sent
        if sent == 0:
            break
    return total


JOBS = (send_pending,)
