"""Solving a queued day plan (the worker's ``dispatch.plan_day``, never an API request).

``solve_plan(maker, plan_id)`` is idempotent (arq delivers at least once):
- a plan that does not exist is skipped (logged), whatever the id;
- a plan ready, failed, applied or superseded is left as it is; a plan *solving* was cut
  short (the worker died), so it is solved again;
- ``sweep`` (every minute) enqueues again a plan left queued for a minute (the queue lost
  it) and fails, saying why, one queued or solving for 15 minutes;
- otherwise: *solving* (committed, so a GET shows it), the snapshot read, the problem built
  (build.py), solved off the event loop (``asyncio.to_thread``) within the plan's seconds,
  checked by the independent checker, then *ready* with its result; any failure, or a
  plan the checker refuses, is *failed* with an error saying what to do. Nothing half
  solved is ever stored as ready.

Each step is its own transaction: the solve holds no database connection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import session_scope
from server.dispatch import snapshot, vrp
from server.dispatch.models import DayPlan, PlanStatus
from server.dispatch.plans.build import Built, build
from server.dispatch.plans.result import to_result
from server.dispatch.plans.stable import Stable, moved, solve_stable
from server.dispatch.travel import Cached, TravelProvider, TravelUnavailable
from server.engineers import shifts
from server.tickets import Ticket

log = logging.getLogger("fixflow.dispatch")
AGAIN = "create a new plan (POST /api/v1/dispatch/plans)"
# The queue may lose a job (Redis without persistence): a plan queued this long is
# enqueued again, and one queued or solving this long (a solve takes at most a minute) is
# failed, saying so.
REQUEUE_AFTER = dt.timedelta(minutes=1)
STUCK_AFTER = dt.timedelta(minutes=15)


async def _start(maker: async_sessionmaker[AsyncSession], plan_id: uuid.UUID) -> DayPlan | None:
    async with session_scope(maker) as session:
        plan = await session.scalar(select(DayPlan).where(DayPlan.id == plan_id).with_for_update())
        if plan is None or plan.status not in (PlanStatus.QUEUED, PlanStatus.SOLVING):
            return plan
        plan.status = PlanStatus.SOLVING.value
        plan.version += 1
        return plan


async def _finish(
    maker: async_sessionmaker[AsyncSession],
    plan_id: uuid.UUID,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    async with session_scope(maker) as session:
        plan = await session.scalar(select(DayPlan).where(DayPlan.id == plan_id).with_for_update())
        if plan is None or plan.status != PlanStatus.SOLVING:
            return
        plan.status = (PlanStatus.FAILED if error else PlanStatus.READY).value
        plan.result, plan.error = result, error
        plan.solved_at = dt.datetime.now(dt.UTC)
        plan.version += 1


async def _base(session: AsyncSession, plan: DayPlan) -> tuple[dict[str, str], frozenset[str]]:
    """The base plan's routed work orders -> engineer, and its unassigned ones."""
    if plan.base_plan_id is None:
        return {}, frozenset()
    base = await session.get(DayPlan, plan.base_plan_id)
    result = (base.result if base else None) or {}
    routed = {
        stop["ticket_id"]: route["engineer_id"]
        for route in result.get("routes", ())
        for stop in route["stops"]
    }
    return routed, frozenset(x["ticket_id"] for x in result.get("unassigned", ()))


async def _facts(
    session: AsyncSession, plan: DayPlan, travel: TravelProvider, now: dt.datetime
) -> tuple[Built, dict[str, int], dict[str, str], frozenset[str]]:
    tz = await snapshot.zone(session, plan.org_id)
    day = shifts.day_bounds(plan.plan_date, tz)
    days = await snapshot.engineer_days(
        session, plan.org_id, plan.plan_date, territory=plan.territory, tz=tz
    )
    jobs = await snapshot.open_jobs(
        session, plan.org_id, plan.plan_date, territory=plan.territory, tz=tz
    )
    base, known = await _base(session, plan)
    built = await build(days, jobs, day=day, now=now, travel=travel, name=f"plan {plan.id}")
    versions = {
        str(i): v
        for i, v in await session.execute(
            select(Ticket.id, Ticket.version).where(Ticket.id.in_([j.ticket_id for j in jobs]))
        )
    }
    return built, versions, base, known


