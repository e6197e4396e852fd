"""Every failure is application/problem+json with a stable code; bad input is never a 500."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_tenant

TICKETS = "/api/v1/tickets"
PROBLEM = "application/problem+json"


def _assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(f"/{code}")
    assert body["title"] and body["detail"]
    # Answered by the app or by the middleware before it (a body too large, a header sent
    # twice): the same problem, naming the request it answers.
    assert body["instance"] == response.request.url.path, body


async def _ticket_count(db: AsyncSession, t: Tenant) -> int:
    query = select(func.count()).select_from(Ticket).where(Ticket.org_id == t.org.id)
    return int(await db.scalar(query) or 0)


async def test_unknown_route_is_a_problem_404(client: httpx.AsyncClient) -> None:
    _assert_problem(await client.get("/api/v1/no-such-thing"), 404, "not_found")


async def test_wrong_method_is_a_problem_405(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    response = await client.delete(TICKETS, headers=t.headers("admin"))
    _assert_problem(response, 405, "method_not_allowed")
    assert "allow" in response.headers


async def test_body_over_the_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    padding = "x" * settings.MAX_BODY_BYTES
    body = f'{{"customer_id": "{t.customer.id}", "title": "Big", "description": "{padding}"}}'
    response = await client.post(
        TICKETS,
        content=body.encode(),
        headers={**t.headers("admin"), "Content-Type": "application/json"},
    )
    _assert_problem(response, 413, "payload_too_large")
    assert await _ticket_count(db, t) == 0


async def test_streamed_body_over_the_limit_without_length_is_413(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    t = await make_tenant(db)
    chunk = b" " * 65_536

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.MAX_BODY_BYTES // len(chunk) + 2):
            yield chunk

    response = await client.post(
        TICKETS,
        content=chunks(),
        headers={**t.headers("admin"), "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    _assert_problem(response, 413, "payload_too_large")


async def test_login_form_over_the_limit_is_413(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/api/v1/auth/token",
        content=b"username=a&password=" + b"x" * settings.MAX_BODY_BYTES,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _assert_problem(response, 413, "payload_too_large")


async def test_malformed_json_is_a_problem_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    response = await client.post(
        TICKETS,
        content=b'{"title": "Leak",',
        headers={**t.headers("admin"), "Content-Type": "application/json"},
    )
    _assert_problem(response, 422, "validation_error")
    assert response.json()["errors"][0]["type"] == "json_invalid"


async def test_invalid_field_values_list_every_problem(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    response = await client.post(
        TICKETS,
        json={"customer_id": "not-a-uuid", "title": "", "priority": "P9"},
        headers=t.headers("admin"),
    )
    _assert_problem(response, 422, "validation_error")
    locs = {tuple(e["loc"]) for e in response.json()["errors"]}
    assert {("body", "customer_id"), ("body", "title"), ("body", "priority")} <= locs


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!not-base64!!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["only-one"]').decode(),
        base64.urlsafe_b64encode(b'["yesterday", "not-a-uuid"]').decode(),
    ],
)
async def test_bad_cursor_is_a_problem_400(
    client: httpx.AsyncClient, db: AsyncSession, cursor: str
) -> None:
    t = await make_tenant(db)
    response = await client.get(TICKETS, params={"cursor": cursor}, headers=t.headers("admin"))
    _assert_problem(response, 400, "bad_request")
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize("limit", ["1000", "0", "-1", "ten"])
async def test_page_size_out_of_range_is_a_problem_422(
    client: httpx.AsyncClient, db: AsyncSession, limit: str
) -> None:
    t = await make_tenant(db)
    response = await client.get(TICKETS, params={"limit": limit}, headers=t.headers("admin"))
    _assert_problem(response, 422, "validation_error")
    assert ["query", "limit"] in [e["loc"] for e in response.json()["errors"]]


async def test_malformed_path_id_is_a_problem_422(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    response = await client.get(f"{TICKETS}/not-a-uuid", headers=t.headers("admin"))
    _assert_problem(response, 422, "validation_error")


async def test_every_error_response_is_problem_json_with_a_code(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    too_big = b"x" * (settings.MAX_BODY_BYTES + 1)
    calls = [
        client.get("/nope"),
        client.put(TICKETS, headers=admin),
        client.get(TICKETS),
        client.get(TICKETS, headers={"Authorization": "Bearer nope"}),
        client.post(TICKETS, json={"title": "x"}, headers=t.headers("viewer")),
        client.get(f"{TICKETS}/01935a2e-0000-7000-8000-000000000001", headers=admin),
        client.post(TICKETS, content=too_big, headers=admin),
        client.post(TICKETS, content=b"[", headers={**admin, "Content-Type": "application/json"}),
        client.get(TICKETS, params={"cursor": "%%%"}, headers=admin),
        client.get(TICKETS, params={"limit": 1000}, headers=admin),
        client.get(TICKETS, params={"sort": "password"}, headers=admin),
        client.post("/api/v1/auth/refresh", json={"refresh_token": "short"}),
    ]
    for call in calls:
        response = await call
        request = f"{response.request.method} {response.request.url}"
        assert 400 <= response.status_code < 500, (request, response.status_code, response.text)
        assert response.headers["content-type"].startswith(PROBLEM), request
        assert response.json()["code"], request
