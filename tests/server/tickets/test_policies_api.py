from __future__ import annotations

import datetime as dt

import httpx

from server.tickets.policies.calendar import BusinessCalendar, add_business_time
from tests.fixtures.factories import make_tenant

OFFICE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


async def test_admin_sets_up_calendar_and_policy_and_new_work_orders_use_them(
    client: httpx.AsyncClient, db
) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    cal = await client.post(
        "/api/v1/business-calendars",
        json={
            "name": "London office",
            "timezone": "Europe/London",
            "hours": OFFICE,
            "holidays": ["2026-12-25"],
        },
        headers=admin,
    )
    assert cal.status_code == 201, cal.text
    policy = await client.post(
        "/api/v1/sla-policies",
        json={
            "priority": "P2",
            "response_minutes": 60,
            "resolution_minutes": 480,
            "calendar_id": cal.json()["id"],
        },
        headers=admin,
    )
    assert policy.status_code == 201, policy.text
    created = await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "priority": "P2", "title": "Leak"},
        headers=t.headers("dispatcher"),
    )
    ticket = created.json()
    created_at = dt.datetime.fromisoformat(ticket["created_at"])
    cal_math = BusinessCalendar.from_config("Europe/London", OFFICE, [dt.date(2026, 12, 25)])
    expected_due = add_business_time(cal_math, created_at, dt.timedelta(minutes=480))
    expected_response = add_business_time(cal_math, created_at, dt.timedelta(minutes=60))
    assert dt.datetime.fromisoformat(ticket["resolution_due_at"]) == expected_due
    assert dt.datetime.fromisoformat(ticket["response_due_at"]) == expected_response


async def test_customer_override_is_listed_separately(client: httpx.AsyncClient, db) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    body = {"priority": "P1", "response_minutes": 30, "resolution_minutes": 240}
    assert (await client.post("/api/v1/sla-policies", json=body, headers=admin)).status_code == 201
    override = {**body, "response_minutes": 15, "customer_id": str(t.customer.id)}
    assert (
        await client.post("/api/v1/sla-policies", json=override, headers=admin)
    ).status_code == 201
    only = await client.get(
        "/api/v1/sla-policies", params={"customer_id": str(t.customer.id)}, headers=admin
    )
    assert [p["response_minutes"] for p in only.json()] == [15]
    assert len((await client.get("/api/v1/sla-policies", headers=admin)).json()) == 2


async def test_duplicate_policy_for_same_priority_is_a_conflict(
    client: httpx.AsyncClient, db
) -> None:
    t = await make_tenant(db)
    body = {"priority": "P3", "response_minutes": 60, "resolution_minutes": 600}
    admin = t.headers("admin")
    assert (await client.post("/api/v1/sla-policies", json=body, headers=admin)).status_code == 201
    again = await client.post("/api/v1/sla-policies", json=body, headers=admin)
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


async def test_bad_calendars_are_refused_with_the_reason(client: httpx.AsyncClient, db) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    cases = [
        {"name": "x", "timezone": "Mars/Olympus", "hours": OFFICE},
        {"name": "x", "timezone": "UTC", "hours": {"mon": [["17:00", "09:00"]]}},
        {"name": "x", "timezone": "UTC", "hours": {"funday": [["09:00", "17:00"]]}},
        {"name": "x", "timezone": "UTC", "hours": {}},
    ]
    for body in cases:
        response = await client.post("/api/v1/business-calendars", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"]


async def test_resolution_shorter_than_response_is_refused(client: httpx.AsyncClient, db) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    body = {"priority": "P1", "response_minutes": 120, "resolution_minutes": 60}
    assert (await client.post("/api/v1/sla-policies", json=body, headers=admin)).status_code == 422
    ok = {"priority": "P1", "response_minutes": 60, "resolution_minutes": 120}
    policy = (await client.post("/api/v1/sla-policies", json=ok, headers=admin)).json()
    bad = await client.patch(
        f"/api/v1/sla-policies/{policy['id']}",
        json={"resolution_minutes": 30},
        headers={**admin, "If-Match": '"v1"'},
    )
    assert bad.status_code == 422


async def test_only_admins_change_sla_settings(client: httpx.AsyncClient, db) -> None:
    t = await make_tenant(db)
    body = {"priority": "P4", "response_minutes": 60, "resolution_minutes": 600}
    for who in ("dispatcher", "agent"):
        response = await client.post("/api/v1/sla-policies", json=body, headers=t.headers(who))
        assert response.status_code == 403, who
    assert (
        await client.get("/api/v1/sla-policies", headers=t.headers("dispatcher"))
    ).status_code == 200
    engineer = await client.get("/api/v1/sla-policies", headers=t.headers("engineer1"))
    assert engineer.status_code == 403


async def test_other_organisations_policies_are_invisible(client: httpx.AsyncClient, db) -> None:
    a = await make_tenant(db)
    b = await make_tenant(db)
    body = {"priority": "P2", "response_minutes": 60, "resolution_minutes": 600}
    policy = (
        await client.post("/api/v1/sla-policies", json=body, headers=a.headers("admin"))
    ).json()
    assert (await client.get("/api/v1/sla-policies", headers=b.headers("admin"))).json() == []
    patch = await client.patch(
        f"/api/v1/sla-policies/{policy['id']}",
        json={"response_minutes": 5},
        headers={**b.headers("admin"), "If-Match": '"v1"'},
    )
    assert patch.status_code == 404
    delete = await client.delete(f"/api/v1/sla-policies/{policy['id']}", headers=b.headers("admin"))
    assert delete.status_code == 404
    assert (
        await client.delete(f"/api/v1/sla-policies/{policy['id']}", headers=a.headers("admin"))
    ).status_code == 204
