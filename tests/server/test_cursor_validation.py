"""Crafted keyset cursors: every list route answers 400 problem+json, never a 500.

A cursor is only base64(JSON), so a caller can put any JSON value where the sort value
belongs; each value below reached PostgreSQL (or asyncpg's encoder) before the fix.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from server.pagination import encode_cursor
from tests.fixtures.factories import make_customer, make_tenant, make_ticket

ID = str(uuid.uuid4())

# Wrong JSON types, strings PostgreSQL or UTF-8 cannot take, and over-long strings.
BAD_STRINGS: list[Any] = [
    123,
    1.5,
    True,
    None,
    {"a": 1},
    ["x"],
    "nul\x00byte",
    "lone \ud800 surrogate",
    "x" * 300,
]

# sort key -> crafted sort values
BAD_TICKET_VALUES: dict[str, list[Any]] = {
    "number": [10**20, 2**63, -(2**63) - 1, "5", 1.5, True, None, {"a": 1}, [1]],
    "priority": [0, 5, -1, 10**20, "1", True, 2.0, {"a": 1}],
    "created_at": [
        "not a date",
        123,
        None,
        ["2026-01-01T00:00:00+00:00"],
        "2026-01-01T00:00:00",  # naive: its meaning would depend on the server's zone
        "9999-12-31T23:59:59-23:59",  # past datetime.max once converted to UTC
        "0001-01-01T00:00:00+23:59",  # before datetime.min once converted to UTC
    ],
    "updated_at": [{"a": 1}, 1e300, "2026-13-01T00:00:00+00:00"],
    "resolution_due_at": ["9999-12-31T23:59:59-23:59", False, "nul\x00"],
}


def assert_bad_cursor(response: httpx.Response, value: Any) -> None:
    assert response.status_code == 400, (value, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "bad_request"
    assert "cursor" in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/sites", "/api/v1/assets"])
async def test_crafted_sort_values_on_customer_lists_are_bad_requests(
    client: httpx.AsyncClient, db, path: str
) -> None:
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    for value in BAD_STRINGS:
        response = await client.get(
            path, params={"cursor": encode_cursor([value, ID])}, headers=headers
        )
        assert_bad_cursor(response, value)


async def test_crafted_sort_values_on_engineer_list_are_bad_requests(
    client: httpx.AsyncClient, db
) -> None:
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    for value in BAD_STRINGS:
        response = await client.get(
            "/api/v1/engineers", params={"cursor": encode_cursor([value, ID])}, headers=headers
        )
        assert_bad_cursor(response, value)


@pytest.mark.parametrize(
    "path", ["/api/v1/customers", "/api/v1/sites", "/api/v1/assets", "/api/v1/engineers"]
)
async def test_crafted_row_ids_are_bad_requests(client: httpx.AsyncClient, db, path: str) -> None:
    t = await make_tenant(db)
    for last_id in [{"a": 1}, 42, None, "not-a-uuid", [ID]]:
        response = await client.get(
            path, params={"cursor": encode_cursor(["Name", last_id])}, headers=t.headers("admin")
        )
        assert_bad_cursor(response, last_id)


@pytest.mark.parametrize("key", sorted(BAD_TICKET_VALUES))
async def test_crafted_sort_values_on_ticket_list_are_bad_requests(
    client: httpx.AsyncClient, db, key: str
) -> None:
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    for sort in (key, f"-{key}"):
        for value in BAD_TICKET_VALUES[key]:
            response = await client.get(
                "/api/v1/tickets",
                params={"sort": sort, "cursor": encode_cursor([value, ID])},
                headers=headers,
            )
            assert_bad_cursor(response, (sort, value))
        bad_id = await client.get(
            "/api/v1/tickets",
            params={"sort": sort, "cursor": encode_cursor([1, {"a": 1}])},
            headers=headers,
        )
        assert_bad_cursor(bad_id, (sort, "id"))


async def test_real_cursors_still_page_through_every_list(client: httpx.AsyncClient, db) -> None:
    # The validation must not refuse what the server itself hands out.
    t = await make_tenant(db)
    await make_customer(db, t.org)
    assert t.customer is not None
    for _ in range(2):
        await make_ticket(db, t.actor("dispatcher"), t.customer, priority="P2")
    headers = t.headers("admin")
    routes: list[tuple[str, dict[str, str]]] = [
        ("/api/v1/customers", {}),
        ("/api/v1/sites", {}),
        ("/api/v1/assets", {}),
        ("/api/v1/engineers", {}),
    ] + [
        ("/api/v1/tickets", {"sort": f"{sign}{key}"})
        for key in BAD_TICKET_VALUES
        for sign in ("", "-")
    ]
    for path, params in routes:
        first = await client.get(path, params={**params, "limit": "1"}, headers=headers)
        assert first.status_code == 200, (path, params, first.text)
        cursor = first.json()["next_cursor"]
        assert cursor, (path, params)
        second = await client.get(
            path, params={**params, "limit": "1", "cursor": cursor}, headers=headers
        )
        assert second.status_code == 200, (path, params, second.text)
        assert second.json()["items"][0]["id"] != first.json()["items"][0]["id"]
