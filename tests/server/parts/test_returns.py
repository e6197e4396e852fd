"""Returns to the vendor (RMA): opened by defective returns or by hand, moved on by a table."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import OutboxEvent
from server.parts import service as parts
from server.parts.returns import service as returns
from server.parts.schemas import LocationCreate, PartCreate
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_customer, make_tenant, make_ticket

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
    part = await parts.create_part(
        db, t.actor("admin"), data=PartCreate(sku="V-2", name="Valve", serialised=True)
    )
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


# --- warranty on the organisation's date; serial numbers of returns opened by hand ----------


async def _open_by_hand(
    db: AsyncSession, t: Tenant, part_id: uuid.UUID, asset_id: uuid.UUID, now: dt.datetime
) -> bool:
    rma = await returns.create(
        db,
        t.actor("admin"),
        part_id=part_id,
        serial_number=None,
        ticket_id=None,
        asset_id=asset_id,
        location_id=None,
        notes="",
        now=now,
    )
    return rma.warranty


async def test_warranty_is_judged_on_the_organisations_date_not_the_servers(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    assert t.asset
    part = await parts.create_part(db, t.actor("admin"), data=PartCreate(sku="W-1", name="Fan"))
    t.asset.warranty_end = dt.date(2026, 11, 24)
    t.org.timezone = "Asia/Shanghai"  # UTC+8
    await db.flush()
    # 23:30 on the last day in Shanghai (15:30 UTC): still covered.
    assert await _open_by_hand(
        db, t, part.id, t.asset.id, dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    )
    # 00:30 the next day in Shanghai, though UTC still says the 24th: no longer covered.
    assert not await _open_by_hand(
        db, t, part.id, t.asset.id, dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.UTC)
    )
    t.org.timezone = "America/Los_Angeles"  # UTC-8 in November
    await db.flush()
    # 23:30 on the last day in Los Angeles, though UTC already says the 25th: covered.
    assert await _open_by_hand(
        db, t, part.id, t.asset.id, dt.datetime(2026, 11, 25, 7, 30, tzinfo=dt.UTC)
    )
    assert not await _open_by_hand(
        db, t, part.id, t.asset.id, dt.datetime(2026, 11, 25, 8, 30, tzinfo=dt.UTC)
    )


async def test_warranty_over_http_uses_the_organisations_today(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """On the real clock: a zone whose date differs from UTC's right now (Kiritimati is
    UTC+14, Pago Pago UTC-11), so the server's date would give the wrong answer."""
    t = await make_tenant(db)
    assert t.asset
    part = await parts.create_part(db, t.actor("admin"), data=PartCreate(sku="W-2", name="Fan"))
    utc_now = dt.datetime.now(dt.UTC)
    zone = "Pacific/Kiritimati" if utc_now.hour >= 10 else "Pacific/Pago_Pago"
    local_today = utc_now.astimezone(ZoneInfo(zone)).date()
    assert local_today != utc_now.date()
    t.org.timezone = zone
    for end, covered in ((local_today, True), (local_today - dt.timedelta(days=1), False)):
        t.asset.warranty_end = end
        await db.flush()
        response = await client.post(
            RMA,
            json={"part_id": str(part.id), "asset_id": str(t.asset.id)},
            headers=t.headers("admin"),
        )
        assert response.status_code == 201, response.text
        assert response.json()["warranty"] is covered, (zone, end)


async def _installed_unit(
    client: httpx.AsyncClient, db: AsyncSession, t: Tenant, serial: str
) -> tuple[str, Ticket]:
    """A serialised part whose unit ``serial`` is installed in the tenant's asset."""
    assert t.customer and t.site and t.asset
    admin = t.actor("admin")
    part = await parts.create_part(
        db, admin, data=PartCreate(sku=f"C-{serial}", name="Compressor", serialised=True)
    )
    van = await parts.ensure_van(db, t.engineers[0])
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await db.flush()
    base = {"part_id": str(part.id), "quantity": "1", "serial_numbers": [serial]}
    received = await client.post(
        "/api/v1/stock-movements",
        json={**base, "kind": "receive", "to_location_id": str(van.id)},
        headers=t.headers("admin"),
    )
    assert received.status_code == 201, received.text
    consumed = await client.post(
        "/api/v1/stock-movements",
        json={
            **base,
            "kind": "consume",
            "from_location_id": str(van.id),
            "ticket_id": str(ticket.id),
        },
        headers=t.headers("engineer1"),
    )
    assert consumed.status_code == 201, consumed.text
    return str(part.id), ticket


