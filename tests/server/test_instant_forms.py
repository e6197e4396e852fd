"""Instants, days and dates are text in ISO 8601, read one way by the API and the phone.

pydantic alone read a Unix time as an instant (``created_from=1700000000``, ``1e9``, a JSON
number in a body: seconds or milliseconds since 1970, by the number's size), a Unix time
or a date-time at midnight as a day (``date=2026-11-24T00:00:00+08:00``: which day?) and
as an equipment date; and it took other text forms than the sync protocol's parser, so a
phone and an integration could send the same time and get different answers. Now every
one is the text ``shared/times.py`` reads (the sync protocol's own functions), or a 422
naming the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared import times
from tests.fixtures.factories import make_tenant
from tests.server.test_instants import BODIES, DAYS, GOOD, QUERIES, Body, _stored

# Unix times, as text and as JSON numbers, and a date-time where a date is asked for.
NUMBERS: list[Any] = [1700000000, 1700000000000, 1.7e9, "1700000000", "1e9", True]
NOT_DAYS = ["1699920000", "1e9", "2026-11-24T00:00:00+08:00", "2026-11-24T00:00:00Z"]
# Text forms on both sides of what Python's ISO 8601 reader takes: the API must agree
# with the phone's parser on each (shared/times.parse_instant).
FORMS = [
    GOOD,
    "2026-11-24T09:00Z",
    "2026-11-24 09:00:00+08:00",
    "2026-W48-2T09:00:00+08:00",
    "20261124T090000+0800",
    "2026-11-24T09:00:00.123456789Z",
    "2026-11-24T09:00:00,5Z",
    "2026-11-24T24:00:00Z",
    "2026-11-24T23:59:60Z",
    "2026-328T09:00:00Z",
    "2026-11-24T09:00:00+24:00",
    "2026-11-24T09:00:00 Z",
    "２０２６-11-24T09:00:00Z",
]


def _agrees(text: str) -> bool:
    try:
        times.parse_instant(text)
    except times.InstantError:
        return False
    return True


def _assert_not_an_instant(response: httpx.Response, name: str, value: Any) -> None:
    assert response.status_code == 422, (name, value, response.text)
    problem = response.json()
    assert problem["field"] == name, problem
    assert problem["errors"][0]["type"] in ("instant_format", "day_format", "date_format"), problem
    assert "ISO 8601" in problem["detail"], problem


@pytest.mark.parametrize(("url", "name", "rest"), QUERIES.values(), ids=QUERIES.keys())
async def test_a_unix_time_in_the_query_is_no_instant(
    client: httpx.AsyncClient, db: AsyncSession, url: str, name: str, rest: dict[str, str]
) -> None:
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    for value in NUMBERS:
        response = await client.get(url, params={**rest, name: str(value)}, headers=headers)
        _assert_not_an_instant(response, name, value)


@pytest.mark.parametrize("case", BODIES.values(), ids=BODIES.keys())
async def test_a_unix_time_in_a_body_is_no_instant(
    client: httpx.AsyncClient, db: AsyncSession, case: Body
) -> None:
    t = await make_tenant(db)
    it = await case.prepare(db, t)
    headers = t.headers(case.who)
    if it.method == "PATCH":
        headers["If-Match"] = (await client.get(it.url, headers=headers)).headers["ETag"]
    before = await _stored(client, t, it.stored)
    for value in NUMBERS:
        response = await client.request(it.method, it.url, json=it.body(value), headers=headers)
        _assert_not_an_instant(response, case.field, value)
    assert await _stored(client, t, it.stored) == before


async def test_the_api_reads_instant_text_as_the_phone_does(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    for text in FORMS:
        response = await client.get(
            "/api/v1/tickets", params={"created_from": text}, headers=t.headers("dispatcher")
        )
        assert (response.status_code == 200) == _agrees(text), (text, response.text)


@pytest.mark.parametrize(("url", "rest"), DAYS.values(), ids=DAYS.keys())
async def test_a_day_is_a_date_not_a_unix_time_or_a_date_time(
    client: httpx.AsyncClient, db: AsyncSession, url: str, rest: dict[str, str]
) -> None:
    t = await make_tenant(db)
    engineer = str(t.engineers[0].id)
    url = url.format(engineer=engineer)
    params = {k: v.format(engineer=engineer) for k, v in rest.items()}
    for value in NOT_DAYS:
        response = await client.get(
            url, params={**params, "date": value}, headers=t.headers("admin")
        )
        _assert_not_an_instant(response, "date", value)


async def test_equipment_dates_and_holidays_are_iso_dates_of_any_year(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.site
    headers = t.headers("admin")
    asset = {"site_id": str(t.site.id), "product_model": "LIFT-9", "serial_number": "SN-1"}
    for name in ("install_date", "warranty_end"):
        for value in [1699920000, "1699920000", "2026-11-24T00:00:00Z"]:
            response = await client.post(
                "/api/v1/assets", json={**asset, name: value}, headers=headers
            )
            _assert_not_an_instant(response, name, value)
    created = await client.post(
        "/api/v1/assets", json={**asset, "install_date": "1965-03-01"}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["install_date"] == "1965-03-01"
    calendar = {"name": "Office", "timezone": "UTC", "hours": {"mon": [["09:00", "17:00"]]}}
    response = await client.post(
        "/api/v1/business-calendars", json={**calendar, "holidays": [1699920000]}, headers=headers
    )
    _assert_not_an_instant(response, "holidays.0", 1699920000)


def test_every_date_a_request_carries_is_an_iso_date() -> None:
    """A new endpoint with a plain ``date`` field would take Unix times again: every date
    in a request of the OpenAPI document is the Day or the Date type."""
    from server.config import get_settings
    from server.main import create_app
    from tests.server.test_instants import _request_times

    found = _request_times(create_app(get_settings()).openapi())
    dates = [(where, schema) for where, schema in found if schema["format"] == "date"]
    assert len(dates) >= 6
    for where, schema in dates:
        assert "x-latest" in schema or schema.get("x-iso-date") is True, where
