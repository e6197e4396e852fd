"""Catalogue rules that depend on stock: the serialised flag changes only while none is held."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts
from tests.fixtures.factories import (
    Tenant,
    make_location,
    make_part,
    make_tenant,
    make_ticket,
    move,
)

PARTS = "/api/v1/parts"


async def _patch(
    client: httpx.AsyncClient, t: Tenant, part_id: Any, body: dict[str, Any]
) -> httpx.Response:
    url = f"{PARTS}/{part_id}"
    headers = t.headers("dispatcher")
    etag = (await client.get(url, headers=headers)).headers["etag"]
    return await client.patch(url, json=body, headers={**headers, "If-Match": etag})


async def _read(client: httpx.AsyncClient, t: Tenant, part_id: Any) -> dict[str, Any]:
    response = await client.get(f"{PARTS}/{part_id}", headers=t.headers("dispatcher"))
    body: dict[str, Any] = response.json()
    return body


async def test_serialised_cannot_be_turned_on_while_stock_is_on_hand(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await make_part(db, admin, sku="FLT-1")
    first = await make_location(db, admin)
    second = await make_location(db, admin)
    await move(db, admin, kind="receive", part_id=part.id, quantity=2, to_location_id=first.id)
    await move(db, admin, kind="receive", part_id=part.id, quantity=1, to_location_id=second.id)
    await db.flush()

    refused = await _patch(client, t, part.id, {"serialised": True})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["field"] == "serialised"
    assert "FLT-1 has 3 pcs on hand at 2 locations" in problem["detail"]
    assert (problem["locations"], problem["on_hand"], problem["units"]) == (2, "3", 0)
    assert (await _read(client, t, part.id))["serialised"] is False
    assert (await _read(client, t, part.id))["version"] == 1
    stale = await client.patch(
        f"{PARTS}/{part.id}",
        json={"serialised": True},
        headers={**t.headers("dispatcher"), "If-Match": '"v9"'},
    )
    assert stale.status_code == 412, stale.text  # the version is checked first

    # Setting the flag to what it already is, or changing something else, is fine.
    same = await _patch(client, t, part.id, {"serialised": False, "name": "Filter"})
    assert same.status_code == 200, same.text
    assert (same.json()["serialised"], same.json()["name"]) == (False, "Filter")

    # Counted out everywhere, the flag may change.
    for location, quantity in ((first, 2), (second, 1)):
        await move(
            db,
            admin,
            kind="adjust",
            part_id=part.id,
            quantity=quantity,
            to_location_id=location.id,
            direction="decrease",
            reason="relabelling with serials",
        )
    await db.flush()
    allowed = await _patch(client, t, part.id, {"serialised": True})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["serialised"] is True


async def test_serialised_cannot_be_turned_off_while_tracked_units_are_in_stock(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await make_part(db, admin, sku="CMP-9", serialised=True)
    store = await make_location(db, admin)
    await move(
        db,
        admin,
        kind="receive",
        part_id=part.id,
        quantity=2,
        to_location_id=store.id,
        serial_numbers=["A1", "A2"],
    )
    await db.flush()

    refused = await _patch(client, t, part.id, {"serialised": False})
    assert refused.status_code == 409, refused.text
    assert "2 tracked units in stock" in refused.json()["detail"]
    assert (await _read(client, t, part.id))["serialised"] is True

    await move(
        db,
        admin,
        kind="scrap",
        part_id=part.id,
        quantity=2,
        from_location_id=store.id,
        serial_numbers=["A1", "A2"],
        reason="obsolete",
    )
    await db.flush()
    assert (await _patch(client, t, part.id, {"serialised": False})).status_code == 200


async def test_reserved_or_negative_stock_blocks_but_installed_parts_do_not(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    admin = t.actor("admin")
    part = await make_part(db, admin, sku="FUS-2")
    store = await make_location(db, admin)
    van_ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await move(db, admin, kind="receive", part_id=part.id, quantity=1, to_location_id=store.id)
    await move(
        db,
        admin,
        kind="reserve",
        part_id=part.id,
        quantity=1,
        from_location_id=store.id,
        ticket_id=van_ticket.id,
    )
    await db.flush()
    reserved = await _patch(client, t, part.id, {"serialised": True})
    assert reserved.status_code == 409, reserved.text
    assert "(1 reserved)" in reserved.json()["detail"]

    # Used on the work order: it is installed at the customer site, no longer stock.
    await move(
        db,
        admin,
        kind="consume",
        part_id=part.id,
        quantity=1,
        from_location_id=store.id,
        ticket_id=van_ticket.id,
    )
    await db.flush()
    installed = await _patch(client, t, part.id, {"serialised": True})
    assert installed.status_code == 200, installed.text

    # A van below zero (an engineer used a part the books did not have) is stock to sort
    # out: the flag waits until the van is counted.
    other = await make_part(db, admin, sku="FUS-3")
    van = await parts.ensure_van(db, t.engineers[0])
    await move(
        db,
        t.actor("engineer1"),
        kind="consume",
        part_id=other.id,
        quantity=1,
        from_location_id=van.id,
        ticket_id=van_ticket.id,
    )
    await db.flush()
    negative = await _patch(client, t, other.id, {"serialised": True})
    assert negative.status_code == 409, negative.text
    assert "-1 pcs on hand at 1 location:" in negative.json()["detail"]
    await move(
        db,
        admin,
        kind="adjust",
        part_id=other.id,
        quantity=1,
        to_location_id=van.id,
        direction="increase",
        reason="stock count",
    )
    await db.flush()
    assert (await _patch(client, t, other.id, {"serialised": True})).status_code == 200
