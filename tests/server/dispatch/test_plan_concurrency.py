"""Two plans of one day applied at once, in real concurrent transactions: one is applied,
the other is superseded and its apply refused (412: its version moved on), and neither
deadlocks (without the day's lock in one order, the two deadlock: 409 retryable)."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.auth.models import Role
from server.dispatch.models import DayPlan
from tests.fixtures.factories import headers_for, make_tenant, make_user
from tests.server.test_concurrency import _blocked_behind

PLANS = "/api/v1/dispatch/plans"


async def test_two_plans_of_one_day_applied_at_once_one_wins(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(committing_db, "Concurrent apply")
    second = await make_user(committing_db, t.org, Role.DISPATCHER)
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    result = {"routes": [], "unassigned": [], "versions": {}, "objective": {"travel_seconds": 0}}
    plans = [
        DayPlan(
            org_id=t.org.id,
            plan_date=day,
            status="ready",
            seconds=1,
            requested_by="test",
            result=result,
            version=3,
        )
        for _ in range(2)
    ]
    committing_db.add_all(plans)
    await committing_db.commit()
    first = min(plans, key=lambda p: p.id)
    async with engine.connect() as blocker:
        await blocker.execute(select(DayPlan.id).where(DayPlan.id == first.id).with_for_update())
        pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
        tasks = [
            asyncio.ensure_future(
                committing_client.post(
                    f"{PLANS}/{plan.id}/apply", headers={**headers, "If-Match": '"v3"'}
                )
            )
            for plan, headers in zip(
                plans, (t.headers("dispatcher"), headers_for(second)), strict=True
            )
        ]
        for _ in range(200):
            if await _blocked_behind(engine, pid) >= 2 or any(x.done() for x in tasks):
                break
            await asyncio.sleep(0.02)
        overlapped = await _blocked_behind(engine, pid) >= 2
        await blocker.rollback()
        responses = await asyncio.gather(*tasks)
    answers = sorted((r.status_code, r.json().get("code")) for r in responses)
    assert overlapped, answers
    # The loser's plan was superseded, which bumped its version: its If-Match is stale.
    assert answers == [(200, None), (412, "precondition_failed")], [r.text for r in responses]
    stored = (
        await committing_db.scalars(
            select(DayPlan.status)
            .where(DayPlan.id.in_([p.id for p in plans]))
            .execution_options(populate_existing=True)
        )
    ).all()
    assert sorted(stored) == ["applied", "superseded"]
