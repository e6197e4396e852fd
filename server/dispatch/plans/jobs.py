"""Day plans' worker jobs: ``dispatch.plan_day`` solves one queued plan; the sweep catches
plans the queue lost (solving.py).

A worker process solves at most ``FIXFLOW_PLAN_SOLVERS`` plans at once: a plan that finds
them all busy is put back on the queue (``Later``) instead of waiting in a worker slot, so
many plans at once never keep the worker from its other jobs (auto-assign, the outbox, the
SLA sweep), and the solves never fight over the CPU. A plan keeps asking until
``solving.STUCK_AFTER`` has passed (the sweep fails it then, saying so)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.config import get_settings
from server.db import session_scope
from server.dispatch.plans import solving
from server.dispatch.travel import provider_from_settings
from server.jobs import Later, job

PLAN_DAY = "dispatch.plan_day"
# All solvers busy: ask again this much later (a try each time, enough of them to outlast
# STUCK_AFTER).
WAIT_SECONDS = 5
MAX_TRIES = int(solving.STUCK_AFTER.total_seconds() // WAIT_SECONDS) + 10


class Solvers:
    """The solves this process runs now. A plain counter, not a semaphore: the job never
    waits for a place, it leaves the queue to call it again (no await between the test
    and the increment, so two jobs of one event loop cannot both take the last place)."""

    def __init__(self) -> None:
        self.busy = 0

    def take(self, limit: int) -> bool:
        if self.busy >= limit:
            return False
        self.busy += 1
        return True

    def give(self) -> None:
        self.busy -= 1


SOLVERS = Solvers()


@job(PLAN_DAY, max_tries=MAX_TRIES)
async def plan_day(ctx: dict[str, Any], plan_id: str) -> str:
    settings = get_settings()
    if not SOLVERS.take(settings.PLAN_SOLVERS):
        raise Later(WAIT_SECONDS)
    try:
        travel = provider_from_settings(
            settings.ROUTING_URL,
            road_factor=settings.ROAD_FACTOR,
            speed_kmh=settings.AVERAGE_SPEED_KMH,
        )
        return await solving.solve_plan(ctx["sessionmaker"], plan_id, travel=travel)
    finally:
        SOLVERS.give()


@job("dispatch.sweep_plans", cron={"second": {30}})
async def sweep_plans(ctx: dict[str, Any]) -> int:
    async with session_scope(ctx["sessionmaker"]) as session:
        again = await solving.sweep(session, now=dt.datetime.now(dt.UTC))
    for plan_id in again:
        # One job id per plan: sweeps on several workers enqueue it once.
        await ctx["redis"].enqueue_job(
            PLAN_DAY, plan_id=str(plan_id), _job_id=f"{PLAN_DAY}:{plan_id}"
        )
    return len(again)


JOBS = (plan_day, sweep_plans)
