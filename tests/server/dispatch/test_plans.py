"""Day plans through the real app: ask, solve (the worker's job), read, compare, apply;
every stored plan re-checked by the independent checker."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.dispatch import vrp
from server.dispatch.models import DayPlan
from server.dispatch.plans import solving
from server.dispatch.plans.result import checked_model
from server.dispatch.travel import TravelUnavailable
from server.events.models import OutboxEvent
from server.sync.models import SyncChange
from server.tickets.models import Ticket, TicketEvent
from tests.fixtures.day_plans import (
    EVERY_DAY,
    at,
    field_engineer,
    ids,
    job_at,
    run_plan,
    territory_site,
    tomorrow,
)
from tests.fixtures.factories import Tenant, make_tenant

PLANS = "/api/v1/dispatch/plans"


async def _ask(client: httpx.AsyncClient, t: Tenant, **body: Any) -> dict[str, Any]:
    body = {"date": tomorrow().isoformat(), "seconds": 1, **body}
    r = await client.post(PLANS, json=body, headers=t.headers("dispatcher"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "queued"
    return dict(r.json())


async def _solved(app: Any, client: httpx.AsyncClient, t: Tenant, **body: Any) -> dict[str, Any]:
    plan = await _ask(client, t, **body)
    assert await run_plan(app.state.sessionmaker, plan["id"]) == "ready"
    r = await client.get(f"{PLANS}/{plan['id']}", headers=t.headers("dispatcher"))
    assert r.status_code == 200, r.text
    out = dict(r.json())
    assert "model" not in out["result"]  # the solver's problem stays in the row
    stored = await _stored(app, plan["id"])
    problem, solution = checked_model(stored)
    assert vrp.check(problem, solution) == []  # every stored plan, checked again
    return out


async def _stored(app: Any, plan_id: str) -> dict[str, Any]:
    async with app.state.sessionmaker() as session:
        result = await session.scalar(
            select(DayPlan.result).where(DayPlan.id == uuid.UUID(plan_id))
        )
    assert result is not None
    return dict(result)


@pytest.fixture
async def tenant(db: AsyncSession) -> Tenant:
    t = await make_tenant(db, "Plans")
    for engineer in t.engineers:  # the tenant's default engineers work no shift
        engineer.active = False
    await db.flush()
    return t


async def test_a_plan_is_queued_solved_and_applied(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    day = tomorrow()
    north = await field_engineer(db, tenant, home_lat=31.30, home_lon=121.45)
    south = await field_engineer(db, tenant, home_lat=31.10, home_lon=121.45)
    tickets = [
        await job_at(db, tenant, 31.30 + i * 0.01, 121.46, priority="P2", estimated_minutes=60)
        for i in range(3)
    ] + [
        await job_at(db, tenant, 31.10 - i * 0.01, 121.46, priority="P3", estimated_minutes=45)
        for i in range(3)
    ]
    plan = await _solved(app, client, tenant)
    result = plan["result"]
    assert plan["status"] == "ready" and plan["version"] == 3  # queued, solving, ready
    routes = {r["engineer_id"]: r for r in result["routes"]}
    assert ids(routes[str(north.id)]["stops"]) == {t.id for t in tickets[:3]}
    assert ids(routes[str(south.id)]["stops"]) == {t.id for t in tickets[3:]}
    first = routes[str(north.id)]["stops"][0]
    assert first["start"] >= at(day, "08:00").isoformat() and first["travel_seconds"] > 0
    assert result["unassigned"] == [] and result["engineers_skipped"] == []
    assert result["objective"]["assigned_jobs"] == 6

    compare = (
        await client.get(f"{PLANS}/{plan['id']}/compare", headers=tenant.headers("dispatcher"))
    ).json()
    assert compare["counts"]["newly_assigned"] == 6 and compare["stale"] is False

    older = await _solved(app, client, tenant)  # a second ready plan, superseded below
    r = await client.post(
        f"{PLANS}/{plan['id']}/apply",
        headers={**tenant.headers("dispatcher"), "If-Match": f'"v{plan["version"]}"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "applied"
    for ticket in tickets:
        row = await db.scalar(
            select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
        )
        assert row is not None and row.status == "assigned"
        mine = routes[str(row.assignee_id)]
        stop = next(s for s in mine["stops"] if s["ticket_id"] == str(row.id))
        assert row.planned_start is not None and row.planned_start.isoformat() == stop["start"]
        assert (row.plan_position, row.planned_travel_seconds) == (
            stop["position"],
            stop["travel_seconds"],
        )
    planned_events = await db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id.in_([t.id for t in tickets]), TicketEvent.kind == "planned")
    )
    outbox = await db.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .where(
            OutboxEvent.aggregate_id.in_([t.id for t in tickets]),
            OutboxEvent.topic == "ticket.planned",
        )
    )
    feed = await db.scalar(
        select(func.count())
        .select_from(SyncChange)
        .where(
            SyncChange.entity_id.in_([str(t.id) for t in tickets]),
            SyncChange.scope.in_([f"engineer:{north.id}", f"engineer:{south.id}"]),
        )
    )
    assert (planned_events, outbox) == (6, 6)
    assert feed and feed >= 6  # the phones see their new work orders and slots
    other = await db.scalar(
        select(DayPlan.status)
        .where(DayPlan.id == uuid.UUID(older["id"]))
        .execution_options(populate_existing=True)
    )
    assert other == "superseded"
    again = await client.post(
        f"{PLANS}/{plan['id']}/apply",
        headers={**tenant.headers("dispatcher"), "If-Match": r.headers["ETag"]},
    )
    assert again.status_code == 409 and again.json()["code"] == "plan_not_ready"


async def test_a_plan_on_a_stale_snapshot_is_refused(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    await field_engineer(db, tenant)
    ticket = await job_at(db, tenant, 31.21, 121.46)
    plan = await _solved(app, client, tenant)
    read = await client.get(f"/api/v1/tickets/{ticket.id}", headers=tenant.headers("dispatcher"))
    r = await client.patch(
        f"/api/v1/tickets/{ticket.id}",
        json={"title": "Compressor noise, louder"},
        headers={**tenant.headers("dispatcher"), "If-Match": read.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{PLANS}/{plan['id']}/apply",
        headers={**tenant.headers("dispatcher"), "If-Match": f'"v{plan["version"]}"'},
    )
    assert r.status_code == 409 and r.json()["code"] == "plan_stale", r.text
    assert "plan again" in r.json()["detail"]
    assert r.json()["changed"] == [f"WO-{ticket.number:06d}"]
    row = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert row is not None and row.assignee_id is None and row.planned_start is None


async def test_pinned_and_accepted_work_orders_stay_with_their_engineer(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    far = await field_engineer(db, tenant, home_lat=31.40, home_lon=121.45)
    near = await field_engineer(db, tenant, home_lat=31.10, home_lon=121.45)
    day = tomorrow()
    # Assigned work orders join a day's plan by their window (or planned slot) on it.
    window = {"window_start": at(day, "08:00"), "window_end": at(day, "17:00")}
    # All three beside the near engineer's home, all assigned to the far one.
    pinned = await job_at(db, tenant, 31.10, 121.46, assign_to=far, **window)
    accepted = await job_at(db, tenant, 31.11, 121.46, assign_to=far, **window)
    loose = await job_at(db, tenant, 31.10, 121.44, assign_to=far, **window)
    pinned.pinned = True
    accepted.status = "accepted"
    await db.flush()
    plan = await _solved(app, client, tenant)
    routes = {r["engineer_id"]: ids(r["stops"]) for r in plan["result"]["routes"]}
    assert {pinned.id, accepted.id} <= routes[str(far.id)]
    assert loose.id in routes[str(near.id)]  # free to move to the nearer engineer
    before = pinned.version
    r = await client.post(
        f"{PLANS}/{plan['id']}/apply",
        headers={**tenant.headers("dispatcher"), "If-Match": f'"v{plan["version"]}"'},
    )
    assert r.status_code == 200, r.text
    rows = {
        t.id: t
        for t in await db.scalars(
            select(Ticket)
            .where(Ticket.id.in_([pinned.id, accepted.id, loose.id]))
            .execution_options(populate_existing=True)
        )
    }
    assert rows[pinned.id].version == before and rows[pinned.id].planned_start is None
    assert rows[accepted.id].assignee_id == far.id and rows[accepted.id].planned_start
    assert rows[loose.id].assignee_id == near.id


async def test_a_territory_without_engineers_gives_a_plan_with_every_job_unassigned(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    north = await territory_site(db, tenant, "North")
    await field_engineer(db, tenant, territory="South")
    jobs = [await job_at(db, tenant, 31.2, 121.4, service_site=north) for _ in range(3)]
    plan = await _solved(app, client, tenant, territory="North")
    result = plan["result"]
    assert result["routes"] == []
    assert ids(result["unassigned"]) == {j.id for j in jobs}
    assert {x["reason"] for x in result["unassigned"]} == {"no_engineer"}


async def test_bad_jobs_and_engineers_are_reported_not_solved(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    day = tomorrow()
    await field_engineer(db, tenant)
    homeless = await field_engineer(db, tenant, home_lat=None, home_lon=None)
    idle = await field_engineer(db, tenant, working_hours={})
    late = await job_at(
        db,
        tenant,
        31.2,
        121.46,
        window_start=at(day, "07:00"),
        window_end=at(day, "07:30"),  # before every shift
    )
    far = await job_at(
        db,
        tenant,
        35.0,
        121.46,  # 400 km away: no engineer gets there inside its window
        window_start=at(day, "08:00"),
        window_end=at(day, "09:00"),
    )
    nowhere = await job_at(db, tenant, None, None)
    expert = await job_at(db, tenant, 31.2, 121.47, required_skills=["welding"])
    gone = await job_at(db, tenant, 31.2, 121.47)
    gone.window_start, gone.window_end = at(day, "09:00"), at(day, "08:30")  # stored as is
    await db.flush()
    plan = await _solved(app, client, tenant)
    reasons = {x["ticket_id"]: x["reason"] for x in plan["result"]["unassigned"]}
    assert reasons == {
        str(late.id): "impossible_window",
        str(far.id): "unreachable_window",
        str(nowhere.id): "job_no_location",
        str(expert.id): "no_engineer_with_skills",
        str(gone.id): "impossible_window",
    }
    skipped = {x["engineer_id"]: x["reason"] for x in plan["result"]["engineers_skipped"]}
    assert skipped == {str(homeless.id): "no_location", str(idle.id): "off_shift"}
    # The reasons' words in the reader's language: English by default, Chinese when asked.
    words = {x["ticket_id"]: x["detail"] for x in plan["result"]["unassigned"]}
    assert words[str(nowhere.id)] == "The work order has no location"
    r = await client.get(
        f"{PLANS}/{plan['id']}", params={"lang": "zh_CN"}, headers=tenant.headers("dispatcher")
    )
    chinese = {x["ticket_id"]: x["detail"] for x in r.json()["result"]["unassigned"]}
    assert chinese[str(nowhere.id)] == "工单没有地址坐标"
    assert all(x["detail"] and "{" not in x["detail"] for x in r.json()["result"]["unassigned"])
    listed = await client.get(PLANS, params={"lang": "zh_CN"}, headers=tenant.headers("dispatcher"))
    (item,) = [p for p in listed.json()["items"] if p["id"] == plan["id"]]
    assert item["result"]["unassigned"] == r.json()["result"]["unassigned"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "0001-01-01"}, "date"),
        ({"date": "9999-12-31"}, "date"),
        ({"seconds": 0}, "seconds"),
        ({"seconds": 61}, "seconds"),
        ({"territory": ""}, "territory"),
        ({"date": (tomorrow() + dt.timedelta(days=400)).isoformat()}, "plan a date from"),
        ({"date": (tomorrow() - dt.timedelta(days=5)).isoformat()}, "plan a date from"),
    ],
)
async def test_bad_requests_are_422_naming_what_to_fix(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    r = await client.post(
        PLANS, json={"date": tomorrow().isoformat(), **body}, headers=tenant.headers("dispatcher")
    )
    assert r.status_code == 422, r.text
    assert field in r.text
    count = await db.scalar(
        select(func.count()).select_from(DayPlan).where(DayPlan.org_id == tenant.org.id)
    )
    assert count == 0


async def test_the_job_given_a_missing_plan_does_nothing(
    app: Any, client: httpx.AsyncClient
) -> None:
    assert await run_plan(app.state.sessionmaker, str(uuid.uuid4())) == "missing"
    assert await run_plan(app.state.sessionmaker, "not-a-uuid") == "missing"


async def test_a_solved_plan_is_not_solved_again(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    await field_engineer(db, tenant)
    await job_at(db, tenant, 31.21, 121.46)
    plan = await _solved(app, client, tenant)
    assert await run_plan(app.state.sessionmaker, plan["id"]) == "ready"
    r = await client.get(f"{PLANS}/{plan['id']}", headers=tenant.headers("dispatcher"))
    assert r.json()["version"] == plan["version"] and r.json()["solved_at"] == plan["solved_at"]


async def test_engineers_cannot_plan_and_other_tenants_do_not_see_plans(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    plan = await _ask(client, tenant)
    other = await make_tenant(db, "Other")
    as_engineer = tenant.headers("engineer1")
    assert (
        await client.post(PLANS, json={"date": tomorrow().isoformat()}, headers=as_engineer)
    ).status_code == 403
    assert (await client.get(f"{PLANS}/{plan['id']}", headers=as_engineer)).status_code == 403
    assert (await client.get(PLANS, headers=as_engineer)).status_code == 403
    assert (
        await client.get(f"{PLANS}/{plan['id']}", headers=other.headers("dispatcher"))
    ).status_code == 404
    r = await client.post(
        f"{PLANS}/{plan['id']}/apply", headers={**other.headers("dispatcher"), "If-Match": '"v1"'}
    )
    assert r.status_code == 404
    listed = (await client.get(PLANS, headers=other.headers("dispatcher"))).json()["items"]
    assert listed == []
    mine = (await client.get(PLANS, headers=tenant.headers("dispatcher"))).json()["items"]
    assert [p["id"] for p in mine] == [plan["id"]]


async def test_a_re_plan_after_an_urgent_job_keeps_the_applied_plan_in_place(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    homes = [(31.30, 121.40), (31.10, 121.40), (31.20, 121.60)]
    engineers = [await field_engineer(db, tenant, home_lat=a, home_lon=b) for a, b in homes]
    for i in range(12):
        lat, lon = homes[i % 3]
        await job_at(db, tenant, lat + 0.01 * (i // 3), lon + 0.01, estimated_minutes=90)
    base = await _solved(app, client, tenant)
    r = await client.post(
        f"{PLANS}/{base['id']}/apply",
        headers={**tenant.headers("dispatcher"), "If-Match": f'"v{base["version"]}"'},
    )
    assert r.status_code == 200, r.text
    urgent = await job_at(db, tenant, 31.21, 121.50, priority="P1", estimated_minutes=60)
    again = await _solved(app, client, tenant, base_plan_id=base["id"])
    result = again["result"]
    routed = {s["ticket_id"]: r["engineer_id"] for r in result["routes"] for s in r["stops"]}
    before = {
        s["ticket_id"]: r["engineer_id"] for r in base["result"]["routes"] for s in r["stops"]
    }
    assert str(urgent.id) in routed
    moved = [t for t, e in before.items() if routed.get(t) not in (None, e)]
    assert moved == result["solve"]["moved_from_base"]
    assert len(moved) <= 0.10 * len(before)
    assert {str(e.id) for e in engineers} >= set(routed.values())


async def test_a_re_plan_needs_an_applied_base_of_the_same_day(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    queued = await _ask(client, tenant)
    for base_plan_id in (queued["id"], str(uuid.uuid4())):
        r = await client.post(
            PLANS,
            json={"date": tomorrow().isoformat(), "base_plan_id": base_plan_id},
            headers=tenant.headers("dispatcher"),
        )
        assert r.status_code == 422 and r.json()["field"] == "base_plan_id", r.text


async def test_the_sweep_requeues_lost_plans_and_fails_stuck_ones(
    db: AsyncSession, tenant: Tenant
) -> None:
    now = dt.datetime.now(dt.UTC)

    def plan(status: str, minutes: int) -> DayPlan:
        row = DayPlan(
            org_id=tenant.org.id,
            plan_date=tomorrow(),
            status=status,
            seconds=1,
            requested_by="test",
            created_at=now - dt.timedelta(minutes=minutes),
        )
        db.add(row)
        return row

    fresh, lost = plan("queued", 0), plan("queued", 2)
    stuck, crashed, done = plan("queued", 20), plan("solving", 20), plan("ready", 20)
    await db.flush()
    again = await solving.sweep(db, now=now)
    assert again == [lost.id]
    assert (fresh.status, lost.status, done.status) == ("queued", "queued", "ready")
    for row in (stuck, crashed):
        assert row.status == "failed" and row.error is not None
        assert "check that the worker runs" in row.error


class _RoutingDown:
    """The routing server's fake (it is the one part we cannot reach here)."""

    async def matrix(self, points: Any) -> Any:
        raise TravelUnavailable("OSRM at http://osrm.test:5000: connection refused")


