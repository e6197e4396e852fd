"""The claim pool (server/dispatch/claims/) through the HTTP API: opening and closing,
who sees which work orders, claiming (assign + accept, pinned), every refusal, and the
events and outbox rows each step leaves."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import OutboxEvent
from server.tickets.models import Ticket
from tests.fixtures.api import events
from tests.fixtures.claims import claim, on_shift, pool_ticket, service_site, shift_engineer
from tests.fixtures.factories import headers_for, make_tenant, make_ticket

CLAIMS = "/api/v1/claims"


def _open_url(ticket: Any) -> str:
    return f"/api/v1/tickets/{ticket.id}/open-for-claim"


async def _fresh(db: AsyncSession, ticket: Ticket) -> Ticket:
    found = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def _outbox(db: AsyncSession, ticket: Ticket) -> list[dict[str, Any]]:
    rows = await db.scalars(
        select(OutboxEvent.payload)
        .where(OutboxEvent.aggregate_id == ticket.id)
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
    )
    return list(rows)


async def _pool(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get(CLAIMS, headers=headers)
    assert response.status_code == 200, response.text
    return [c["ticket_id"] for c in response.json()]


# --- opening and closing ---------------------------------------------------------------


async def test_a_dispatcher_opens_and_closes_a_new_work_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    opened = await client.post(_open_url(ticket), headers=t.headers("dispatcher"))
    assert opened.status_code == 200, opened.text
    assert (opened.json()["version"], opened.headers["etag"]) == (2, '"v2"')
    again = await client.post(_open_url(ticket), headers=t.headers("admin"))
    assert again.json()["version"] == 2  # already open: nothing written
    assert (await _fresh(db, ticket)).open_for_claim is True
    closed = await client.delete(_open_url(ticket), headers=t.headers("dispatcher"))
    assert closed.status_code == 200, closed.text
    assert closed.json()["version"] == 3
    assert (await _fresh(db, ticket)).open_for_claim is False

    updates = [e for e in await events(client, t, str(ticket.id)) if e["kind"] == "updated"]
    assert [e["changes"] for e in updates] == [
        {"open_for_claim": [False, True]},
        {"open_for_claim": [True, False]},
    ]
    outbox = [p for p in await _outbox(db, ticket) if "open_for_claim" in p["changes"]]
    assert [p["changes"]["open_for_claim"] for p in outbox] == [[False, True], [True, False]]


async def test_only_a_new_work_order_opens_for_claim(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0]
    )
    response = await client.post(_open_url(ticket), headers=t.headers("dispatcher"))
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["current_status"]) == (
        "ticket_not_new",
        "assigned",
    )


async def test_a_work_order_whose_window_has_ended_is_not_opened(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ended = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ticket = await make_ticket(
        db,
        t.actor("dispatcher"),
        t.customer,
        t.site,
        window_start=ended - dt.timedelta(hours=2),
        window_end=ended,
    )
    response = await client.post(_open_url(ticket), headers=t.headers("dispatcher"))
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "window_passed"
    assert "new window" in response.json()["detail"]
    assert await db.scalar(select(Ticket.open_for_claim).where(Ticket.id == ticket.id)) is False


async def test_only_the_back_office_managers_open_the_pool(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await pool_ticket(db, t)
    for who in ("engineer1", "agent", "viewer"):
        for method in ("POST", "DELETE"):
            response = await client.request(method, _open_url(ticket), headers=t.headers(who))
            assert response.status_code == 403, (who, method, response.text)
    assert (await _fresh(db, ticket)).open_for_claim is True


# --- the pool --------------------------------------------------------------------------


async def test_the_pool_lists_only_what_the_engineer_qualifies_for(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    t.engineers[0].territory = "north"
    north, south = await service_site(db, t, "north"), await service_site(db, t, "south")
    fits = await pool_ticket(db, t, required_skills=["hvac:3"], service_site=north)
    anywhere = await pool_ticket(db, t, service_site=None)
    missing_skill = await pool_ticket(db, t, required_skills=["gas"])
    too_junior = await pool_ticket(db, t, required_skills=["hvac:4"])
    elsewhere = await pool_ticket(db, t, service_site=south)
    assert t.customer is not None
    nowhere = await make_ticket(db, t.actor("dispatcher"), t.customer, None)
    nowhere.open_for_claim = True
    closed = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    await db.flush()

    seen = await _pool(client, t.headers("engineer1"))
    assert sorted(seen) == sorted([str(fits.id), str(anywhere.id)])
    hidden = {missing_skill.id, too_junior.id, elsewhere.id, nowhere.id, closed.id}
    assert not {str(i) for i in hidden} & set(seen)
    # Engineer 2 has no territory: the south job is theirs to take too.
    assert str(elsewhere.id) in await _pool(client, t.headers("engineer2"))
    body = (await client.get(CLAIMS, headers=t.headers("engineer1"))).json()
    item = next(c for c in body if c["ticket_id"] == str(fits.id))
    assert item["number"].startswith("WO-") and item["skills"] == {"hvac": 3}
    assert (item["territory"], item["lat"], item["service_minutes"]) == ("north", 31.23, 60)


async def test_an_engineer_off_shift_sees_an_empty_pool(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await pool_ticket(db, t)
    assert await _pool(client, t.headers("engineer1")) == []  # no working hours at all
    await on_shift(db, t.engineers[0])
    assert len(await _pool(client, t.headers("engineer1"))) == 1


async def test_the_jobs_date_decides_the_shift(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    start = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    start += dt.timedelta(days=3)
    ticket = await pool_ticket(db, t, window_start=start, window_end=start + dt.timedelta(hours=2))
    t.engineers[0].working_hours = {start.strftime("%a").lower(): [["08:00", "17:00"]]}
    t.engineers[1].working_hours = {
        (start - dt.timedelta(days=1)).strftime("%a").lower(): [["08:00", "17:00"]]
    }
    await db.flush()
    assert await _pool(client, t.headers("engineer1")) == [str(ticket.id)]
    assert await _pool(client, t.headers("engineer2")) == []


async def test_a_full_engineer_sees_nothing(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    start = dt.datetime.now(dt.UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    window: dict[str, Any] = {"window_start": start, "window_end": start + dt.timedelta(hours=1)}
    ticket = await pool_ticket(db, t, **window)
    assert t.customer is not None
    await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0], **window
    )
    t.engineers[0].max_jobs_per_day = 1
    await db.flush()
    assert await _pool(client, t.headers("engineer1")) == []
    refused = await claim(client, ticket.id, t.headers("engineer1"))
    assert (refused.status_code, refused.json()["reasons"]) == (409, ["full_jobs"])
    assert await _pool(client, t.headers("engineer2")) == [str(ticket.id)]


async def test_the_pool_is_for_engineers(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    for who in ("admin", "dispatcher", "agent", "viewer"):
        response = await client.get(CLAIMS, headers=t.headers(who))
        assert response.status_code == 403, (who, response.text)


# --- claiming --------------------------------------------------------------------------


async def test_a_claim_assigns_accepts_and_pins(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    ticket = await pool_ticket(db, t)
    response = await claim(client, ticket.id, t.headers("engineer1"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["assignee_id"]) == ("accepted", str(t.engineers[0].id))
    assert response.headers["etag"] == f'"v{body["version"]}"'
    stored = await _fresh(db, ticket)
    assert (stored.status, stored.assignee_id) == ("accepted", t.engineers[0].id)
    assert (stored.pinned, stored.open_for_claim) == (True, False)
    assert stored.first_response_at is not None

    steps = [e for e in await events(client, t, str(ticket.id)) if e["kind"] == "transition"]
    assert [(e["action"], e["to_status"]) for e in steps] == [
        ("assign", "assigned"),
        ("accept", "accepted"),
    ]
    assign = steps[0]
    assert assign["reason"] == "claimed from the pool"
    assert assign["actor"] == steps[1]["actor"] == f"user:{t.users['engineer1'].email}"
    assert assign["changes"]["claimed"] is True
    assert assign["changes"]["pinned"] == [False, True]
    assert assign["changes"]["open_for_claim"] == [True, False]
    outbox = [p for p in await _outbox(db, ticket) if p["action"] in ("assign", "accept")]
    assert [p["action"] for p in outbox] == ["assign", "accept"]
    # The claimer now sees it like any work of theirs.
    mine = await client.get(f"/api/v1/tickets/{ticket.id}", headers=t.headers("engineer1"))
    assert mine.status_code == 200
    assert await _pool(client, t.headers("engineer2")) == []


async def test_the_second_claimer_is_told_it_is_gone_but_not_by_whom(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    ticket = await pool_ticket(db, t)
    assert (await claim(client, ticket.id, t.headers("engineer1"))).status_code == 200
    late = await claim(client, ticket.id, t.headers("engineer2"))
    assert late.status_code == 409, late.text
    assert late.headers["content-type"].startswith("application/problem+json")
    problem = late.json()
    number = f"WO-{ticket.number:06d}"
    assert problem["code"] == "already_claimed"
    assert problem["detail"] == f"another engineer claimed {number} first"
    assert t.users["engineer1"].full_name not in late.text
    assert str(t.engineers[0].id) not in late.text
    mine = await claim(client, ticket.id, t.headers("engineer1"))
    assert (mine.status_code, mine.json()["code"]) == (409, "already_claimed")
    assert mine.json()["detail"] == f"you already claimed {number}"


async def test_a_work_order_not_open_for_claim_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    assert t.customer is not None
    never = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    given = await pool_ticket(db, t)
    assign = {"action": "assign", "engineer_id": str(t.engineers[1].id)}
    await client.post(
        f"/api/v1/tickets/{given.id}/transitions", json=assign, headers=t.headers("dispatcher")
    )
    for ticket in (never, given):
        response = await claim(client, ticket.id, t.headers("engineer1"))
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "not_open_for_claim"
    assert (await _fresh(db, never)).status == "new"


async def test_an_ineligible_engineer_gets_the_reasons(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    ticket = await pool_ticket(db, t, required_skills=["gas", "hvac:5"])
    response = await claim(client, ticket.id, t.headers("engineer1"))
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "not_eligible"
    assert response.json()["reasons"] == ["missing_skill", "skill_too_low"]
    assert response.json()["explanations"] == [
        {"code": "missing_skill", "text": "Missing skill: gas (level 1 needed)"},
        {"code": "skill_too_low", "text": "Skill level too low: hvac (level 5 needed, has 3)"},
    ]
    stored = await _fresh(db, ticket)
    assert (stored.status, stored.open_for_claim, stored.pinned) == ("new", True, False)


async def test_the_refusal_is_worded_in_the_engineers_language(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    t.users["engineer1"].locale = "zh_CN"
    await db.flush()
    ticket = await pool_ticket(db, t, required_skills=["gas"])
    response = await claim(client, ticket.id, t.headers("engineer1"))
    assert response.json()["explanations"] == [
        {"code": "missing_skill", "text": "缺少技能：gas（需要 1 级）"}
    ]


async def test_other_tenants_and_missing_work_orders_are_not_found(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b = await make_tenant(db, "A"), await make_tenant(db, "B")
    await on_shift(db, *a.engineers)
    foreign = await pool_ticket(db, b)
    response = await claim(client, foreign.id, a.headers("engineer1"))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    missing = await claim(client, "01935a2e-0000-7000-8000-000000000000", a.headers("engineer1"))
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert await _pool(client, a.headers("engineer1")) == []
    opened = await client.post(_open_url(foreign), headers=a.headers("dispatcher"))
    assert opened.status_code == 404
    assert (await _fresh(db, foreign)).status == "new"


async def test_only_engineers_claim(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket = await pool_ticket(db, t)
    for who in ("admin", "dispatcher", "agent", "viewer"):
        response = await claim(client, ticket.id, t.headers(who))
        assert response.status_code == 403, (who, response.text)


async def test_a_claim_retried_with_its_idempotency_key_replays(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    ticket = await pool_ticket(db, t)
    headers = {**t.headers("engineer1"), "Idempotency-Key": "claim-1"}
    first = await claim(client, ticket.id, headers)
    again = await claim(client, ticket.id, headers)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assigns = [e for e in await events(client, t, str(ticket.id)) if e["action"] == "assign"]
    assert len(assigns) == 1


async def test_giving_back_a_claimed_job_unpins_it(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    ticket = await pool_ticket(db, t)
    await claim(client, ticket.id, t.headers("engineer1"))
    response = await client.post(
        f"/api/v1/tickets/{ticket.id}/transitions",
        json={"action": "unassign"},
        headers=t.headers("dispatcher"),
    )
    assert response.status_code == 200, response.text
    stored = await _fresh(db, ticket)
    assert (stored.status, stored.pinned, stored.open_for_claim) == ("new", False, False)
    unassign = [e for e in await events(client, t, str(ticket.id)) if e["action"] == "unassign"]
    assert unassign[0]["changes"]["pinned"] == [True, False]


async def test_a_new_engineer_with_a_shift_can_claim(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    user, engineer = await shift_engineer(db, t, skills={"hvac": 5})
    ticket = await pool_ticket(db, t, required_skills=["hvac:5"])
    response = await claim(client, ticket.id, headers_for(user))
    assert response.status_code == 200, response.text
    assert response.json()["assignee_id"] == str(engineer.id)
