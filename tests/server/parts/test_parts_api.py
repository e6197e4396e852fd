"""The spare-parts API over HTTP: catalogue, locations and who may move what."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts_service
from server.parts.models import StockMovement
from tests.fixtures.factories import (
    Tenant,
    make_customer,
    make_location,
    make_part,
    make_tenant,
    make_ticket,
    move,
)

PARTS = "/api/v1/parts"
LOCATIONS = "/api/v1/stock-locations"
MOVEMENTS = "/api/v1/stock-movements"


async def _create_part(
    client: httpx.AsyncClient, t: Tenant, who: str = "dispatcher", **fields: Any
) -> httpx.Response:
    body = {"sku": "CMP-200-A", "name": "Compressor relay 24 V", **fields}
    return await client.post(PARTS, json=body, headers=t.headers(who))


async def _movements(db: AsyncSession, t: Tenant) -> int:
    count = await db.scalar(select(func.count()).where(StockMovement.org_id == t.org.id))
    return int(count or 0)


async def test_part_is_created_read_and_listed(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    created = await _create_part(client, t, cost="18.40", compatible_models=["CH-200"])
    assert created.status_code == 201, created.text
    part = created.json()
    assert created.headers["location"] == f"{PARTS}/{part['id']}"
    assert created.headers["etag"] == '"v1"'

    read = await client.get(f"{PARTS}/{part['id']}", headers=t.headers("engineer1"))
    assert read.status_code == 200, read.text
    assert read.json()["sku"] == "CMP-200-A"
    assert read.json()["cost"] == "18.40"
    listed = await client.get(PARTS, headers=t.headers("viewer"))
    assert [p["id"] for p in listed.json()["items"]] == [part["id"]]


async def test_duplicate_sku_in_one_org_is_a_409_but_another_org_may_use_it(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    other = await make_tenant(db)
    assert (await _create_part(client, t)).status_code == 201

    again = await _create_part(client, t, name="Another relay")
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "conflict"
    assert again.json()["field"] == "sku"
    elsewhere = await _create_part(client, other)
    assert elsewhere.status_code == 201, elsewhere.text
    listed = await client.get(PARTS, headers=t.headers("dispatcher"))
    assert [p["name"] for p in listed.json()["items"]] == ["Compressor relay 24 V"]


async def test_catalogue_search_by_text_sku_barcode_and_model(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    relay = await make_part(
        db, admin, sku="RLY-24", name="Relay 24 V", barcode="690123", compatible_models=["CH-200"]
    )
    fan = await make_part(db, admin, sku="FAN-90", name="Condenser fan", compatible_models=["X9"])
    await make_part(db, admin, sku="FLT-100", name="Filter 100% cotton")
    await db.flush()

    async def search(**params: str) -> list[str]:
        response = await client.get(PARTS, params=params, headers=t.headers("engineer1"))
        assert response.status_code == 200, response.text
        return [p["sku"] for p in response.json()["items"]]

    assert await search(q="relay") == [relay.sku]
    assert await search(q="fan-9") == [fan.sku]
    assert await search(q="100%") == ["FLT-100"]  # the % is literal, not a wildcard
    assert await search(q="_") == []
    assert await search(sku="FAN-90") == [fan.sku]
    assert await search(sku="FAN") == []
    assert await search(barcode="690123") == [relay.sku]
    assert await search(model="CH-200") == [relay.sku]
    assert await search(model="CH") == []


async def test_part_patch_needs_a_current_if_match(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    part = (await _create_part(client, t)).json()
    url = f"{PARTS}/{part['id']}"
    headers = t.headers("dispatcher")

    missing = await client.patch(url, json={"price": "39.00"}, headers=headers)
    assert missing.status_code == 428, missing.text
    ok = await client.patch(url, json={"price": "39.00"}, headers={**headers, "If-Match": '"v1"'})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["price"], ok.json()["version"], ok.headers["etag"]) == ("39.00", 2, '"v2"')
    stale = await client.patch(url, json={"price": "1.00"}, headers={**headers, "If-Match": '"v1"'})
    assert stale.status_code == 412, stale.text
    assert (await client.get(url, headers=headers)).json()["price"] == "39.00"


async def test_engineer_cannot_create_or_change_parts(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    refused = await _create_part(client, t, who="engineer1")
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden"
    part = await make_part(db, t.actor("admin"))
    await db.flush()
    patched = await client.patch(
        f"{PARTS}/{part.id}",
        json={"price": "1.00"},
        headers={**t.headers("engineer1"), "If-Match": '"v1"'},
    )
    assert patched.status_code == 403, patched.text
    listed = await client.get(PARTS, headers=t.headers("dispatcher"))
    assert [p["id"] for p in listed.json()["items"]] == [str(part.id)]


async def test_engineer_lists_only_their_own_van(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    van1 = await parts_service.ensure_van(db, t.engineers[0])
    van2 = await parts_service.ensure_van(db, t.engineers[1])
    warehouse = await make_location(db, admin)
    await db.flush()

    mine = await client.get(LOCATIONS, headers=t.headers("engineer1"))
    assert mine.status_code == 200, mine.text
    assert [x["id"] for x in mine.json()["items"]] == [str(van1.id)]
    assert mine.json()["items"][0]["engineer_id"] == str(t.engineers[0].id)
    everything = await client.get(LOCATIONS, headers=t.headers("dispatcher"))
    ids = {x["id"] for x in everything.json()["items"]}
    assert ids == {str(van1.id), str(van2.id), str(warehouse.id)}
    for hidden in (van2.id, warehouse.id):
        response = await client.get(f"{LOCATIONS}/{hidden}", headers=t.headers("engineer1"))
        assert response.status_code == 404, response.text


async def test_engineer_cannot_consume_for_another_engineers_work_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    c2, s2, a2 = await make_customer(db, t.org)
    theirs = await make_ticket(db, t.actor("dispatcher"), c2, s2, a2, assign_to=t.engineers[1])
    part = await make_part(db, admin)
    van1 = await parts_service.ensure_van(db, t.engineers[0])
    await move(db, admin, kind="receive", part_id=part.id, quantity=5, to_location_id=van1.id)
    await db.flush()
    before = await _movements(db, t)

    response = await client.post(
        MOVEMENTS,
        json={
            "kind": "consume",
            "part_id": str(part.id),
            "quantity": "1",
            "from_location_id": str(van1.id),
            "ticket_id": str(theirs.id),
        },
        headers=t.headers("engineer1"),
    )

    assert response.status_code in (404, 422), response.text
    assert await _movements(db, t) == before


async def test_engineer_cannot_move_stock_out_of_another_engineers_van(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site
    admin = t.actor("admin")
    mine = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0]
    )
    part = await make_part(db, admin)
    van2 = await parts_service.ensure_van(db, t.engineers[1])
    await move(db, admin, kind="receive", part_id=part.id, quantity=5, to_location_id=van2.id)
    await db.flush()
    before = await _movements(db, t)

    response = await client.post(
        MOVEMENTS,
        json={
            "kind": "consume",
            "part_id": str(part.id),
            "quantity": "1",
            "from_location_id": str(van2.id),
            "ticket_id": str(mine.id),
        },
        headers=t.headers("engineer1"),
    )

    assert response.status_code == 404, response.text
    assert await _movements(db, t) == before
    balances = await client.get(f"{LOCATIONS}/{van2.id}/balances", headers=t.headers("dispatcher"))
    assert [b["on_hand"] for b in balances.json()] == ["5.000"]


async def test_engineer_consumes_from_own_van_and_sees_the_line(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site
    admin = t.actor("admin")
    mine = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0]
    )
    part = await make_part(db, admin)
    van1 = await parts_service.ensure_van(db, t.engineers[0])
    await move(db, admin, kind="receive", part_id=part.id, quantity=2, to_location_id=van1.id)
    await db.flush()

    response = await client.post(
        MOVEMENTS,
        json={
            "kind": "consume",
            "part_id": str(part.id),
            "quantity": "1",
            "from_location_id": str(van1.id),
            "ticket_id": str(mine.id),
        },
        headers=t.headers("engineer1"),
    )

    assert response.status_code == 201, response.text
    site = response.json()["to_location_id"]
    site_location = await client.get(f"{LOCATIONS}/{site}", headers=t.headers("dispatcher"))
    assert site_location.json()["kind"] == "customer_site"
    assert site_location.json()["site_id"] == str(t.site.id)
    lines = await client.get(MOVEMENTS, headers=t.headers("engineer1"))
    assert [m["kind"] for m in lines.json()["items"]] == ["receive", "consume"]


async def test_ledger_verify_is_ok_for_admin(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await make_part(db, admin)
    warehouse = await make_location(db, admin)
    van = await parts_service.ensure_van(db, t.engineers[0])
    await move(db, admin, kind="receive", part_id=part.id, quantity=4, to_location_id=warehouse.id)
    await move(
        db,
        admin,
        kind="transfer",
        part_id=part.id,
        quantity=3,
        from_location_id=warehouse.id,
        to_location_id=van.id,
    )
    await db.flush()

    response = await client.get(f"{MOVEMENTS}/verify", headers=t.headers("admin"))

    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "mismatches": []}
