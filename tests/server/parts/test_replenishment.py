"""Replenishment levels: one event per fall below the minimum; van top-up suggestions."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import OutboxEvent
from server.parts import service as parts
from server.parts.schemas import LocationCreate, MovementCreate, PartCreate
from tests.fixtures.factories import make_tenant, make_ticket


async def _below_events(db: AsyncSession, org_id: object) -> int:
    return int(
        await db.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.org_id == org_id, OutboxEvent.topic == "stock.below_minimum")
        )
        or 0
    )


async def test_falling_below_the_minimum_raises_one_event_per_crossing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await parts.create_part(db, admin, data=PartCreate(sku="F-1", name="Filter"))
    store = await parts.create_location(db, admin, data=LocationCreate(kind="warehouse", name="W"))
    await db.flush()
    url = f"/api/v1/stock-locations/{store.id}/levels/{part.id}"
    create = {**t.headers("admin"), "If-None-Match": "*"}
    level = await client.put(url, json={"minimum": "3", "target": "10"}, headers=create)
    assert level.status_code == 200 and level.json()["below_minimum"] is True  # nothing there
    replace = {**t.headers("admin"), "If-Match": level.headers["etag"]}
    bad = await client.put(url, json={"minimum": "5", "target": "2"}, headers=replace)
    assert bad.status_code == 422

    def move(kind: str, qty: int) -> MovementCreate:
        where = "to_location_id" if kind == "receive" else "from_location_id"
        extra = {"reason": "broken"} if kind == "scrap" else {}
        return MovementCreate(
            kind=kind, part_id=part.id, quantity=qty, **{where: store.id}, **extra
        )

    await parts.create_movement(db, admin, data=move("receive", 5))
    assert await _below_events(db, t.org.id) == 0
    await parts.create_movement(db, admin, data=move("scrap", 3))  # 5 -> 2: crosses
    await parts.create_movement(db, admin, data=move("scrap", 1))  # 2 -> 1: still below
    assert await _below_events(db, t.org.id) == 1
    await parts.create_movement(db, admin, data=move("receive", 4))  # 1 -> 5: re-arms
    await parts.create_movement(db, admin, data=move("scrap", 3))  # 5 -> 2: crosses again
    assert await _below_events(db, t.org.id) == 2


async def test_suggested_top_up_is_the_larger_of_target_and_30_day_use_less_available(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site
    admin = t.actor("admin")
    fuse = await parts.create_part(db, admin, data=PartCreate(sku="A-FUSE", name="Fuse"))
    relay = await parts.create_part(db, admin, data=PartCreate(sku="B-RELAY", name="Relay"))
    van = await parts.ensure_van(db, t.engineers[0])
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, assign_to=t.engineers[0]
    )
    for part in (fuse, relay):
        await parts.create_movement(
            db,
            admin,
            data=MovementCreate(kind="receive", part_id=part.id, quantity=2, to_location_id=van.id),
        )
    # The van used 8 fuses this month (going negative: field use is never refused).
    await parts.create_movement(
        db,
        t.actor("engineer1"),
        data=MovementCreate(
            kind="consume",
            part_id=fuse.id,
            quantity=8,
            from_location_id=van.id,
            ticket_id=ticket.id,
        ),
    )
    await db.flush()
    headers = {**t.headers("admin"), "If-None-Match": "*"}
    await client.put(
        f"/api/v1/stock-locations/{van.id}/levels/{fuse.id}",
        json={"minimum": "1", "target": "4"},
        headers=headers,
    )
    await client.put(
        f"/api/v1/stock-locations/{van.id}/levels/{relay.id}",
        json={"minimum": "1", "target": "5"},
        headers=headers,
    )
    response = await client.get(
        f"/api/v1/stock-locations/{van.id}/suggested-top-up", headers=t.headers("engineer1")
    )
    assert response.status_code == 200
    got = {r["sku"]: (r["consumed_30d"], r["available"], r["suggested"]) for r in response.json()}
    assert got == {
        "A-FUSE": ("8.000", "-6.000", "14.000"),  # max(4, 8) - (-6)
        "B-RELAY": ("0", "2.000", "3.000"),  # max(5, 0) - 2
    }
    other_van = await parts.ensure_van(db, t.engineers[1])
    url = f"/api/v1/stock-locations/{other_van.id}/suggested-top-up"
    assert (await client.get(url, headers=t.headers("engineer1"))).status_code == 404
    other = await make_tenant(db, "Other")
    url = f"/api/v1/stock-locations/{van.id}/suggested-top-up"
    assert (await client.get(url, headers=other.headers("admin"))).status_code == 404
    level = f"/api/v1/stock-locations/{van.id}/levels/{fuse.id}"
    body = {"minimum": "1", "target": "2"}
    create = {**other.headers("admin"), "If-None-Match": "*"}
    assert (await client.put(level, json=body, headers=create)).status_code == 404
    mine = {**t.headers("engineer1"), "If-None-Match": "*"}
    assert (await client.put(level, json=body, headers=mine)).status_code == 403
