"""Time zones (server/timezones.py): only a zone both Python and PostgreSQL resolve to a
region's civil time is accepted, wherever a zone is accepted; an organisation that already
holds another one is computed in UTC, and the answers say so, rather than answering 500.

America/Coyhaique is newer than PostgreSQL 16's copy of the tz database (zoneinfo has it):
accepted, it made every stock report of the organisation answer 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server import timezones
from tests.fixtures.factories import Tenant, make_policy, make_tenant
from tests.server.field.helpers import on_site

NEW_IN_PYTHON = "America/Coyhaique"
REFUSED = [
    NEW_IN_PYTHON,
    "localtime",  # whatever the server's clock is set to
    "right/UTC",  # counts leap seconds
    "posix/Asia/Shanghai",
    "Factory",
    "posixrules",
    "asia/shanghai",  # PostgreSQL reads it, zoneinfo does not
    "Nowhere/Land",
    "../../etc/passwd",
    "/etc/localtime",
    "Asia/Shanghai/",
    "A" * 64,
    "UTC+8",  # a POSIX rule PostgreSQL would read with the sign inverted
]
ACCEPTED = ["Asia/Shanghai", "UTC", "America/New_York", "Etc/GMT-14", "Pacific/Kiritimati"]
OFFICE = {"mon": [["09:00", "17:00"]]}


async def _current(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, str]:
    """The headers with If-Match naming the object's current version (PATCH needs it)."""
    return {**headers, "If-Match": (await client.get(url, headers=headers)).headers["ETag"]}


async def _skip_if_postgres_knows(db: AsyncSession, name: str) -> None:
    if name == NEW_IN_PYTHON and name in await timezones.postgres_names(db):
        pytest.skip(f"this PostgreSQL's tz database has {name}")


