"""Auto-assign rules per priority: created with If-None-Match, replaced with If-Match."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import make_tenant

URL = "/api/v1/dispatch/auto-assign"


async def test_a_rule_is_created_replaced_and_listed(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    assert (await client.get(URL, headers=headers)).json() == []
    assert (await client.get(f"{URL}/P1", headers=headers)).status_code == 404
    body = {"enabled": True, "fallback_to_pool": True}
    made = await client.put(f"{URL}/P1", json=body, headers={**headers, "If-None-Match": "*"})
    assert made.status_code == 200, made.text
    assert made.headers["etag"] == '"v1"'
    assert {k: made.json()[k] for k in ("priority", "enabled", "fallback_to_pool")} == {
        "priority": "P1",
        **body,
    }
    twice = await client.put(f"{URL}/P1", json=body, headers={**headers, "If-None-Match": "*"})
    assert twice.status_code == 412 and twice.json()["current_version"] == 1
    off = {"enabled": False, "fallback_to_pool": False}
    replaced = await client.put(f"{URL}/P1", json=off, headers={**headers, "If-Match": '"v1"'})
    assert replaced.status_code == 200 and replaced.headers["etag"] == '"v2"'
    stale = await client.put(f"{URL}/P1", json=body, headers={**headers, "If-Match": '"v1"'})
    assert stale.status_code == 412
    none_yet = await client.put(f"{URL}/P3", json=body, headers={**headers, "If-Match": '"v1"'})
    assert none_yet.status_code == 412 and none_yet.json()["current_version"] is None
    bare = await client.put(f"{URL}/P3", json=body, headers=headers)
    assert bare.status_code == 428
    listed = await client.get(URL, headers=t.headers("viewer"))
    assert [(r["priority"], r["enabled"]) for r in listed.json()] == [("P1", False)]


async def test_only_managers_set_rules_engineers_do_not_read_them_tenants_apart(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    stranger = await make_tenant(db, "Stranger")
    body = {"enabled": True}
    for who in ("agent", "viewer", "engineer1"):
        sent = await client.put(
            f"{URL}/P2", json=body, headers={**t.headers(who), "If-None-Match": "*"}
        )
        assert sent.status_code == 403, who
    assert (await client.get(URL, headers=t.headers("engineer1"))).status_code == 403
    made = await client.put(
        f"{URL}/P2", json=body, headers={**t.headers("admin"), "If-None-Match": "*"}
    )
    assert made.status_code == 200
    assert (await client.get(URL, headers=stranger.headers("admin"))).json() == []
    theirs = await client.put(
        f"{URL}/P2", json=body, headers={**stranger.headers("admin"), "If-None-Match": "*"}
    )
    assert theirs.status_code == 200 and theirs.headers["etag"] == '"v1"'


async def test_unknown_priorities_and_fields_are_422(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = {**t.headers("admin"), "If-None-Match": "*"}
    assert (
        await client.put(f"{URL}/P9", json={"enabled": True}, headers=headers)
    ).status_code == 422
    extra = await client.put(f"{URL}/P1", json={"enabled": True, "org_id": "x"}, headers=headers)
    assert extra.status_code == 422
    missing = await client.put(f"{URL}/P1", json={}, headers=headers)
    assert missing.status_code == 422


async def test_a_put_without_a_precondition_says_how_to_create_and_how_to_replace(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # The first rule has no ETag to send: the 428 must name If-None-Match: *, not only
    # If-Match (which a client would send as *, and get 428 again).
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    body = {"enabled": True, "fallback_to_pool": True}
    for extra in ({}, {"If-Match": "*"}):
        bare = await client.put(f"{URL}/P2", json=body, headers={**headers, **extra})
        assert bare.status_code == 428, bare.text
        detail = bare.json()["detail"]
        assert "If-None-Match: * to create it" in detail and "If-Match" in detail, detail
    weak = await client.put(f"{URL}/P2", json=body, headers={**headers, "If-Match": 'W/"v1"'})
    assert weak.status_code == 412  # a weak tag still never matches
    assert (await client.get(f"{URL}/P2", headers=headers)).status_code == 404  # nothing made
