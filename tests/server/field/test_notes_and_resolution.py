"""Notes (append-only, idempotent), the resolution fields, and the hold/resume wrappers."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import service as field
from server.tickets.models import TicketEvent
from shared.ids import uuid7
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.field.helpers import get, on_site, post


async def test_notes_are_added_once_per_id_and_read_in_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    url = f"/api/v1/tickets/{ticket.id}/notes"
    body = {"note_id": str(uuid7()), "text": "Dog in the yard", "visit_id": str(visit.id)}
    first = await post(client, t, "engineer1", url, body)
    again = await post(client, t, "engineer1", url, body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    changed = await post(client, t, "engineer1", url, {**body, "text": "Cat"})
    assert changed.status_code == 409 and changed.json()["fields"] == ["text"]
    desk = await post(client, t, "agent", url, {"note_id": str(uuid7()), "text": "Call at 5"})
    assert desk.status_code == 201 and desk.json()["author"].startswith("user:agent")
    refused = await post(client, t, "viewer", url, {"note_id": str(uuid7()), "text": "x"})
    assert refused.status_code == 403
    hidden = await post(client, t, "engineer2", url, {"note_id": str(uuid7()), "text": "x"})
    assert hidden.status_code == 404
    notes = await get(client, t, "viewer", url)
    assert [n["text"] for n in notes] == ["Dog in the yard", "Call at 5"]
    blank = await post(client, t, "engineer1", url, {"note_id": str(uuid7()), "text": ""})
    assert blank.status_code == 422


async def test_resolution_is_recorded_with_the_resolve_transition(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t, fault_code="E31")
    url = f"/api/v1/tickets/{ticket.id}/resolution"
    body = {
        "resolution_code": "REPLACED_PART",
        "fault_code": "E34",
        "root_cause": "Fan relay welded shut",
        "summary": "Replaced the fan relay; ran 30 minutes at full load.",
    }
    response = await post(client, t, "engineer1", url, body)
    assert response.status_code == 200, response.text
    wo = response.json()
    assert wo["status"] == "resolved" and wo["resolved_at"] is not None
    assert (wo["resolution_code"], wo["fault_code"], wo["root_cause"]) == (
        "REPLACED_PART",
        "E34",
        "Fan relay welded shut",
    )
    assert wo["resolution_summary"].startswith("Replaced the fan relay")
    assert response.headers["etag"] == f'"v{wo["version"]}"'
    events = list(
        await db.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
    )
    recorded, resolved = events[-2:]
    assert recorded.kind == "updated" and recorded.changes["fault_code"] == ["E31", "E34"]
    assert resolved.action == "resolve" and resolved.to_status == "resolved"
    again = await post(client, t, "engineer1", url, body)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    # Findings stay the engineer's afterwards (last write wins).
    patched = await client.patch(
        f"/api/v1/tickets/{ticket.id}",
        json={"resolution_summary": "Replaced the relay and cleaned the coil."},
        headers={**t.headers("engineer1"), "If-Match": f'"v{wo["version"]}"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["resolution_summary"].endswith("cleaned the coil.")


async def test_resolution_is_the_field_sides(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    url = f"/api/v1/tickets/{ticket.id}/resolution"
    body = {"resolution_code": "FIXED", "summary": "ok"}
    assert (await post(client, t, "agent", url, body)).status_code == 403
    assert (await post(client, t, "engineer2", url, body)).status_code == 404
    other = await make_tenant(db)
    assert (await post(client, other, "admin", url, body)).status_code == 404
    empty = await post(client, t, "engineer1", url, {"resolution_code": "FIXED", "summary": ""})
    assert empty.status_code == 422
    on_behalf = await post(client, t, "dispatcher", url, body)
    assert on_behalf.status_code == 200 and on_behalf.json()["status"] == "resolved"


async def test_hold_names_what_the_work_order_waits_for(db: AsyncSession) -> None:
    t = await make_tenant(db)
    engineer = t.actor("engineer1")
    parts, _ = await on_site(db, t)
    held = await field.hold(
        db, engineer, ticket_id=parts.id, waiting_for="parts", reason="Relay on order"
    )
    assert held.status == "on_hold" and held.on_hold_since is None  # the SLA clock runs
    customer, _ = await on_site(db, t)
    held = await field.hold(
        db, engineer, ticket_id=customer.id, waiting_for="customer", reason="Away"
    )
    assert held.on_hold_since is not None  # paused while the customer is away
    resumed = await field.resume(db, engineer, ticket_id=customer.id)
    assert resumed.status == "on_site" and resumed.on_hold_since is None
    kinds = await db.scalars(
        select(TicketEvent.changes["hold_kind"].astext).where(
            TicketEvent.ticket_id.in_([parts.id, customer.id]), TicketEvent.action == "hold"
        )
    )
    assert sorted(kinds) == ["waiting_customer", "waiting_parts"]


async def test_accept_and_start_travel_wrappers(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer
    fresh = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    engineer = t.actor("engineer1")
    assert (await field.accept(db, engineer, ticket_id=fresh.id)).status == "accepted"
    moving = await field.start_travel(db, engineer, ticket_id=fresh.id)
    assert moving.status == "travelling"