async def test_a_routing_failure_fails_the_plan_saying_what_to_do(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    await field_engineer(db, tenant)
    await job_at(db, tenant, 31.21, 121.46)
    plan = await _ask(client, tenant)
    status = await solving.solve_plan(app.state.sessionmaker, plan["id"], travel=_RoutingDown())
    assert status == "failed"
    read = (await client.get(f"{PLANS}/{plan['id']}", headers=tenant.headers("dispatcher"))).json()
    assert read["status"] == "failed" and read["result"] is None
    assert "FIXFLOW_ROUTING_URL" in read["error"] and "POST /api/v1/dispatch/plans" in read["error"]


async def test_a_plan_the_checker_refuses_is_never_stored_ready(
    app: Any,
    client: httpx.AsyncClient,
    db: AsyncSession,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await field_engineer(db, tenant)
    await job_at(db, tenant, 31.21, 121.46)
    real = vrp.solve

    def late(problem: vrp.Problem, *, seconds: float, seed: int = 0) -> vrp.Solution:
        """The real plan with every stop an hour late for its own end: a solver bug."""
        found = real(problem, seconds=seconds, seed=seed)
        routes = tuple(
            vrp.Route(
                r.vehicle,
                r.departure,
                tuple(vrp.Stop(s.job, s.arrival, s.start, s.end + 3600) for s in r.stops),
                r.back,
            )
            for r in found.routes
        )
        return vrp.Solution(routes, found.unassigned, found.objective)

    monkeypatch.setattr(vrp, "solve", late)
    plan = await _ask(client, tenant)
    assert await run_plan(app.state.sessionmaker, plan["id"]) == "failed"
    read = (await client.get(f"{PLANS}/{plan['id']}", headers=tenant.headers("dispatcher"))).json()
    assert read["status"] == "failed" and read["result"] is None
    assert "feasibility check" in read["error"] and "end is not start + service" in read["error"]


async def test_the_solve_leaves_the_worker_loop_responsive(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    """The solver runs off the event loop: the worker keeps serving other jobs meanwhile."""
    await field_engineer(db, tenant)
    for i in range(4):
        await job_at(db, tenant, 31.20 + i * 0.01, 121.46)
    plan = await _ask(client, tenant)
    lags: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - started - 0.01)

    ticker = asyncio.create_task(tick())
    assert await run_plan(app.state.sessionmaker, plan["id"]) == "ready"
    done.set()
    await ticker
    assert len(lags) > 20 and max(lags) < 0.5, (len(lags), max(lags))


async def test_planning_today_starts_from_now(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    now = dt.datetime.now(dt.UTC)
    around_the_clock = {d: [["00:00", "24:00"]] for d in EVERY_DAY}
    await field_engineer(db, tenant, working_hours=around_the_clock)
    open_job = await job_at(db, tenant, 31.21, 121.46)
    missed = await job_at(db, tenant, 31.21, 121.47)
    missed.window_start = now - dt.timedelta(hours=2)
    missed.window_end = now - dt.timedelta(minutes=1)  # stored as is (created earlier)
    await db.flush()
    if (now + dt.timedelta(hours=2)).date() != now.date():
        pytest.skip("too close to midnight UTC for a job to fit today")
    plan = await _solved(app, client, tenant, date=now.date().isoformat())
    (route,) = plan["result"]["routes"]
    assert [s["ticket_id"] for s in route["stops"]] == [str(open_job.id)]
    assert dt.datetime.fromisoformat(route["departure"]) >= now - dt.timedelta(seconds=1)
    reasons = {x["ticket_id"]: x["reason"] for x in plan["result"]["unassigned"]}
    assert reasons == {str(missed.id): "impossible_window"}
