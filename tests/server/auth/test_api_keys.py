"""Integration API keys: shown once, stored hashed, scoped, revocable, per tenant."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import security
from server.auth.models import ApiKey
from tests.fixtures.factories import Tenant, make_tenant

KEYS = "/api/v1/api-keys"
TICKETS = "/api/v1/tickets"


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _create_key(
    client: httpx.AsyncClient, t: Tenant, scopes: list[str], name: str = "ERP sync"
) -> dict[str, Any]:
    response = await client.post(
        KEYS, json={"name": name, "scopes": scopes}, headers=t.headers("admin")
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _ticket_body(t: Tenant, title: str = "Pump leaking") -> dict[str, str]:
    assert t.customer is not None
    return {"customer_id": str(t.customer.id), "title": title}


async def test_admin_creates_key_and_secret_is_shown_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    created = await _create_key(client, t, ["tickets:read"])
    secret = created["key"]
    assert secret.startswith("ffk_")
    assert created["prefix"] and created["prefix"] in secret
    assert created["scopes"] == ["tickets:read"]

    listed = await client.get(KEYS, headers=t.headers("admin"))
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["id"] == created["id"]
    assert "key" not in item
    assert secret not in listed.text


async def test_stored_key_row_holds_only_a_hash(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    created = await _create_key(client, t, ["tickets:read"])
    secret = created["key"]
    row = await db.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(created["id"])))
    assert row is not None
    assert row.key_hash == security.digest(secret)
    secret_part = secret.split("_", 2)[2]  # ffk_<prefix>_<secret>; the secret may hold "_"
    for column in inspect(ApiKey).columns:
        value = str(getattr(row, column.key))
        assert secret not in value, column.key
        assert secret_part not in value, column.key


async def test_read_only_key_can_list_tickets_but_not_create(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    secret = (await _create_key(client, t, ["tickets:read"]))["key"]
    listed = await client.get(TICKETS, headers=_bearer(secret))
    assert listed.status_code == 200, listed.text
    created = await client.post(TICKETS, json=_ticket_body(t), headers=_bearer(secret))
    assert created.status_code == 403, created.text
    assert created.headers["content-type"].startswith("application/problem+json")
    assert created.json()["code"] == "forbidden"
    assert "tickets:write" in created.json()["detail"]


async def test_customers_key_cannot_read_tickets(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    secret = (await _create_key(client, t, ["customers:read"]))["key"]
    assert (await client.get("/api/v1/customers", headers=_bearer(secret))).status_code == 200
    response = await client.get(TICKETS, headers=_bearer(secret))
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"


async def test_revoked_key_is_rejected(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    created = await _create_key(client, t, ["tickets:read"])
    assert (await client.get(TICKETS, headers=_bearer(created["key"]))).status_code == 200
    revoked = await client.delete(f"{KEYS}/{created['id']}", headers=t.headers("admin"))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    response = await client.get(TICKETS, headers=_bearer(created["key"]))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_key_with_right_prefix_but_wrong_secret_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    created = await _create_key(client, t, ["tickets:read"])
    forged = f"ffk_{created['prefix']}_{'A' * 43}"
    response = await client.get(TICKETS, headers=_bearer(forged))
    assert response.status_code == 401, response.text


async def test_non_admins_cannot_create_or_list_keys(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    body = {"name": "sneaky", "scopes": ["tickets:read"]}
    for who in ("dispatcher", "agent", "viewer", "engineer1"):
        created = await client.post(KEYS, json=body, headers=t.headers(who))
        assert created.status_code == 403, (who, created.text)
        assert created.json()["code"] == "forbidden"
        assert (await client.get(KEYS, headers=t.headers(who))).status_code == 403
    assert await db.scalar(select(ApiKey.id).where(ApiKey.org_id == t.org.id)) is None


async def test_a_key_cannot_create_keys(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    secret = (await _create_key(client, t, ["tickets:read", "tickets:write"]))["key"]
    response = await client.post(
        KEYS, json={"name": "child", "scopes": ["tickets:read"]}, headers=_bearer(secret)
    )
    assert response.status_code == 403, response.text


async def test_unknown_scope_is_refused(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    response = await client.post(
        KEYS,
        json={"name": "too much", "scopes": ["tickets:read", "admin:everything"]},
        headers=t.headers("admin"),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "admin:everything" in response.json()["detail"]
    assert await db.scalar(select(ApiKey.id).where(ApiKey.org_id == t.org.id)) is None


async def test_revoking_another_orgs_key_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    mine = await make_tenant(db)
    theirs = await make_tenant(db)
    created = await _create_key(client, theirs, ["tickets:read"])
    response = await client.delete(f"{KEYS}/{created['id']}", headers=mine.headers("admin"))
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    # Their key still works and is not in my list.
    assert (await client.get(TICKETS, headers=_bearer(created["key"]))).status_code == 200
    assert (await client.get(KEYS, headers=mine.headers("admin"))).json() == []


async def test_key_sees_only_its_own_orgs_tickets(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    mine = await make_tenant(db)
    theirs = await make_tenant(db)
    theirs_ticket = await client.post(
        TICKETS, json=_ticket_body(theirs), headers=theirs.headers("dispatcher")
    )
    assert theirs_ticket.status_code == 201
    secret = (await _create_key(client, mine, ["tickets:read"]))["key"]
    assert (await client.get(TICKETS, headers=_bearer(secret))).json()["items"] == []
    foreign = await client.get(f"{TICKETS}/{theirs_ticket.json()['id']}", headers=_bearer(secret))
    assert foreign.status_code == 404


async def test_tickets_created_by_a_key_name_the_key(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    created = await _create_key(client, t, ["tickets:read", "tickets:write"], name="SAP bridge")
    response = await client.post(TICKETS, json=_ticket_body(t), headers=_bearer(created["key"]))
    assert response.status_code == 201, response.text
    assert response.json()["created_by"] == "key:SAP bridge"
    listed = await client.get(KEYS, headers=t.headers("admin"))
    assert listed.json()[0]["last_used_at"] is not None


async def _second_admin_deactivates_or_demotes(
    client: httpx.AsyncClient, db: AsyncSession, t: Tenant, change: dict[str, Any]
) -> dict[str, Any]:
    from server.auth.models import Role
    from tests.fixtures.factories import headers_for, make_user

    creator = t.users["admin"]
    key = await _create_key(client, t, ["tickets:read"])
    assert key["created_by"] == str(creator.id)
    other = await make_user(db, t.org, Role.ADMIN)
    url = f"/api/v1/users/{creator.id}"
    read = await client.get(url, headers=headers_for(other))
    response = await client.patch(
        url, json=change, headers={**headers_for(other), "If-Match": read.headers["ETag"]}
    )
    assert response.status_code == 200, response.text
    listed = await client.get(KEYS, headers=headers_for(other))
    assert [k["created_by"] for k in listed.json()] == [str(creator.id)]
    return key


async def test_a_key_keeps_working_when_its_creator_is_deactivated(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Keys belong to the organisation (an ERP sync must not stop the day its admin
    leaves); the list names the creator so the remaining admins can review the key."""
    t = await make_tenant(db)
    key = await _second_admin_deactivates_or_demotes(client, db, t, {"is_active": False})
    assert (await client.get(TICKETS, headers=t.headers("admin"))).status_code == 401
    assert (await client.get(TICKETS, headers=_bearer(key["key"]))).status_code == 200


async def test_a_key_keeps_working_when_its_creator_is_demoted(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    key = await _second_admin_deactivates_or_demotes(client, db, t, {"role": "viewer"})
    assert (await client.get(KEYS, headers=t.headers("admin"))).status_code == 403
    assert (await client.get(TICKETS, headers=_bearer(key["key"]))).status_code == 200
