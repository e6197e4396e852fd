"""Idempotency-Key on creates: replay, reuse with another body, per caller, concurrency."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.idempotency.models import IdempotencyRecord
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_tenant

TICKETS = "/api/v1/tickets"


def _body(t: Tenant, title: str) -> dict[str, str]:
    assert t.customer is not None
    return {"customer_id": str(t.customer.id), "title": title, "priority": "P2"}


async def _count(db: AsyncSession, org_id: uuid.UUID, title: str) -> int:
    query = select(func.count()).select_from(Ticket)
    query = query.where(Ticket.org_id == org_id, Ticket.title == title)
    return int(await db.scalar(query) or 0)


async def test_same_key_and_body_replays_the_stored_response(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = {**t.headers("dispatcher"), "Idempotency-Key": "create-1"}
    first = await client.post(TICKETS, json=_body(t, "Boiler"), headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    second = await client.post(TICKETS, json=_body(t, "Boiler"), headers=headers)
    assert second.status_code == 201, second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert await _count(db, t.org.id, "Boiler") == 1


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = {**t.headers("dispatcher"), "Idempotency-Key": "create-2"}
    first = await client.post(TICKETS, json=_body(t, "Boiler"), headers=headers)
    assert first.status_code == 201, first.text
    other = await client.post(TICKETS, json=_body(t, "Chiller"), headers=headers)
    assert other.status_code == 422, other.text
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency_key_reused"
    assert await _count(db, t.org.id, "Chiller") == 0


async def test_same_key_on_another_route_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = {**t.headers("admin"), "Idempotency-Key": "shared-key"}
    first = await client.post(TICKETS, json=_body(t, "Boiler"), headers=headers)
    assert first.status_code == 201, first.text
    other = await client.post("/api/v1/customers", json={"name": "Acme"}, headers=headers)
    assert other.status_code == 422, other.text
    assert other.json()["code"] == "idempotency_key_reused"


async def test_keys_are_per_caller(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    body = _body(t, "Boiler")
    key = {"Idempotency-Key": "same-key"}
    mine = await client.post(TICKETS, json=body, headers={**t.headers("dispatcher"), **key})
    theirs = await client.post(TICKETS, json=body, headers={**t.headers("agent"), **key})
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert await _count(db, t.org.id, "Boiler") == 2


async def test_failed_request_stores_nothing_and_corrected_retry_succeeds(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = {**t.headers("dispatcher"), "Idempotency-Key": "retry-me"}
    bad = {**_body(t, "Boiler"), "customer_id": str(uuid.uuid4())}
    failed = await client.post(TICKETS, json=bad, headers=headers)
    assert failed.status_code == 422, failed.text
    assert failed.json()["code"] == "unprocessable"
    stored = await db.scalar(
        select(func.count())
        .select_from(IdempotencyRecord)
        .where(IdempotencyRecord.org_id == t.org.id)
    )
    assert stored == 0
    retry = await client.post(TICKETS, json=_body(t, "Boiler"), headers=headers)
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert await _count(db, t.org.id, "Boiler") == 1


async def test_an_unprintable_or_too_long_key_is_refused_alike(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """docs/api.md: anything but 1-255 printable ASCII characters is 400. A key of 256
    was a 422 validation error (the header's own max_length) instead."""
    t = await make_tenant(db)
    for key in ("tab\there", "k" * 256):
        headers = {**t.headers("dispatcher"), "Idempotency-Key": key}
        response = await client.post(TICKETS, json=_body(t, "Boiler"), headers=headers)
        assert response.status_code == 400, (key, response.text)
        assert response.json()["code"] == "bad_request"
    assert await _count(db, t.org.id, "Boiler") == 0


async def test_concurrent_duplicates_create_exactly_one_ticket(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession
) -> None:
    t = await make_tenant(committing_db, "Idempotency race")
    await committing_db.commit()
    title = f"Race {uuid.uuid4().hex[:8]}"
    headers = {**t.headers("dispatcher"), "Idempotency-Key": f"race-{uuid.uuid4()}"}
    body = _body(t, title)

    responses = await asyncio.gather(
        *(committing_client.post(TICKETS, json=body, headers=headers) for _ in range(10))
    )

    originals = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(originals) == 1, [(r.status_code, r.text) for r in responses]
    created = originals[0].json()
    for response in responses:
        if response is originals[0]:
            continue
        if response.status_code == 409:
            assert response.json()["code"] == "idempotency_in_progress", response.text
        else:
            assert response.status_code == 201, response.text
            assert response.headers["idempotent-replayed"] == "true"
            assert response.json() == created
    assert await _count(committing_db, t.org.id, title) == 1
