"""Returns to the vendor (RMA): opened by defective returns or by hand, moved on by a table."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import OutboxEvent
from server.parts import service as parts
from server.parts.schemas import LocationCreate, PartCreate
from tests.fixtures.factories import make_customer, make_tenant, make_ticket

RMA = "/api/v1/part-returns"


async def test_a_defective_return_opens_a_numbered_warranty_rma(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    part = await parts.create_part(db, t.actor("admin"), data=PartCreate(sku="V-1", name="Valve"))
    van = await parts.ensure_van(db, t.engineers[0])
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await db.flush()
    body = {
        "kind": "return",
        "part_id": str(part.id),
        "quantity": "1",
        "to_location_id": str(van.id),
        "ticket_id": str(ticket.id),
        "condition": "good",
    }
    assert (
        await client.post("/api/v1/stock-movements", json=body, headers=t.headers("engineer1"))
    ).status_code == 201
    assert (await client.get(RMA, headers=t.headers("admin"))).json()["items"] == []
    body["condition"] = "defective"
    response = await client.post(
        "/api/v1/stock-movements", json=body, headers=t.headers("engineer1")
    )
    assert response.status_code == 201
    (rma,) = (await client.get(RMA, headers=t.headers("engineer1"))).json()["items"]
    assert rma["number"] == "RMA-000001"
    assert rma["status"] == "awaiting_return" and rma["warranty"] is True
    assert rma["ticket_id"] == str(ticket.id) and rma["asset_id"] == str(t.asset.id)
    assert rma["movement_id"] == response.json()["id"]
    topics = await db.scalars(
        select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == rma["id"])
    )
    assert list(topics) == ["part_return.opened"]


async def test_transitions_follow_the_table_and_each_writes_an_event(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    part = await parts.create_part(db, t.actor("admin"), data=PartCreate(sku="V-2", name="Valve"))
    vendor = await parts.create_location(
        db, t.actor("admin"), data=LocationCreate(kind="vendor", name="Acme")
    )
    _, _, asset = await make_customer(db, t.org)
    asset.warranty_end = dt.date.today() - dt.timedelta(days=1)
    await db.flush()
    created = await client.post(
        RMA,
        json={"part_id": str(part.id), "asset_id": str(asset.id), "serial_number": "S1"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    rma = created.json()
    assert rma["warranty"] is False and rma["allowed_next"] == ["received", "scrapped"]
    url = f"{RMA}/{rma['id']}/transitions"
    wrong = await client.post(url, json={"status": "repaired"}, headers=admin)
    assert wrong.status_code == 409
    assert wrong.json()["allowed"] == ["received", "scrapped"]
    ok = await client.post(
        url, json={"status": "received", "location_id": str(vendor.id)}, headers=admin
    )
    assert ok.status_code == 200 and ok.json()["location_id"] == str(vendor.id)
    for status in ("under_repair", "repaired"):
        assert (await client.post(url, json={"status": status}, headers=admin)).status_code == 200
    final = await client.post(url, json={"status": "credited"}, headers=admin)
    assert final.status_code == 409 and final.json()["allowed"] == []
    topics = await db.scalars(
        select(OutboxEvent.topic)
        .where(OutboxEvent.aggregate_id == rma["id"])
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
    )
    assert list(topics) == ["part_return.opened"] + ["part_return.status_changed"] * 3
    assert (
        await client.post(url, json={"status": "scrapped"}, headers=t.headers("engineer1"))
    ).status_code == 403


async def test_returns_are_invisible_to_other_orgs_and_to_other_engineers(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    part = await parts.create_part(db, t.actor("admin"), data=PartCreate(sku="V-3", name="Valve"))
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[1]
    )
    await db.flush()
    rma = (
        await client.post(
            RMA,
            json={"part_id": str(part.id), "ticket_id": str(ticket.id)},
            headers=t.headers("admin"),
        )
    ).json()
    assert rma["asset_id"] == str(t.asset.id)
    assert (
        await client.get(f"{RMA}/{rma['id']}", headers=t.headers("engineer2"))
    ).status_code == 200
    assert (
        await client.get(f"{RMA}/{rma['id']}", headers=t.headers("engineer1"))
    ).status_code == 404
    assert (await client.get(RMA, headers=t.headers("engineer1"))).json()["items"] == []
    other = await make_tenant(db, "Other")
    assert (
        await client.get(f"{RMA}/{rma['id']}", headers=other.headers("admin"))
    ).status_code == 404
    foreign = await client.post(RMA, json={"part_id": str(part.id)}, headers=other.headers("admin"))
    assert foreign.status_code == 422
