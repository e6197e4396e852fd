"""Job sending through the real arq pool and Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from server.queue import JobSender


async def _queued(app: Any, job_id: str) -> bool:
    return bool(await app.state.redis.exists(f"arq:job:{job_id}"))


async def test_nudges_are_sent_once_shortly_after_the_last_request(app: Any) -> None:
    sender = JobSender(app.state.arq, coalesce_seconds=0.05)
    job_id = f"nudge-{uuid.uuid4().hex}"
    for _ in range(100):
        await sender.send([("events.deliver_outbox", {"_job_id": job_id})])
    assert not await _queued(app, job_id)  # coalesced: nothing sent yet
    await asyncio.sleep(0.2)
    assert await _queued(app, job_id)
    assert sender._pending == {}


async def test_ordinary_jobs_go_at_once_and_drain_flushes_pending_nudges(app: Any) -> None:
    sender = JobSender(app.state.arq, coalesce_seconds=30)
    nudge = f"nudge-{uuid.uuid4().hex}"
    before = await app.state.redis.zcard("arq:queue")
    await sender.send(
        [
            ("tickets.sweep_sla", {"_defer_by": 60}),
            ("events.deliver_outbox", {"_job_id": nudge}),
        ]
    )
    assert await app.state.redis.zcard("arq:queue") == before + 1  # the ordinary job
    assert not await _queued(app, nudge)
    await sender.drain()
    assert await _queued(app, nudge)
