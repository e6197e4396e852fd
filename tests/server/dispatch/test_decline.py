"""Assign and decline (server/dispatch/declines.py) through the HTTP API: a reject records
the decline and sends the work order back to dispatch; assigning a decliner is refused
unless a manager forces it; any assign leaves the claim pool."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.dispatch.models import Decline
from server.events.models import OutboxEvent
from server.tickets.models import Ticket
from tests.fixtures.api import events, read
from tests.fixtures.claims import claim, on_shift, pool_ticket
from tests.fixtures.factories import Tenant, make_tenant, make_ticket

REASON = "Not certified for this chiller"


async def _transition(
    client: httpx.AsyncClient, t: Tenant, who: str, ticket: Any, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/tickets/{ticket.id}/transitions", json=body, headers=t.headers(who)
    )


async def test_a_reject_records_the_decline_and_returns_the_job_to_dispatch(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0]
    )
    response = await _transition(client, t, "engineer1", ticket, action="reject", reason=REASON)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["assignee_id"]) == ("new", None)
    rows = list(await db.scalars(select(Decline).where(Decline.ticket_id == ticket.id)))
    assert [(r.engineer_id, r.reason, r.org_id) for r in rows] == [
        (t.engineers[0].id, REASON, t.org.id)
    ]
    reject = [e for e in await events(client, t, str(ticket.id)) if e["action"] == "reject"]
    assert len(reject) == 1
    assert reject[0]["to_status"] == "new"
    assert reject[0]["changes"]["declined_by"] == str(t.engineers[0].id)
    assert reject[0]["changes"]["returned_to_dispatch"] is True
    outbox = await db.scalars(
        select(OutboxEvent.payload).where(
            OutboxEvent.aggregate_id == ticket.id, OutboxEvent.topic == "ticket.transition"
        )
    )
    rejected = [p for p in outbox if p["action"] == "reject"]
    assert len(rejected) == 1 and rejected[0]["changes"]["declined_by"] == str(t.engineers[0].id)


async def test_a_dispatcher_rejecting_for_the_engineer_records_the_engineers_decline(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[1]
    )
    response = await _transition(client, t, "dispatcher", ticket, action="reject", reason="Sick")
    assert response.status_code == 200, response.text
    engineers = await db.scalars(select(Decline.engineer_id).where(Decline.ticket_id == ticket.id))
    assert list(engineers) == [t.engineers[1].id]


async def test_assigning_a_decliner_is_refused_unless_a_manager_forces_it(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0]
    )
    await _transition(client, t, "engineer1", ticket, action="reject", reason=REASON)
    again = {"action": "assign", "engineer_id": str(t.engineers[0].id)}

    refused = await _transition(client, t, "dispatcher", ticket, **again)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "engineer_declined"
    assert REASON in refused.json()["detail"] and "force" in refused.json()["detail"]
    assert (await read(client, t, str(ticket.id)))["status"] == "new"

    other = await _transition(
        client, t, "dispatcher", ticket, action="assign", engineer_id=str(t.engineers[1].id)
    )
    assert other.status_code == 200, other.text  # only the decliner is refused
    await _transition(client, t, "dispatcher", ticket, action="unassign")

    forced = await _transition(client, t, "dispatcher", ticket, **again, force=True)
    assert forced.status_code == 200, forced.text
    assert forced.json()["assignee_id"] == str(t.engineers[0].id)


async def test_force_is_for_assign_only(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0]
    )
    response = await _transition(client, t, "engineer1", ticket, action="accept", force=True)
    assert response.status_code == 422, response.text


async def test_declining_twice_keeps_one_row_with_the_latest_reason(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0]
    )
    await _transition(client, t, "engineer1", ticket, action="reject", reason="First")
    assign = {"action": "assign", "engineer_id": str(t.engineers[0].id), "force": True}
    assert (await _transition(client, t, "admin", ticket, **assign)).status_code == 200
    second = await _transition(client, t, "engineer1", ticket, action="reject", reason="Second")
    assert second.status_code == 200, second.text
    reasons = await db.scalars(select(Decline.reason).where(Decline.ticket_id == ticket.id))
    assert list(reasons) == ["Second"]


async def test_a_decliner_neither_sees_nor_claims_the_job(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await on_shift(db, *t.engineers)
    ticket = await pool_ticket(db, t)
    ticket.open_for_claim = False
    await db.flush()
    assign = {"action": "assign", "engineer_id": str(t.engineers[0].id)}
    assert (await _transition(client, t, "dispatcher", ticket, **assign)).status_code == 200
    await _transition(client, t, "engineer1", ticket, action="reject", reason=REASON)
    opened = await client.post(
        f"/api/v1/tickets/{ticket.id}/open-for-claim", headers=t.headers("dispatcher")
    )
    assert opened.status_code == 200, opened.text

    for who, listed in (("engineer1", []), ("engineer2", [str(ticket.id)])):
        pool = await client.get("/api/v1/claims", headers=t.headers(who))
        assert [c["ticket_id"] for c in pool.json()] == listed, who
    refused = await claim(client, ticket.id, t.headers("engineer1"))
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["reasons"]) == ("not_eligible", ["declined"])


async def test_an_assign_takes_the_job_out_of_the_pool(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await pool_ticket(db, t)
    assign = {"action": "assign", "engineer_id": str(t.engineers[1].id)}
    response = await _transition(client, t, "dispatcher", ticket, **assign)
    assert response.status_code == 200, response.text
    stored = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert stored is not None and (stored.open_for_claim, stored.pinned) == (False, False)
    event = [e for e in await events(client, t, str(ticket.id)) if e["action"] == "assign"]
    assert event[0]["changes"]["open_for_claim"] == [True, False]
    assert "claimed" not in event[0]["changes"]


async def test_a_cancel_takes_the_job_out_of_the_pool(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await pool_ticket(db, t)
    response = await _transition(client, t, "dispatcher", ticket, action="cancel", reason="Dup")
    assert response.status_code == 200, response.text
    count = await db.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.id == ticket.id, Ticket.open_for_claim.is_(True))
        .execution_options(populate_existing=True)
    )
    assert count == 0
