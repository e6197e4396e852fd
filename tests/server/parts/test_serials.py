"""Serial-numbered units: one ledger line per unit, each unit's place and history."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts
from server.parts.locations import ensure_quarantine
from server.parts.models import PartReturn, StockLocation
from server.parts.schemas import LocationCreate, PartCreate
from tests.fixtures.factories import Tenant, make_tenant, make_ticket

MOVES = "/api/v1/stock-movements"


async def _setup(db: AsyncSession) -> tuple[Tenant, str, StockLocation, StockLocation]:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await parts.create_part(
        db, admin, data=PartCreate(sku="CMP-1", name="Compressor", serialised=True)
    )
    store = await parts.create_location(db, admin, data=LocationCreate(kind="warehouse", name="W"))
    van = await parts.ensure_van(db, t.engineers[0])
    await db.flush()
    return t, str(part.id), store, van


async def _post(client: httpx.AsyncClient, t: Tenant, who: str, body: dict) -> httpx.Response:
    return await client.post(MOVES, json=body, headers=t.headers(who))


async def test_serialised_part_movements_must_name_one_serial_per_unit(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, part, store, _ = await _setup(db)
    body = {"kind": "receive", "part_id": part, "quantity": "2", "to_location_id": str(store.id)}
    assert (await _post(client, t, "admin", body)).status_code == 422
    body["serial_numbers"] = ["A1"]
    assert (await _post(client, t, "admin", body)).status_code == 422
    body["serial_numbers"] = ["A1", "A1"]
    assert (await _post(client, t, "admin", body)).status_code == 422
    plain = await parts.create_part(db, t.actor("admin"), data=PartCreate(sku="F-1", name="Fuse"))
    body = {
        "kind": "receive",
        "part_id": str(plain.id),
        "quantity": "1",
        "to_location_id": str(store.id),
        "serial_numbers": ["X"],
    }
    response = await _post(client, t, "admin", body)
    assert response.status_code == 422
    assert "not serialised" in response.json()["detail"]


async def test_receive_creates_units_and_transfer_moves_them_only_from_where_they_are(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, part, store, van = await _setup(db)
    receive = {
        "kind": "receive",
        "part_id": part,
        "quantity": "2",
        "to_location_id": str(store.id),
        "serial_numbers": ["A1", "A2"],
    }
    assert (await _post(client, t, "admin", receive)).status_code == 201
    assert (await _post(client, t, "admin", receive)).status_code == 409  # already known
    units = (
        await client.get(
            "/api/v1/stock-units", params={"part_id": part}, headers=t.headers("admin")
        )
    ).json()
    assert [(u["serial_number"], u["location_id"], u["status"]) for u in units["items"]] == [
        ("A1", str(store.id), "in_stock"),
        ("A2", str(store.id), "in_stock"),
    ]
    transfer = {
        "kind": "transfer",
        "part_id": part,
        "quantity": "1",
        "from_location_id": str(van.id),
        "to_location_id": str(store.id),
        "serial_numbers": ["A1"],
    }
    wrong = await _post(client, t, "admin", transfer)
    assert wrong.status_code == 409 and wrong.json()["code"] == "stock_unit_conflict"
    transfer |= {"from_location_id": str(store.id), "to_location_id": str(van.id)}
    assert (await _post(client, t, "admin", transfer)).status_code == 201
    found = await client.get(
        "/api/v1/stock-units", params={"serial_number": "A1"}, headers=t.headers("admin")
    )
    (unit,) = found.json()["items"]
    assert unit["location_id"] == str(van.id)
    detail = (
        await client.get(f"/api/v1/stock-units/{unit['id']}", headers=t.headers("admin"))
    ).json()
    assert [(h["kind"], h["quantity"]) for h in detail["history"]] == [
        ("receive", "1.000"),
        ("transfer", "1.000"),
    ]
    assert (await client.get("/api/v1/stock-movements/verify", headers=t.headers("admin"))).json()[
        "ok"
    ]


async def test_consume_installs_into_the_asset_and_the_removed_unit_comes_back_defective(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, part, _store, van = await _setup(db)
    assert t.customer and t.site and t.asset
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await db.flush()
    receive = {
        "kind": "receive",
        "part_id": part,
        "quantity": "1",
        "to_location_id": str(van.id),
        "serial_numbers": ["NEW-1"],
    }
    assert (await _post(client, t, "admin", receive)).status_code == 201
    consume = {
        "kind": "consume",
        "part_id": part,
        "quantity": "1",
        "from_location_id": str(van.id),
        "ticket_id": str(ticket.id),
        "serial_numbers": ["NEW-1"],
        "removed_serial_numbers": ["OLD-9"],
    }
    response = await _post(client, t, "engineer1", consume)
    assert response.status_code == 201, response.text
    assert response.json()["serial_number"] == "NEW-1"
    admin = t.headers("admin")
    installed = (
        await client.get("/api/v1/stock-units", params={"asset_id": str(t.asset.id)}, headers=admin)
    ).json()
    assert [(u["serial_number"], u["status"]) for u in installed["items"]] == [
        ("NEW-1", "installed")
    ]
    old = (
        await client.get("/api/v1/stock-units", params={"serial_number": "OLD-9"}, headers=admin)
    ).json()
    quarantine = await ensure_quarantine(db, t.org.id)
    assert [(u["location_id"], u["status"]) for u in old["items"]] == [
        (str(quarantine.id), "returned")
    ]
    lines = (await client.get(MOVES, params={"ticket_id": str(ticket.id)}, headers=admin)).json()
    assert sorted((m["kind"], m["serial_number"], m["condition"]) for m in lines["items"]) == [
        ("consume", "NEW-1", None),
        ("return", "OLD-9", "defective"),
    ]
    rma = await db.scalar(select(PartReturn).where(PartReturn.org_id == t.org.id))
    assert rma is not None and rma.serial_number == "OLD-9" and rma.asset_id == t.asset.id
    # The removed unit is not in that asset any more: removing it again is a conflict.
    receive["serial_numbers"] = ["NEW-2"]
    await _post(client, t, "admin", receive)
    consume |= {"serial_numbers": ["NEW-2"]}
    assert (await _post(client, t, "admin", consume)).status_code == 409


async def test_back_office_consume_of_a_unit_not_in_the_van_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, part, _store, van = await _setup(db)
    assert t.customer and t.site and t.asset
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, t.asset)
    consume = {
        "kind": "consume",
        "part_id": part,
        "quantity": "1",
        "from_location_id": str(van.id),
        "ticket_id": str(ticket.id),
        "serial_numbers": ["GHOST"],
    }
    assert (await _post(client, t, "admin", consume)).status_code == 409


async def test_engineer_sees_units_in_own_van_only_and_other_org_sees_none(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, part, _store, van = await _setup(db)
    other_van = await parts.ensure_van(db, t.engineers[1])
    for where, serial in ((van, "MINE"), (other_van, "THEIRS")):
        body = {
            "kind": "receive",
            "part_id": part,
            "quantity": "1",
            "to_location_id": str(where.id),
            "serial_numbers": [serial],
        }
        assert (await _post(client, t, "admin", body)).status_code == 201
    listed = (await client.get("/api/v1/stock-units", headers=t.headers("engineer1"))).json()
    assert [u["serial_number"] for u in listed["items"]] == ["MINE"]
    theirs = (
        await client.get(
            "/api/v1/stock-units", params={"serial_number": "THEIRS"}, headers=t.headers("admin")
        )
    ).json()
    unit_id = theirs["items"][0]["id"]
    assert (
        await client.get(f"/api/v1/stock-units/{unit_id}", headers=t.headers("engineer1"))
    ).status_code == 404
    other = await make_tenant(db, "Other")
    assert (
        await client.get(f"/api/v1/stock-units/{unit_id}", headers=other.headers("admin"))
    ).status_code == 404
    count = (await client.get("/api/v1/stock-units", headers=other.headers("admin"))).json()
    assert count["items"] == []
    assert await db.scalar(select(func.count()).select_from(PartReturn)) is not None
