"""Warranty is judged on the customer's calendar: the organisation's time zone, not the
server's clock (a Shanghai customer's warranty ends at midnight in Shanghai)."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.orgs.service import local_date
from tests.fixtures.factories import make_tenant


def _zone_off_utc() -> tuple[str, dt.date]:
    """A time zone whose date differs from UTC's right now, and that date."""
    now = dt.datetime.now(dt.UTC)
    zone = "Pacific/Kiritimati" if now.hour >= 10 else "Pacific/Pago_Pago"  # UTC+14, UTC-11
    local = local_date(now, zone)
    assert local != now.date()
    return zone, local


async def test_under_warranty_uses_the_organisations_date(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    zone, local = _zone_off_utc()
    t.org.timezone = zone
    await db.flush()
    utc_today = dt.datetime.now(dt.UTC).date()
    end = min(local, utc_today)  # where the two calendars disagree
    assert t.site is not None
    created = await client.post(
        "/api/v1/assets",
        json={
            "site_id": str(t.site.id),
            "product_model": "CH-200",
            "serial_number": "SN-TZ-1",
            "warranty_end": end.isoformat(),
        },
        headers=t.headers("admin"),
    )
    assert created.status_code == 201, created.text
    expected = local <= end
    assert created.json()["under_warranty"] is expected
    read = await client.get(f"/api/v1/assets/{created.json()['id']}", headers=t.headers("admin"))
    assert read.json()["under_warranty"] is expected
    listed = await client.get("/api/v1/assets", headers=t.headers("admin"))
    [row] = [a for a in listed.json()["items"] if a["id"] == created.json()["id"]]
    assert row["under_warranty"] is expected
