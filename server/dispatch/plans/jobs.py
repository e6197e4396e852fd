"""Day plans' worker job: ``dispatch.plan_day`` solves one queued plan (solving.py)."""

from __future__ import annotations

from typing import Any

from server.config import get_settings
from server.dispatch.plans.solving import solve_plan
from server.dispatch.travel import provider_from_settings
from server.jobs import job


@job("dispatch.plan_day")
async def plan_day(ctx: dict[str, Any], plan_id: str) -> str:
    travel = provider_from_settings(get_settings().ROUTING_URL)
    return await solve_plan(ctx["sessionmaker"], plan_id, travel=travel)


JOBS = (plan_day,)
