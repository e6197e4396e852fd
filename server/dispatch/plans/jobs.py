"""Day plans' worker jobs: ``dispatch.plan_day`` solves one queued plan; the sweep catches
plans the queue lost (solving.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.config import get_settings
from server.db import session_scope
from server.dispatch.plans import solving
from server.dispatch.travel import provider_from_settings
from server.jobs import job

PLAN_DAY = "dispatch.plan_day"


@job(PLAN_DAY)
async def plan_day(ctx: dict[str, Any], plan_id: str) -> str:
    settings = get_settings()
    travel = provider_from_settings(
        settings.ROUTING_URL,
        road_factor=settings.ROAD_FACTOR,
        speed_kmh=settings.AVERAGE_SPEED_KMH,
    )
    return await solving.solve_plan(ctx["sessionmaker"], plan_id, travel=travel)


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
