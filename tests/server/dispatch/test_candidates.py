"""GET /tickets/{id}/candidates and POST /tickets/{id}/auto-assign through the real app."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import select, update

from server.customers import ServiceSite
from server.engineers import Engineer, TimeOff
from server.tickets import Ticket, TicketEvent
from tests.fixtures.factories import (
    make_customer,
    make_engineer,
    make_tenant,
    make_ticket,
)

ALWAYS = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NOW = dt.datetime.now(dt.UTC)


async def _world(db: Any) -> dict[str, Any]:
    """One work order in Pudong needing hvac level 2, and engineers who can and cannot."""
    t = await make_tenant(db)
    customer, site, _ = await make_customer(db, t.org)  # site at 31.23, 121.47
    pudong = ServiceSite(
        org_id=t.org.id,
        name="Pudong",
        kind="depot",
        address="",
        lat=31.22,
        lon=121.54,
        territory="Pudong",
        version=1,
    )
    db.add(pudong)
    await db.flush()
    people: dict[str, Engineer] = {}
    for name, lat, skills, territory in (
        ("near", 31.24, {"hvac": 3}, "Pudong"),
        ("far", 31.60, {"hvac": 2}, "Pudong"),
        ("novice", 31.23, {"hvac": 1}, "Pudong"),
        ("electrician", 31.23, {"electrical": 5}, "Pudong"),
        ("west", 31.23, {"hvac": 5}, "Minhang"),
        ("on_leave", 31.23, {"hvac": 5}, "Pudong"),
        ("no_home", None, {"hvac": 5}, "Pudong"),
    ):
        _, engineer = await make_engineer(
            db,
            t.org,
            skills=skills,
            territory=territory,
            working_hours=ALWAYS,
            home_lat=lat,
            home_lon=121.47 if lat is not None else None,
        )
        await db.execute(
            update(Engineer).where(Engineer.id == engineer.id).values(display_name=name)
        )
        people[name] = engineer
    db.add(
        TimeOff(
            org_id=t.org.id,
            engineer_id=people["on_leave"].id,
            kind="leave",
            starts_at=NOW - dt.timedelta(days=1),
            ends_at=NOW + dt.timedelta(days=3),
        )
    )
    ticket = await make_ticket(
        db,
        t.actor("dispatcher"),
        customer,
        site,
        required_skills=["hvac:2"],
        priority="P1",
        estimated_minutes=60,
    )
    await db.execute(update(Ticket).where(Ticket.id == ticket.id).values(service_site_id=pudong.id))
    # The tenant's own two engineers have no shifts: off shift.
    await db.flush()
    return {"t": t, "ticket": ticket, "people": people, "customer": customer, "site": site}


def _codes(body: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["reason"]["code"] for f in body["filtered"]}


async def test_candidates_rank_the_able_and_say_why_the_others_cannot(
    client: httpx.AsyncClient, db: Any
) -> None:
    w = await _world(db)
    t, ticket = w["t"], w["ticket"]

    r = await client.get(f"/api/v1/tickets/{ticket.id}/candidates", headers=t.headers("dispatcher"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "now" and body["number"].startswith("WO-")
    names = [c["name"] for c in body["candidates"]]
    assert names == ["near", "far"], body
    best = body["candidates"][0]
    assert best["rank"] == 1 and best["load"] == {"jobs": 0, "work_seconds": 0}
    assert abs(sum(best["components"].values()) - best["score"]) < 0.01
    assert dt.datetime.fromisoformat(best["start"]) >= NOW - dt.timedelta(seconds=5)
    assert best["travel_added_seconds"] < body["candidates"][1]["travel_added_seconds"]
    assert {r["code"] for r in best["reasons"]} >= {"arrives", "load", "rating"}
    assert all(r["text"] for r in best["reasons"])
    codes = _codes(body)
    assert codes["novice"] == "skill_too_low"
    assert codes["electrician"] == "missing_skill"
    assert codes["west"] == "outside_territory"
    assert codes["on_leave"] == "off_shift"
    assert codes["no_home"] == "no_location"
    assert body["feasible"] == 2


async def test_reasons_in_chinese_and_a_declined_engineer_is_filtered(
    client: httpx.AsyncClient, db: Any
) -> None:
    from server.dispatch.models import Decline

    w = await _world(db)
    t, ticket = w["t"], w["ticket"]
    db.add(Decline(org_id=t.org.id, ticket_id=ticket.id, engineer_id=w["people"]["near"].id))
    await db.flush()
    r = await client.get(
        f"/api/v1/tickets/{ticket.id}/candidates?lang=zh_CN", headers=t.headers("dispatcher")
    )
    body = r.json()
    assert body["language"] == "zh_CN"
    assert [c["name"] for c in body["candidates"]] == ["far"]
    assert _codes(body)["near"] == "declined"
    texts = {f["name"]: f["reason"]["text"] for f in body["filtered"]}
    assert texts["near"] == "已拒绝此工单"
    assert "技能" in texts["novice"]


async def test_scheduled_mode_places_the_job_in_its_window_around_planned_work(
    client: httpx.AsyncClient, db: Any
) -> None:
    w = await _world(db)
    t, near = w["t"], w["people"]["near"]
    start = (NOW + dt.timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    planned = await make_ticket(
        db,
        t.actor("dispatcher"),
        w["customer"],
        w["site"],
        assign_to=near,
        window_start=start,
        window_end=start + dt.timedelta(minutes=10),
        estimated_minutes=90,
    )
    await db.execute(
        update(Ticket).where(Ticket.id == planned.id).values(planned_start=start, plan_position=0)
    )
    ticket = await make_ticket(
        db,
        t.actor("dispatcher"),
        w["customer"],
        w["site"],
        required_skills=["hvac"],
        window_start=start,
        window_end=start + dt.timedelta(hours=3),
        estimated_minutes=60,
    )
    r = await client.get(f"/api/v1/tickets/{ticket.id}/candidates", headers=t.headers("dispatcher"))
    body = r.json()
    assert r.status_code == 200, body
    assert body["mode"] == "scheduled"
    by_name = {c["name"]: c for c in body["candidates"]}
    mine = by_name["near"]
    assert mine["load"]["jobs"] == 1
    begins = dt.datetime.fromisoformat(mine["start"])
    assert start <= begins <= start + dt.timedelta(hours=3)
    # An engineer with an empty day can start at the window's start; "near" must first do
    # the planned 90-minute job, which has to start by 02:10 (same site: no travel).
    assert dt.datetime.fromisoformat(by_name["far"]["start"]) == start
    assert begins >= start + dt.timedelta(minutes=90)
    assert mine["insert_position"] == 1


async def test_who_may_ask_and_what_has_candidates(client: httpx.AsyncClient, db: Any) -> None:
    w = await _world(db)
    t, ticket = w["t"], w["ticket"]
    path = f"/api/v1/tickets/{ticket.id}/candidates"
    assert (await client.get(path, headers=t.headers("engineer1"))).status_code in (403, 404)
    assert (await client.get(path, headers=t.headers("viewer"))).status_code == 403
    other = await make_tenant(db, "Other")
    assert (await client.get(path, headers=other.headers("dispatcher"))).status_code == 404
    r = await client.get(path + "?mode=scheduled", headers=t.headers("dispatcher"))
    assert r.status_code == 409 and r.json()["code"] == "no_window"
    assert r.headers["content-type"].startswith("application/problem+json")
    past = NOW - dt.timedelta(days=2)
    await db.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(window_start=past, window_end=past + dt.timedelta(hours=2))
    )
    r = await client.get(path + "?mode=scheduled", headers=t.headers("dispatcher"))
    assert r.status_code == 409 and r.json()["code"] == "window_passed"
    # Without a mode, a window in the past means "now".
    r = await client.get(path, headers=t.headers("dispatcher"))
    assert r.status_code == 200 and r.json()["mode"] == "now"
    bad = await client.get(path + "?mode=later&limit=0", headers=t.headers("dispatcher"))
    assert bad.status_code == 422
    await db.execute(update(Ticket).where(Ticket.id == ticket.id).values(status="cancelled"))
    r = await client.get(path, headers=t.headers("dispatcher"))
    assert r.status_code == 409 and r.json()["code"] == "not_dispatchable"


async def test_auto_assign_takes_the_best_and_says_why(client: httpx.AsyncClient, db: Any) -> None:
    w = await _world(db)
    t, ticket = w["t"], w["ticket"]
    r = await client.post(
        f"/api/v1/tickets/{ticket.id}/auto-assign", headers=t.headers("dispatcher")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assigned"] is True and body["engineer_id"] == str(w["people"]["near"].id)
    assert "near" in body["reason"]
    event = (
        await db.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.action == "assign"
            )
        )
    ).one()
    assert event.reason.startswith("Auto-assigned to near")
    again = await client.post(
        f"/api/v1/tickets/{ticket.id}/auto-assign", headers=t.headers("agent")
    )
    assert again.status_code == 403


async def test_auto_assign_with_nobody_able_assigns_nothing(
    client: httpx.AsyncClient, db: Any
) -> None:
    w = await _world(db)
    t = w["t"]
    ticket = await make_ticket(
        db, t.actor("dispatcher"), w["customer"], w["site"], required_skills=["plumbing"]
    )
    r = await client.post(
        f"/api/v1/tickets/{ticket.id}/auto-assign?lang=zh_CN", headers=t.headers("dispatcher")
    )
    body = r.json()
    assert body["assigned"] is False and body["engineer_id"] is None
    assert "没有工程师" in body["reason"]
    status = await db.scalar(select(Ticket.status).where(Ticket.id == ticket.id))
    assert status == "new"


async def test_a_rule_auto_assigns_new_work_in_the_worker_and_falls_back_to_the_pool(
    client: httpx.AsyncClient, db: Any
) -> None:
    from server.dispatch.models import AutoAssignRule
    from server.events import service as events

    w = await _world(db)
    t = w["t"]
    db.add(AutoAssignRule(org_id=t.org.id, priority="P1", enabled=True, fallback_to_pool=True))
    db.add(AutoAssignRule(org_id=t.org.id, priority="P3", enabled=False))
    await db.flush()
    # Created through the API: the request only writes the work order and its outbox row.
    body = {
        "customer_id": str(w["customer"].id),
        "site_id": str(w["site"].id),
        "title": "Chiller down",
        "priority": "P1",
        "required_skills": ["hvac:2"],
    }
    created = await client.post("/api/v1/tickets", json=body, headers=t.headers("agent"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "new"
    nobody = await client.post(
        "/api/v1/tickets",
        json={**body, "required_skills": ["plumbing"]},
        headers=t.headers("agent"),
    )
    not_ruled = await client.post(
        "/api/v1/tickets", json={**body, "priority": "P3"}, headers=t.headers("agent")
    )
    await events.deliver_pending(db)
    await events.deliver_pending(db)  # delivered twice: nothing happens twice

    def row(r: httpx.Response) -> Any:
        return select(Ticket.status, Ticket.assignee_id, Ticket.open_for_claim).where(
            Ticket.id == r.json()["id"]
        )

    assigned = (await db.execute(row(created))).one()
    assert assigned.status == "assigned"
    # Created in the agent's request, so no service site: territories do not decide here.
    assert assigned.assignee_id in {w["people"]["near"].id, w["people"]["west"].id}
    pooled = (await db.execute(row(nobody))).one()
    assert (pooled.status, pooled.assignee_id, pooled.open_for_claim) == ("new", None, True)
    left = (await db.execute(row(not_ruled))).one()
    assert (left.status, left.assignee_id) == ("new", None)
    events_of = await db.scalars(
        select(TicketEvent.action).where(TicketEvent.ticket_id == created.json()["id"])
    )
    assert list(events_of).count("assign") == 1