async def test_a_serial_number_needs_a_serialised_part(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    plain = await parts.create_part(db, t.actor("admin"), data=PartCreate(sku="P-1", name="Fuse"))
    tracked = await parts.create_part(
        db, t.actor("admin"), data=PartCreate(sku="P-2", name="Board", serialised=True)
    )
    await db.flush()
    refused = await client.post(
        RMA, json={"part_id": str(plain.id), "serial_number": "X1"}, headers=admin
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "serial_number"
    assert "not serialised" in refused.json()["detail"]
    # A serialised part may be returned with its serial unknown, or a serial never recorded
    # (fitted at the factory, or before the part was tracked).
    for body in ({}, {"serial_number": "NEVER-SEEN"}):
        opened = await client.post(RMA, json={"part_id": str(tracked.id), **body}, headers=admin)
        assert opened.status_code == 201, opened.text


async def test_an_installed_unit_must_be_in_the_returns_asset(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.asset
    admin = t.headers("admin")
    part_id, ticket = await _installed_unit(client, db, t, "U1")
    _, _, elsewhere = await make_customer(db, t.org)
    await db.flush()
    wrong = await client.post(
        RMA,
        json={"part_id": part_id, "serial_number": "U1", "asset_id": str(elsewhere.id)},
        headers=admin,
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["field"] == "serial_number"
    assert wrong.json()["unit_asset_id"] == str(t.asset.id)
    # Named by the work order of the asset it is in: fine.
    right = await client.post(
        RMA,
        json={"part_id": part_id, "serial_number": "U1", "ticket_id": str(ticket.id)},
        headers=admin,
    )
    assert right.status_code == 201, right.text
    assert right.json()["asset_id"] == str(t.asset.id)


async def test_a_unit_has_one_open_return_at_a_time(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.asset
    admin = t.headers("admin")
    part_id, ticket = await _installed_unit(client, db, t, "U2")
    # No asset named: the return is for the asset the unit is installed in.
    first = await client.post(RMA, json={"part_id": part_id, "serial_number": "U2"}, headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["asset_id"] == str(t.asset.id) and first.json()["warranty"] is True
    second = await client.post(
        RMA,
        json={"part_id": part_id, "serial_number": "U2", "ticket_id": str(ticket.id)},
        headers=admin,
    )
    assert second.status_code == 409, second.text
    problem = second.json()
    assert problem["field"] == "serial_number" and problem["return_id"] == first.json()["id"]
    assert f"{first.json()['number']} is already open" in problem["detail"]
    # Another serial, or the same serial of another part, is another unit.
    other_serial = await client.post(
        RMA, json={"part_id": part_id, "serial_number": "U3"}, headers=admin
    )
    assert other_serial.status_code == 201, other_serial.text
    other_part = await parts.create_part(
        db, t.actor("admin"), data=PartCreate(sku="C-OTHER", name="Pump", serialised=True)
    )
    await db.flush()
    same_serial = await client.post(
        RMA, json={"part_id": str(other_part.id), "serial_number": "U2"}, headers=admin
    )
    assert same_serial.status_code == 201, same_serial.text
    # Once the first is closed (scrapped), the unit may be returned again.
    url = f"{RMA}/{first.json()['id']}/transitions"
    assert (await client.post(url, json={"status": "scrapped"}, headers=admin)).status_code == 200
    again = await client.post(RMA, json={"part_id": part_id, "serial_number": "U2"}, headers=admin)
    assert again.status_code == 201, again.text