@pytest.mark.parametrize("zone", REFUSED)
async def test_an_organisation_zone_both_sides_do_not_know_is_a_422(
    client: httpx.AsyncClient, db: AsyncSession, zone: str
) -> None:
    await _skip_if_postgres_knows(db, zone)
    t = await make_tenant(db)
    url, headers = "/api/v1/organisation", t.headers("admin")
    response = await client.patch(
        url, json={"timezone": zone}, headers=await _current(client, url, headers)
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "timezone"
    assert (await client.get(url, headers=headers)).json()["timezone"] == "UTC"


async def test_a_stale_if_match_is_412_before_the_zone_is_judged(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The zone (a database read) was checked before the version: a stale If-Match with a
    bad zone answered 422, and the caller fixed the zone only to meet the 412 next."""
    t = await make_tenant(db)
    url, headers = "/api/v1/organisation", t.headers("admin")
    response = await client.patch(
        url, json={"timezone": "Mars/Olympus"}, headers={**headers, "If-Match": '"v999"'}
    )
    assert response.status_code == 412, response.text


@pytest.mark.parametrize("zone", REFUSED)
async def test_a_calendar_zone_both_sides_do_not_know_is_a_422(
    client: httpx.AsyncClient, db: AsyncSession, zone: str
) -> None:
    await _skip_if_postgres_knows(db, zone)
    t = await make_tenant(db)
    url, headers = "/api/v1/business-calendars", t.headers("admin")
    body = {"name": "Desk", "timezone": zone, "hours": OFFICE}
    created = await client.post(url, json=body, headers=headers)
    assert created.status_code == 422, created.text
    calendar = await client.post(url, json={**body, "timezone": "UTC"}, headers=headers)
    assert calendar.status_code == 201, calendar.text
    patched = await client.patch(
        f"{url}/{calendar.json()['id']}",
        json={"timezone": zone},
        headers={**headers, "If-Match": calendar.headers["ETag"]},
    )
    assert patched.status_code == 422, patched.text
    assert (await client.get(url, headers=headers)).json()[0]["timezone"] == "UTC"


async def test_zones_both_sides_know_are_accepted_and_a_wrong_case_gets_a_hint(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = t.headers("admin")
    for zone in ACCEPTED:
        response = await client.patch(
            "/api/v1/organisation",
            json={"timezone": zone},
            headers=await _current(client, "/api/v1/organisation", headers),
        )
        assert response.status_code == 200 and response.json()["timezone"] == zone, response.text
        body = {"name": zone, "timezone": zone, "hours": OFFICE}
        calendar = await client.post("/api/v1/business-calendars", json=body, headers=headers)
        assert calendar.status_code == 201, calendar.text
    for sent, hint in (
        ("asia/shanghai", "Asia/Shanghai"),
        ("posix/Europe/London", "Europe/London"),
    ):
        response = await client.patch(
            "/api/v1/organisation",
            json={"timezone": sent},
            headers=await _current(client, "/api/v1/organisation", headers),
        )
        assert response.status_code == 422 and f"did you mean '{hint}'" in response.json()["detail"]


async def _organisation_holding(db: AsyncSession, t: Tenant, zone: str) -> None:
    """A zone stored before the rule (the API would refuse it now)."""
    await db.execute(
        text("UPDATE organisations SET timezone = :z WHERE id = :id"), {"z": zone, "id": t.org.id}
    )
    await db.refresh(t.org)


@pytest.mark.parametrize("zone", [NEW_IN_PYTHON, "localtime", "right/UTC", "Nowhere/Land"])
async def test_an_organisation_holding_such_a_zone_is_computed_in_utc_and_says_so(
    client: httpx.AsyncClient, db: AsyncSession, zone: str
) -> None:
    await _skip_if_postgres_knows(db, zone)
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    await _organisation_holding(db, t, zone)
    headers = t.headers("admin")
    span = {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}
    reports = "/api/v1/stock-reports"
    consumption = await client.get(f"{reports}/consumption", params=span, headers=headers)
    assert consumption.status_code == 200, consumption.text
    assert consumption.json()["time_zone"] == "UTC"
    for url, params in (
        (f"{reports}/turnover", span),
        (f"{reports}/on-hand", {}),
        (f"{reports}/work-order-cost", {"ticket_id": str(ticket.id)}),
        ("/api/v1/pick-lists", {"date": "2026-11-24", "engineer_id": str(t.engineers[0].id)}),
        (f"/api/v1/assets/{t.asset.id}" if t.asset else "/api/v1/assets", {}),
        ("/api/v1/organisation", {}),
    ):
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, (url, response.text)
    day = await client.get(
        f"/api/v1/engineers/{t.engineers[0].id}/labour-totals",
        params={"date": "2026-11-24"},
        headers=headers,
    )
    assert day.status_code == 200 and day.json()["timezone"] == "UTC", day.text
    pdf = await client.get(f"/api/v1/tickets/{ticket.id}/report.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


async def test_a_stored_calendar_zone_python_knows_still_gives_deadlines(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """SLA arithmetic runs in Python: a calendar holding a zone only PostgreSQL lacks keeps
    working; one Python cannot load answers 422 naming the calendar (not 500)."""
    t = await make_tenant(db)
    assert t.customer
    headers = t.headers("admin")
    calendar = await client.post(
        "/api/v1/business-calendars",
        json={"name": "Desk", "timezone": "UTC", "hours": {"mon": [["00:00", "24:00"]]}},
        headers=headers,
    )
    policy = await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=120)
    policy.calendar_id = calendar.json()["id"]
    await db.flush()
    body: dict[str, Any] = {"customer_id": str(t.customer.id), "priority": "P2", "title": "x"}
    for zone, status in ((NEW_IN_PYTHON, 201), ("Nowhere/Land", 422)):
        await db.execute(
            text("UPDATE business_calendars SET timezone = :z WHERE id = :id"),
            {"z": zone, "id": calendar.json()["id"]},
        )
        response = await client.post("/api/v1/tickets", json=body, headers=headers)
        assert response.status_code == status, response.text
        if status == 201:
            due = dt.datetime.fromisoformat(response.json()["resolution_due_at"])
            assert due.utcoffset() == dt.timedelta(0)
