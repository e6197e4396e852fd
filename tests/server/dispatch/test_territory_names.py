"""A blank territory is refused wherever one is written or asked for. An engineer's
territory "" (or "   ", stripped to "") used to be stored: an engineer outside every
territory, where null means "any", so every work order with a territory ruled them out
(outside_territory) with nothing to show why. Service sites, plans and the board already
refused it; now engineers do too, all saying to send null for none."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.day_plans import field_engineer, tomorrow
from tests.fixtures.factories import make_tenant

BLANK = ["", "   "]


def _says_send_null(r: httpx.Response) -> None:
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "territory"
    assert "send null for none" in r.json()["detail"], r.text


async def test_a_blank_territory_is_refused_everywhere_saying_to_send_null(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "Territories")
    admin = t.headers("admin")
    engineer = await field_engineer(db, t, territory="Pudong")
    url = f"/api/v1/engineers/{engineer.id}"
    for blank in BLANK:
        _says_send_null(
            await client.patch(
                url, json={"territory": blank}, headers={**admin, "If-Match": '"v1"'}
            )
        )
        new = {
            "email": "li.na@example.com",
            "password": "a-long-secret-1",
            "display_name": "Li Na",
            "territory": blank,
        }
        _says_send_null(await client.post("/api/v1/engineers", json=new, headers=admin))
        site = {"name": "Depot", "kind": "depot", "lat": 31.2, "lon": 121.4, "territory": blank}
        _says_send_null(await client.post("/api/v1/service-sites", json=site, headers=admin))
        plan = {"date": tomorrow().isoformat(), "territory": blank}
        _says_send_null(await client.post("/api/v1/dispatch/plans", json=plan, headers=admin))
        board = {"date": tomorrow().isoformat(), "territory": blank}
        _says_send_null(await client.get("/api/v1/dispatch/board", params=board, headers=admin))

    read = await client.get(url, headers=admin)
    assert read.json()["territory"] == "Pudong" and read.json()["version"] == 1  # untouched
    cleared = await client.patch(
        url, json={"territory": None}, headers={**admin, "If-Match": '"v1"'}
    )
    assert cleared.status_code == 200 and cleared.json()["territory"] is None  # null: any
