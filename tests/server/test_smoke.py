from __future__ import annotations

import httpx

from tests.fixtures.factories import make_tenant


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["database"] == "ok"


async def test_create_and_read_ticket(client: httpx.AsyncClient, db) -> None:
    t = await make_tenant(db)
    body = {"customer_id": str(t.customer.id), "site_id": str(t.site.id), "title": "Leak"}
    created = await client.post("/api/v1/tickets", json=body, headers=t.headers("dispatcher"))
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["number"] == "WO-000001"
    read = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=t.headers("agent"))
    assert read.status_code == 200
    assert read.headers["etag"] == '"v1"'
