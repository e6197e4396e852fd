"""The outbox's job: deliver pending events to their subscribers."""

from __future__ import annotations

from typing import Any

from server.db import pop_jobs, session_scope
from server.events import service as events
from server.jobs import job


@job("events.deliver_outbox", cron={"second": set(range(0, 60, 5))}, keep_result=0)
async def deliver_outbox(ctx: dict[str, Any]) -> int:
    total = 0
    for _ in range(50):  # bounded: a huge backlog is finished by the next runs
        async with session_scope(ctx["sessionmaker"]) as session:
            delivered, failed = await events.deliver_pending(session)
        # What the subscribers asked to run after this commit (the notifications' and the
        # webhooks' senders); not this job's own nudge: it is running.
        for name, kwargs in pop_jobs(session):
            if ctx.get("redis") is not None and kwargs.get("_job_id") != events.DELIVERY_JOB_ID:
                await ctx["redis"].enqueue_job(name, **kwargs)
        total += delivered
        if delivered + failed == 0:
            break
    return total


JOBS = (deliver_outbox,)
