"""A van is named after its engineer and a site's location after the customer's site; a
caller without engineers:read or customers:read reads "Van" and "Customer site". These
are the other ways the names got out: the list's cursor (readable base64 of the last
row's sort value, which was the real name), the list's order (by the real names), and
the problems naming a location (a stock shortage in a van named its engineer)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import service as auth_service
from server.parts import service as parts_service
from server.parts.locations import ensure_site_location
from tests.fixtures.factories import Tenant, make_location, make_part, make_tenant, make_ticket
from tests.fixtures.factories import move as record_move

LOCATIONS = "/api/v1/stock-locations"


async def _key(db: AsyncSession, t: Tenant, *scopes: str) -> dict[str, str]:
    _, secret = await auth_service.create_api_key(
        db, t.actor("admin"), name=" ".join(scopes), scopes=list(scopes)
    )
    return {"Authorization": f"Bearer {secret}"}


def _decoded(cursor: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


async def _pages(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[list[str], str]:
    """Every location's shown name, one per page, and every cursor's text."""
    names, cursors, cursor = [], "", None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await client.get(LOCATIONS, params=params, headers=headers)
        assert page.status_code == 200, page.text
        names += [item["name"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return names, cursors
        cursors += json.dumps(_decoded(cursor), ensure_ascii=False)


async def test_the_location_list_and_its_cursors_hold_only_the_names_the_caller_reads(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.site
    admin = t.actor("admin")
    await make_location(db, admin, name="Central")
    for engineer in t.engineers:
        engineer.display_name = f"Zhang {engineer.id.hex[:6]}"
        await parts_service.ensure_van(db, engineer)
    t.site.name = "Hualian Pudong"
    await ensure_site_location(db, t.site)
    parts_only = await _key(db, t, "parts:read")
    everything = await _key(db, t, "parts:read", "engineers:read", "customers:read")
    await db.flush()

    names, cursors = await _pages(client, parts_only)
    assert sorted(names) == sorted(["Central", "Customer site", "Van", "Van"]), names
    assert names == sorted(names), "ordered by what the caller reads"
    for secret in ("Zhang", "Hualian"):
        assert secret not in cursors, cursors
    full, _ = await _pages(client, everything)
    assert any(name.startswith("Van: Zhang") for name in full)
    assert "Site: Hualian Pudong" in full


async def test_problems_name_a_van_only_to_callers_who_read_its_engineer(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer
    admin = t.actor("admin")
    engineer = t.engineers[0]
    engineer.display_name = "Li Na"
    van = await parts_service.ensure_van(db, engineer)
    warehouse = await make_location(db, admin)
    part = await make_part(db, admin)
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=engineer)
    await record_move(db, admin, part_id=part.id, kind="receive", quantity=2, to_location_id=van.id)
    await record_move(
        db,
        admin,
        part_id=part.id,
        kind="reserve",
        quantity=1,
        from_location_id=van.id,
        ticket_id=ticket.id,
    )
    stock_keeper = await _key(db, t, "parts:read", "parts:write")
    await db.flush()
    base = {"part_id": str(part.id)}
    attempts: list[dict[str, Any]] = [
        {"kind": "transfer", "quantity": "5", "from_location_id": str(van.id)}
        | {"to_location_id": str(warehouse.id)},
        {"kind": "adjust", "quantity": "2", "to_location_id": str(van.id), "reason": "count"}
        | {"direction": "decrease"},
        {"kind": "release", "quantity": "3", "from_location_id": str(van.id)}
        | {"ticket_id": str(ticket.id)},
    ]
    for body in attempts:
        response = await client.post(
            "/api/v1/stock-movements", json=base | body, headers=stock_keeper
        )
        assert 400 <= response.status_code < 500, (body, response.text)
        assert "Li Na" not in response.text and "Van" in response.json()["detail"], response.text
    van.active = False
    await db.flush()
    response = await client.post(
        "/api/v1/stock-movements",
        json=base | {"kind": "receive", "quantity": "1", "to_location_id": str(van.id)},
        headers=stock_keeper,
    )
    assert response.status_code == 422 and "Li Na" not in response.text, response.text
    # The dispatcher, who reads engineers, still reads the name.
    response = await client.post(
        "/api/v1/stock-movements",
        json=base | attempts[0],
        headers=t.headers("dispatcher"),
    )
    assert "Van: Li Na" in response.json()["detail"], response.text


async def test_stock_reports_order_vans_by_what_the_caller_reads(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The on-hand and turnover reports were ordered by the real names (ORDER BY l.name):
    a parts:read key saw its "Van" rows in the order of their engineers' names."""
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await make_part(db, admin)
    vans = []
    for engineer in t.engineers:
        vans.append(await parts_service.ensure_van(db, engineer))
    # Name order opposite to id order: the first van (lower id) gets the later name.
    by_id = sorted(vans, key=lambda v: v.id)
    for van, name in zip(by_id, ("Zhou Yu", "An Qi"), strict=True):
        engineer = next(e for e in t.engineers if e.id == van.engineer_id)
        engineer.display_name = name
        van.name = f"Van: {name}"
        await record_move(
            db, admin, part_id=part.id, kind="receive", quantity=1, to_location_id=van.id
        )
    parts_only = await _key(db, t, "parts:read")
    everything = await _key(db, t, "parts:read", "engineers:read")
    await db.flush()

    reports = "/api/v1/stock-reports"
    now = dt.datetime.now(dt.UTC)
    window = {
        "from": (now - dt.timedelta(days=30)).isoformat(),
        "to": (now + dt.timedelta(days=1)).isoformat(),
    }
    for headers, expected in ((parts_only, by_id), (everything, by_id[::-1])):
        on_hand = await client.get(
            f"{reports}/on-hand", params={"by_part": "true"}, headers=headers
        )
        turnover = await client.get(f"{reports}/turnover", params=window, headers=headers)
        assert on_hand.status_code == turnover.status_code == 200, (on_hand.text, turnover.text)
        ids = [str(v.id) for v in expected]
        assert [x["location_id"] for x in on_hand.json()["locations"]] == ids
        assert [x["location_id"] for x in on_hand.json()["lines"]] == ids
        assert [x["location_id"] for x in turnover.json()["locations"]] == ids
