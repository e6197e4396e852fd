"""Service sites: the organisation's depots, service centres and partner workshops."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts_service
from server.parts.models import StockLocation
from server.parts.schemas import LocationCreate
from tests.fixtures.factories import make_tenant

URL = "/api/v1/service-sites"
DEPOT = {
    "name": "Minhang depot",
    "kind": "depot",
    "address": "88 Jianchuan Rd, Minhang, Shanghai",
    "lat": 31.0215,
    "lon": 121.4328,
    "territory": "Shanghai-Minhang",
}


async def test_a_depot_with_stock_gets_a_warehouse_of_its_own(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    made = await client.post(URL, json={**DEPOT, "stock": True}, headers=t.headers("dispatcher"))
    assert made.status_code == 201, made.text
    site = made.json()
    assert made.headers["location"] == f"{URL}/{site['id']}" and made.headers["etag"] == '"v1"'
    assert site["active"] and site["stock_location_id"]
    location = await client.get(
        f"/api/v1/stock-locations/{site['stock_location_id']}", headers=t.headers("admin")
    )
    assert location.status_code == 200, location.text
    assert location.json()["kind"] == "warehouse"
    assert location.json()["name"] == "Service site: Minhang depot"
    # Without stock: no location.
    plain = await client.post(
        URL,
        json={**DEPOT, "name": "Pudong centre", "kind": "service_centre"},
        headers=t.headers("admin"),
    )
    assert plain.status_code == 201 and plain.json()["stock_location_id"] is None


async def test_an_existing_warehouse_may_be_named_but_not_a_van_nor_twice(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    warehouse = await parts_service.create_location(
        db, admin, data=LocationCreate(kind="warehouse", name="Central")
    )
    van = await parts_service.ensure_van(db, t.engineers[0])
    await db.commit()
    headers = t.headers("admin")
    as_van = await client.post(
        URL, json={**DEPOT, "stock_location_id": str(van.id)}, headers=headers
    )
    assert as_van.status_code == 422 and as_van.json()["field"] == "stock_location_id"
    assert "warehouse" in as_van.json()["detail"]
    used = await client.post(
        URL, json={**DEPOT, "stock_location_id": str(warehouse.id)}, headers=headers
    )
    assert used.status_code == 201 and used.json()["stock_location_id"] == str(warehouse.id)
    again = await client.post(
        URL,
        json={**DEPOT, "name": "Second", "stock_location_id": str(warehouse.id)},
        headers=headers,
    )
    assert again.status_code == 409 and again.json()["field"] == "stock_location_id"
    both = await client.post(
        URL,
        json={**DEPOT, "name": "Third", "stock": True, "stock_location_id": str(warehouse.id)},
        headers=headers,
    )
    assert both.status_code == 422
    stranger = await make_tenant(db, "Stranger")
    theirs = await client.post(
        URL,
        json={**DEPOT, "stock_location_id": str(warehouse.id)},
        headers=stranger.headers("admin"),
    )
    assert theirs.status_code == 422 and "not found" in theirs.json()["detail"]


async def test_names_are_unique_per_organisation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    other = await make_tenant(db, "Other")
    assert (await client.post(URL, json=DEPOT, headers=t.headers("admin"))).status_code == 201
    twice = await client.post(URL, json={**DEPOT, "stock": True}, headers=t.headers("admin"))
    assert twice.status_code == 409, twice.text
    assert twice.json()["field"] == "name" and "Minhang depot" in twice.json()["detail"]
    # The refused request made no warehouse.
    count = await db.scalar(
        select(func.count()).select_from(StockLocation).where(StockLocation.org_id == t.org.id)
    )
    assert count == 0
    elsewhere = await client.post(URL, json=DEPOT, headers=other.headers("admin"))
    assert elsewhere.status_code == 201


async def test_coordinates_kind_and_text_are_checked(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    bad: list[dict[str, Any]] = [
        {**DEPOT, "lat": 90.5},
        {**DEPOT, "lon": -181},
        {**DEPOT, "lat": "NaN"},
        {**DEPOT, "kind": "warehouse"},
        {**DEPOT, "name": "x" * 201},
        {**DEPOT, "address": "x" * 501},
        {key: value for key, value in DEPOT.items() if key != "lat"},
    ]
    for body in bad:
        sent = await client.post(URL, json=body, headers=t.headers("admin"))
        assert sent.status_code == 422, (body, sent.text)


async def test_managers_write_everyone_reads_and_other_tenants_see_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    for who in ("agent", "viewer", "engineer1"):
        refused = await client.post(URL, json=DEPOT, headers=t.headers(who))
        assert refused.status_code == 403, who
    made = (await client.post(URL, json=DEPOT, headers=t.headers("admin"))).json()
    for who in ("agent", "viewer", "engineer1"):
        read = await client.get(f"{URL}/{made['id']}", headers=t.headers(who))
        assert read.status_code == 200, who
    stranger = await make_tenant(db, "Stranger")
    assert (
        await client.get(f"{URL}/{made['id']}", headers=stranger.headers("admin"))
    ).status_code == 404
    listed = await client.get(URL, headers=stranger.headers("admin"))
    assert listed.json()["items"] == []


async def test_deactivating_keeps_the_site_and_filters_the_list(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    made = (await client.post(URL, json=DEPOT, headers=headers)).json()
    await client.post(URL, json={**DEPOT, "name": "Pudong centre"}, headers=headers)
    url = f"{URL}/{made['id']}"
    off = await client.patch(url, json={"active": False}, headers={**headers, "If-Match": '"v1"'})
    assert off.status_code == 200 and off.json()["active"] is False
    assert off.headers["etag"] == '"v2"'
    stale = await client.patch(url, json={"name": "X"}, headers={**headers, "If-Match": '"v1"'})
    assert stale.status_code == 412
    active = await client.get(URL, params={"active": "true"}, headers=headers)
    assert [s["name"] for s in active.json()["items"]] == ["Pudong centre"]
    every = await client.get(URL, params={"limit": 1}, headers=headers)
    assert len(every.json()["items"]) == 1 and every.json()["next_cursor"]
    rest = await client.get(
        URL, params={"limit": 1, "cursor": every.json()["next_cursor"]}, headers=headers
    )
    assert [s["name"] for s in rest.json()["items"]] == ["Pudong centre"]
    renamed = await client.patch(
        url, json={"name": "Pudong centre"}, headers={**headers, "If-Match": '"v2"'}
    )
    assert renamed.status_code == 409 and renamed.json()["field"] == "name"


async def test_only_a_site_nothing_names_is_deleted(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site
    headers = t.headers("dispatcher")
    sites = {}
    for name in ("Mistake", "Start", "Nearest", "Saturdays"):
        # Nearest is at the customer's site (31.23, 121.47); the others at Minhang.
        at = {"lat": 31.23, "lon": 121.47} if name == "Nearest" else {}
        made = await client.post(URL, json={**DEPOT, "name": name, **at}, headers=headers)
        sites[name] = made.json()["id"]
    engineer = f"/api/v1/engineers/{t.engineers[0].id}"
    started = await client.patch(
        engineer,
        json={"start_site_id": sites["Start"], "day_sites": {"sat": {"end": sites["Saturdays"]}}},
        headers={**headers, "If-Match": '"v1"'},
    )
    assert started.status_code == 200, started.text
    ticket = await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "site_id": str(t.site.id), "title": "Leak"},
        headers=headers,
    )
    assert ticket.json()["service_site_id"] == sites["Nearest"]

    for name, says in (
        ("Start", "engineer"),
        ("Saturdays", "engineer"),
        ("Nearest", "work orders"),
    ):
        refused = await client.delete(f"{URL}/{sites[name]}", headers=headers)
        assert refused.status_code == 409, refused.text
        assert says in refused.json()["detail"] and "active: false" in refused.json()["detail"]
    stale = await client.delete(
        f"{URL}/{sites['Mistake']}", headers={**headers, "If-Match": '"v7"'}
    )
    assert stale.status_code == 412
    for who in ("agent", "viewer", "engineer1"):
        denied = await client.delete(f"{URL}/{sites['Mistake']}", headers=t.headers(who))
        assert denied.status_code == 403, who
    gone = await client.delete(f"{URL}/{sites['Mistake']}", headers=headers)
    assert gone.status_code == 204
    assert (await client.get(f"{URL}/{sites['Mistake']}", headers=headers)).status_code == 404
    assert (await client.get(f"{URL}/{sites['Start']}", headers=headers)).status_code == 200


async def test_nan_and_infinity_are_refused_saying_a_finite_number_is_needed(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # JSON has no NaN or Infinity, but Python's reader takes them (and reads 1e309 as
    # infinity): each answers 422 saying what to send, not "should be <= 90".
    t = await make_tenant(db)
    headers = {**t.headers("admin"), "Content-Type": "application/json"}
    for token in ("NaN", "Infinity", "-Infinity", "1e309", "-1e309"):
        for field in ("lat", "lon"):
            body = {**DEPOT, "name": f"Depot {token} {field}", field: 0}
            text = json.dumps(body).replace(f'"{field}": 0', f'"{field}": {token}')
            sent = await client.post(URL, content=text, headers=headers)
            assert sent.status_code == 422, (token, field, sent.text)
            problem = sent.json()
            assert problem["field"] == field and "finite number" in problem["detail"], problem
    listed = await client.get(URL, headers=t.headers("admin"))
    assert listed.json()["items"] == []  # nothing written
