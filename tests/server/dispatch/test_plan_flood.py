"""Many plans at once: a client asking in a loop gets 429 once its organisation has
``MAX_IN_FLIGHT`` plans queued or solving, and the worker never solves more than
``FIXFLOW_PLAN_SOLVERS`` at once: a plan that finds them busy goes back to the queue
instead of holding a worker slot that auto-assign and the outbox need."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import get_settings
from server.dispatch.plans import jobs, solving
from server.dispatch.plans.service import MAX_IN_FLIGHT
from tests.fixtures.day_plans import run_plan, tomorrow
from tests.fixtures.factories import Tenant, make_tenant

PLANS = "/api/v1/dispatch/plans"


async def _ask(client: httpx.AsyncClient, t: Tenant) -> httpx.Response:
    body = {"date": tomorrow().isoformat(), "seconds": 60}
    return await client.post(PLANS, json=body, headers=t.headers("dispatcher"))


async def test_an_organisation_has_at_most_max_in_flight_plans_queued_or_solving(
    app: Any, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "Flood")
    other = await make_tenant(db, "Calm")
    queued = []
    for _ in range(MAX_IN_FLIGHT):
        r = await _ask(client, t)
        assert r.status_code == 201, r.text
        queued.append(r.json()["id"])

    r = await _ask(client, t)
    assert r.status_code == 429, r.text
    problem = r.json()
    assert problem["code"] == "rate_limited"
    assert problem["in_flight"] == MAX_IN_FLIGHT and problem["limit"] == MAX_IN_FLIGHT
    assert "wait until one is ready or failed" in problem["detail"]
    assert int(r.headers["Retry-After"]) > 0
    listed = await client.get(PLANS, headers=t.headers("dispatcher"))
    assert len(listed.json()["items"]) == MAX_IN_FLIGHT  # nothing half-written

    assert (await _ask(client, other)).status_code == 201  # another organisation: its own

    assert await run_plan(app.state.sessionmaker, queued[0]) == "ready"
    assert (await _ask(client, t)).status_code == 201  # one done: room for one more


async def test_a_plan_that_finds_every_solver_busy_goes_back_to_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    solved: list[str] = []

    async def solve(maker: Any, plan_id: str, **_: Any) -> str:
        solved.append(plan_id)
        return "ready"

    class Redis:
        async def hincrby(self, *_: Any) -> None:
            return None

    monkeypatch.setattr(solving, "solve_plan", solve)
    monkeypatch.setattr(jobs, "SOLVERS", jobs.Solvers())
    limit = get_settings().PLAN_SOLVERS
    ctx = {"sessionmaker": None, "redis": Redis()}
    jobs.SOLVERS.busy = limit  # every solver at work
    with pytest.raises(Retry) as retry:
        await jobs.plan_day(ctx, "p1")
    assert retry.value.defer_score == jobs.WAIT_SECONDS * 1000 and solved == []
    assert jobs.MAX_TRIES * jobs.WAIT_SECONDS > solving.STUCK_AFTER.total_seconds()

    jobs.SOLVERS.busy = limit - 1  # one free: solved, and the place given back
    assert await jobs.plan_day(ctx, "p2") == "ready"
    assert solved == ["p2"] and jobs.SOLVERS.busy == limit - 1