def _solve(built: Built, base: dict[str, str], known: frozenset[str], seconds: float) -> Stable:
    if base:
        return solve_stable(built.problem, base, seconds=seconds, known=known)
    solution = vrp.solve(built.problem, seconds=seconds)
    return Stable(built.problem, solution, 1, 0)


async def solve_plan(
    maker: async_sessionmaker[AsyncSession],
    plan_id: str,
    *,
    travel: TravelProvider,
    now: dt.datetime | None = None,
) -> str:
    """Solve one plan; returns its status afterwards ("missing" for an unknown id)."""
    try:
        key = uuid.UUID(str(plan_id))
    except ValueError:
        log.warning("dispatch.plan_day: %r is not a plan id", plan_id)
        return "missing"
    plan = await _start(maker, key)
    if plan is None:
        log.warning("dispatch.plan_day: plan %s not found", key)
        return "missing"
    if plan.status != PlanStatus.SOLVING:
        return plan.status
    try:
        result = await _solved(maker, plan, Cached(travel), now or dt.datetime.now(dt.UTC))
    except vrp.NoFeasiblePlan as exc:
        await _finish(maker, key, error=f"no feasible plan: {exc}; {AGAIN} with more seconds")
        return PlanStatus.FAILED.value
    except TravelUnavailable as exc:
        error = f"travel times unavailable: {exc}; check FIXFLOW_ROUTING_URL, then {AGAIN}"
        await _finish(maker, key, error=error)
        return PlanStatus.FAILED.value
    except _Refused as exc:
        await _finish(maker, key, error=str(exc))
        return PlanStatus.FAILED.value
    except Exception as exc:
        log.exception("dispatch.plan_day: plan %s failed", key)
        await _finish(maker, key, error=f"the solve failed ({type(exc).__name__}); {AGAIN}")
        return PlanStatus.FAILED.value
    await _finish(maker, key, result=result)
    return PlanStatus.READY.value


class _Refused(Exception):
    """The independent checker refused the solver's plan."""


async def _solved(
    maker: async_sessionmaker[AsyncSession],
    plan: DayPlan,
    travel: TravelProvider,
    now: dt.datetime,
) -> dict[str, Any]:
    async with session_scope(maker) as session:
        built, versions, base, known = await _facts(session, plan, travel, now)
    started = time.perf_counter()
    stable = await asyncio.to_thread(_solve, built, base, known, float(plan.seconds))
    took = time.perf_counter() - started
    violations = vrp.check(stable.problem, stable.solution)
    if violations:
        shown = "; ".join(str(v) for v in violations[:5])
        raise _Refused(
            f"the solver's plan failed the feasibility check ({shown}); nothing was stored: "
            f"{AGAIN}, and report this if it happens again"
        )
    return to_result(
        built,
        stable.problem,
        stable.solution,
        versions=versions,
        snapshot_at=now.isoformat(),
        solve={
            "seconds_limit": plan.seconds,
            "seconds_taken": round(took, 3),
            "passes": stable.passes,
            "released": stable.released,
            "moved_from_base": moved(base, stable.solution) if base else [],
        },
    )


async def sweep(session: AsyncSession, *, now: dt.datetime) -> list[uuid.UUID]:
    """Fail the plans stuck for ``STUCK_AFTER``; return those queued for ``REQUEUE_AFTER``
    (to enqueue again: solving is idempotent)."""
    waiting = (PlanStatus.QUEUED.value, PlanStatus.SOLVING.value)
    stuck = await session.scalars(
        select(DayPlan)
        .where(DayPlan.status.in_(waiting), DayPlan.created_at < now - STUCK_AFTER)
        .with_for_update(skip_locked=True)
    )
    for plan in stuck:
        was = plan.status
        plan.status, plan.solved_at = PlanStatus.FAILED.value, now
        plan.error = (
            f"still {was} after {STUCK_AFTER.seconds // 60} minutes: check that the worker "
            f"runs (fixflow worker), then {AGAIN}"
        )
        plan.version += 1
    queued = await session.scalars(
        select(DayPlan.id).where(
            DayPlan.status == PlanStatus.QUEUED.value, DayPlan.created_at < now - REQUEUE_AFTER
        )
    )
    return list(queued)
