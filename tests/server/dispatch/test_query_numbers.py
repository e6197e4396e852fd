"""Dispatch's query-string integers take ASCII digits only: "+5", "1_0", "5.0", " 5" and
"٣" are 422 saying so, not read as 5 (tests/server/test_query_integers.py guards every
route)."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import make_tenant

ODD = ["+5", "1_0", "5.0", " 5", "٣", "３"]


async def test_limits_are_whole_numbers_in_ascii_digits(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "Digits")
    headers = t.headers("dispatcher")
    urls = ["/api/v1/dispatch/plans", f"/api/v1/tickets/{uuid.uuid4()}/candidates"]
    for url in urls:
        for value in ODD:
            r = await client.get(url, params={"limit": value}, headers=headers)
            assert r.status_code == 422, (url, value, r.text)
            assert r.json()["field"] == "limit"
            assert "digits 0-9" in r.json()["detail"], r.text
    assert (await client.get(urls[0], params={"limit": "5"}, headers=headers)).status_code == 200
