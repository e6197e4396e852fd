"""Property-level authorisation: callers cannot set fields they do not own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import User
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_tenant, make_ticket

TICKETS = "/api/v1/tickets"

FORBIDDEN_FIELDS: dict[str, Any] = {
    "org_id": str(uuid.uuid4()),
    "status": "closed",
    "assignee_id": str(uuid.uuid4()),
    "number": 1,
    "version": 99,
    "sla_state": "met",
    "created_by": "user:someone-else@example.test",
}


async def _new_ticket(db: AsyncSession, t: Tenant, **fields: Any) -> Ticket:
    assert t.customer is not None
    return await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, **fields)


def _assert_rejected_field(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert ["body", field] in [e["loc"] for e in problem["errors"]]
    assert field in problem["detail"]


async def _ticket_count(db: AsyncSession, t: Tenant) -> int:
    return int(
        await db.scalar(select(func.count()).select_from(Ticket).where(Ticket.org_id == t.org.id))
        or 0
    )


@pytest.mark.parametrize("field", sorted(FORBIDDEN_FIELDS))
async def test_create_ticket_with_server_owned_field_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, field: str
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    body = {"customer_id": str(t.customer.id), "title": "Leak", field: FORBIDDEN_FIELDS[field]}
    response = await client.post(TICKETS, json=body, headers=t.headers("admin"))
    _assert_rejected_field(response, field)
    assert await _ticket_count(db, t) == 0


@pytest.mark.parametrize("field", sorted(FORBIDDEN_FIELDS))
async def test_update_ticket_with_server_owned_field_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, field: str
) -> None:
    t = await make_tenant(db)
    ticket = await _new_ticket(db, t)
    response = await client.patch(
        f"{TICKETS}/{ticket.id}",
        json={"title": "Changed", field: FORBIDDEN_FIELDS[field]},
        headers={**t.headers("admin"), "If-Match": f'"v{ticket.version}"'},
    )
    _assert_rejected_field(response, field)
    after = (await client.get(f"{TICKETS}/{ticket.id}", headers=t.headers("admin"))).json()
    assert after["title"] == "Compressor noise"
    assert after["version"] == ticket.version
    assert after["status"] == "new"


async def test_engineer_cannot_patch_dispatch_fields(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await _new_ticket(db, t, assign_to=t.engineers[0])
    response = await client.patch(
        f"{TICKETS}/{ticket.id}",
        json={"priority": "P1", "title": "Urgent now", "resolution_notes": "ok"},
        headers={**t.headers("engineer1"), "If-Match": f'"v{ticket.version}"'},
    )
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["code"] == "forbidden"
    assert problem["fields"] == ["priority", "title"]
    assert "priority" in problem["detail"] and "title" in problem["detail"]
    after = (await client.get(f"{TICKETS}/{ticket.id}", headers=t.headers("admin"))).json()
    assert (after["priority"], after["title"], after["resolution_notes"]) == (
        "P3",
        "Compressor noise",
        None,
    )


async def test_engineer_can_patch_resolution_notes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await _new_ticket(db, t, assign_to=t.engineers[0])
    response = await client.patch(
        f"{TICKETS}/{ticket.id}",
        json={"resolution_notes": "Replaced the valve", "fault_code": "E31"},
        headers={**t.headers("engineer1"), "If-Match": f'"v{ticket.version}"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["resolution_notes"] == "Replaced the valve"
    assert response.json()["version"] == ticket.version + 1
    assert response.headers["etag"] == f'"v{ticket.version + 1}"'


async def test_viewer_cannot_patch_ticket(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket = await _new_ticket(db, t)
    response = await client.patch(
        f"{TICKETS}/{ticket.id}",
        json={"title": "Viewer was here"},
        headers={**t.headers("viewer"), "If-Match": f'"v{ticket.version}"'},
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    after = (await client.get(f"{TICKETS}/{ticket.id}", headers=t.headers("admin"))).json()
    assert after["title"] == "Compressor noise"


async def test_creating_a_user_with_engineer_role_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "email": email,
        "full_name": "New Person",
        "password": "long-enough-pw",
        "role": "engineer",
    }
    response = await client.post("/api/v1/users", json=body, headers=t.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unprocessable"
    assert "/api/v1/engineers" in response.json()["detail"]
    assert await db.scalar(select(User.id).where(User.email == email)) is None
    # The same body with a back-office role is fine, so the role is what was refused.
    agent = await client.post(
        "/api/v1/users", json={**body, "role": "agent"}, headers=t.headers("admin")
    )
    assert agent.status_code == 201, agent.text


@pytest.mark.parametrize("field", ["org_id", "is_active", "password_hash"])
async def test_creating_a_user_with_server_owned_field_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, field: str
) -> None:
    t = await make_tenant(db)
    other = await make_tenant(db)
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    values = {"org_id": str(other.org.id), "is_active": True, "password_hash": "x"}
    body = {
        "email": email,
        "full_name": "New Person",
        "password": "long-enough-pw",
        "role": "agent",
        field: values[field],
    }
    response = await client.post("/api/v1/users", json=body, headers=t.headers("admin"))
    _assert_rejected_field(response, field)
    assert await db.scalar(select(User.id).where(User.email == email)) is None
