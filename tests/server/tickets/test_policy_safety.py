"""SLA policies and calendars that could never produce a deadline are refused (422), a
stored one answers 422 instead of a 500, and a policy in use by open work cannot be deleted."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.tickets.models import BusinessCalendar, SlaPolicy, Ticket
from tests.fixtures.factories import Tenant, make_policy, make_tenant

OFFICE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
ONE_MINUTE_A_WEEK = {"mon": [["09:00", "09:01"]]}
YEAR = 365 * 24 * 60  # minutes; the largest target a policy may have


def assert_problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body


async def post_calendar(
    client: httpx.AsyncClient, t: Tenant, hours: dict[str, list[list[str]]]
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/business-calendars",
        json={"name": "Desk", "timezone": "Europe/London", "hours": hours},
        headers=t.headers("admin"),
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def post_policy(client: httpx.AsyncClient, t: Tenant, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/sla-policies", json=body, headers=t.headers("admin"))


async def store_calendar(db: AsyncSession, t: Tenant, hours: dict[str, Any]) -> BusinessCalendar:
    """A calendar row as an older release could have stored it (no API checks)."""
    row = BusinessCalendar(
        org_id=t.org.id, name="Legacy", timezone="Europe/London", hours=hours, holidays=[]
    )
    db.add(row)
    await db.flush()
    return row


async def new_ticket(client: httpx.AsyncClient, t: Tenant, priority: str) -> httpx.Response:
    assert t.customer is not None
    return await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "title": "No heating", "priority": priority},
        headers=t.headers("dispatcher"),
    )


async def act(client: httpx.AsyncClient, t: Tenant, ticket_id: str, action: str) -> httpx.Response:
    body: dict[str, Any] = {"action": action}
    if action == "assign":
        body["engineer_id"] = str(t.engineers[0].id)
    if action in ("hold", "cancel"):
        body["reason"] = f"test {action}"
    if action == "hold":
        body["hold_kind"] = "waiting_customer"
    return await client.post(
        f"/api/v1/tickets/{ticket_id}/transitions", json=body, headers=t.headers("dispatcher")
    )


async def walk(client: httpx.AsyncClient, t: Tenant, ticket_id: str, *actions: str) -> None:
    for action in actions:
        response = await act(client, t, ticket_id, action)
        assert response.status_code == 200, (action, response.text)


async def policy_link(db: AsyncSession, ticket_id: str) -> uuid.UUID | None:
    value: uuid.UUID | None = await db.scalar(
        select(Ticket.sla_policy_id)
        .where(Ticket.id == uuid.UUID(ticket_id))
        .execution_options(populate_existing=True)
    )
    return value


# --- calendars ---------------------------------------------------------------------------------


async def test_patching_a_calendar_to_no_open_hours_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    cal = await post_calendar(client, t, OFFICE)
    for hours in ({}, {"mon": [], "sat": []}):
        response = await client.patch(
            f"/api/v1/business-calendars/{cal['id']}",
            json={"hours": hours},
            headers={**t.headers("admin"), "If-Match": '"v1"'},
        )
        assert_problem(response, 422, "open interval")
    stored = await db.scalar(
        select(BusinessCalendar.hours)
        .where(BusinessCalendar.id == uuid.UUID(cal["id"]))
        .execution_options(populate_existing=True)
    )
    assert stored == OFFICE


async def test_patching_a_calendar_so_a_policy_cannot_reach_its_deadline_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    cal = await post_calendar(client, t, OFFICE)
    policy = await post_policy(
        client,
        t,
        priority="P4",
        response_minutes=60,
        resolution_minutes=YEAR,
        calendar_id=cal["id"],
    )
    assert policy.status_code == 201, policy.text

    response = await client.patch(
        f"/api/v1/business-calendars/{cal['id']}",
        json={"hours": ONE_MINUTE_A_WEEK},
        headers={**t.headers("admin"), "If-Match": '"v1"'},
    )

    body = assert_problem(response, 422, "P4", "5-year horizon")
    assert policy.json()["id"] in body["detail"]
    # A calendar change every policy can live with still goes through.
    fine = await client.patch(
        f"/api/v1/business-calendars/{cal['id']}",
        json={"hours": {d: [["08:00", "18:00"]] for d in OFFICE}},
        headers={**t.headers("admin"), "If-Match": '"v1"'},
    )
    assert fine.status_code == 200, fine.text


# --- policies ----------------------------------------------------------------------------------


async def test_creating_a_policy_its_calendar_cannot_meet_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    cal = await post_calendar(client, t, ONE_MINUTE_A_WEEK)

    refused = await post_policy(
        client,
        t,
        priority="P3",
        response_minutes=60,
        resolution_minutes=YEAR,
        calendar_id=cal["id"],
    )

    assert_problem(refused, 422, "P3", "5-year horizon")
    assert (await client.get("/api/v1/sla-policies", headers=t.headers("admin"))).json() == []
    # Targets inside the horizon (about 260 open minutes in five years) are fine.
    ok = await post_policy(
        client, t, priority="P3", response_minutes=30, resolution_minutes=60, calendar_id=cal["id"]
    )
    assert ok.status_code == 201, ok.text


async def test_updating_a_policy_beyond_what_its_calendar_can_meet_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    tiny = await post_calendar(client, t, ONE_MINUTE_A_WEEK)
    policy = (
        await post_policy(client, t, priority="P2", response_minutes=60, resolution_minutes=YEAR)
    ).json()
    url = f"/api/v1/sla-policies/{policy['id']}"
    admin = t.headers("admin")

    moved = await client.patch(
        url, json={"calendar_id": tiny["id"]}, headers={**admin, "If-Match": '"v1"'}
    )
    assert_problem(moved, 422, "P2", "5-year horizon")

    short = (
        await post_policy(
            client,
            t,
            priority="P1",
            response_minutes=10,
            resolution_minutes=60,
            calendar_id=tiny["id"],
        )
    ).json()
    longer = await client.patch(
        f"/api/v1/sla-policies/{short['id']}",
        json={"resolution_minutes": YEAR},
        headers={**admin, "If-Match": '"v1"'},
    )
    assert_problem(longer, 422, "P1", "5-year horizon")
    stored = await db.scalar(
        select(SlaPolicy.resolution_minutes)
        .where(SlaPolicy.id == uuid.UUID(short["id"]))
        .execution_options(populate_existing=True)
    )
    assert stored == 60


# --- stored bad settings answer 422, not 500 ---------------------------------------------------


async def test_work_order_under_a_stored_calendar_without_hours_is_unprocessable(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    cal = await store_calendar(db, t, {})
    policy = await make_policy(db, t.org, "P3", response_minutes=60, resolution_minutes=240)
    policy.calendar_id = cal.id
    await db.flush()

    response = await new_ticket(client, t, "P3")

    assert_problem(response, 422, "P3", str(policy.id), "no open hours")


async def test_work_order_under_a_stored_unreachable_deadline_is_unprocessable(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    cal = await store_calendar(db, t, ONE_MINUTE_A_WEEK)
    policy = await make_policy(db, t.org, "P4", response_minutes=60, resolution_minutes=YEAR)
    policy.calendar_id = cal.id
    await db.flush()

    response = await new_ticket(client, t, "P4")

    assert_problem(response, 422, "P4", "5-year horizon")


async def test_resume_under_a_calendar_emptied_behind_the_apis_back_is_unprocessable(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    cal = await store_calendar(db, t, OFFICE)
    policy = await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=480)
    policy.calendar_id = cal.id
    await db.flush()
    created = await new_ticket(client, t, "P2")
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    await walk(client, t, ticket_id, "assign", "accept", "arrive", "hold")
    await db.execute(
        update(BusinessCalendar)
        .where(BusinessCalendar.id == cal.id)
        .values(hours={})
        .execution_options(synchronize_session=False)
    )

    response = await act(client, t, ticket_id, "resume")

    assert_problem(response, 422, "P2", "no open hours")


# --- deleting a policy -------------------------------------------------------------------------


async def test_policy_used_by_open_work_cannot_be_deleted_until_that_work_is_done(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    policy = (
        await post_policy(client, t, priority="P2", response_minutes=60, resolution_minutes=480)
    ).json()
    open_ids = []
    for _ in range(2):
        created = await new_ticket(client, t, "P2")
        assert created.status_code == 201, created.text
        open_ids.append(created.json()["id"])
    await walk(client, t, open_ids[1], "assign", "accept", "arrive", "hold")
    url = f"/api/v1/sla-policies/{policy['id']}"

    refused = await client.delete(url, headers=t.headers("admin"))

    body = assert_problem(refused, 409, "2 open work orders use this policy")
    assert body["code"] == "conflict"
    assert [await policy_link(db, i) for i in open_ids] == [uuid.UUID(policy["id"])] * 2

    await walk(client, t, open_ids[0], "cancel")
    one_left = await client.delete(url, headers=t.headers("admin"))
    assert_problem(one_left, 409, "1 open work order uses this policy")


async def test_policy_used_only_by_finished_work_is_deleted_and_links_cleared(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    policy = (
        await post_policy(client, t, priority="P2", response_minutes=60, resolution_minutes=480)
    ).json()
    ids = []
    for finish in (("cancel",), ("assign", "accept", "arrive", "resolve")):
        created = await new_ticket(client, t, "P2")
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
        await walk(client, t, ids[-1], *finish)
    await walk(client, t, ids[-1], "close")
    resolved = await new_ticket(client, t, "P2")
    ids.append(resolved.json()["id"])
    await walk(client, t, ids[-1], "assign", "accept", "arrive", "resolve")

    deleted = await client.delete(
        f"/api/v1/sla-policies/{policy['id']}", headers=t.headers("admin")
    )

    assert deleted.status_code == 204, deleted.text
    assert [await policy_link(db, i) for i in ids] == [None, None, None]
