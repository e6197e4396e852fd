"""A work order's nearest service site follows its site (creation is compared path against
path in test_creation.py; here the API and a change of site)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.customers.models import ServiceSite, Site
from tests.fixtures.factories import make_tenant


async def test_the_nearest_service_site_is_set_at_creation_and_follows_the_site(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site  # the site is in central Shanghai (31.23, 121.47)
    pudong = ServiceSite(
        org_id=t.org.id, name="Pudong", kind="depot", lat=31.22, lon=121.54, version=1
    )
    suzhou = ServiceSite(
        org_id=t.org.id, name="Suzhou", kind="depot", lat=31.30, lon=120.58, version=1
    )
    near_suzhou = Site(
        org_id=t.org.id,
        customer_id=t.customer.id,
        name="Suzhou plant",
        address="1 Xinghu St",
        lat=31.31,
        lon=120.62,
        version=1,
    )
    db.add_all([pudong, suzhou, near_suzhou])
    await db.flush()
    headers = t.headers("dispatcher")
    made = await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "site_id": str(t.site.id), "title": "Leak"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["service_site_id"] == str(pudong.id)
    url = f"/api/v1/tickets/{made.json()['id']}"

    moved = await client.patch(
        url, json={"site_id": str(near_suzhou.id)}, headers={**headers, "If-Match": '"v1"'}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["service_site_id"] == str(suzhou.id)
    events = (await client.get(f"{url}/events", headers=headers)).json()
    changed = events["items"][-1]["changes"] if isinstance(events, dict) else events[-1]["changes"]
    assert changed["service_site_id"] == [str(pudong.id), str(suzhou.id)]

    # Another field leaves it alone; no site, no service site.
    titled = await client.patch(
        url, json={"title": "Leak 2"}, headers={**headers, "If-Match": '"v2"'}
    )
    assert titled.json()["service_site_id"] == str(suzhou.id)
    cleared = await client.patch(
        url, json={"site_id": None}, headers={**headers, "If-Match": '"v3"'}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["service_site_id"] is None
