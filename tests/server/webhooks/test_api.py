"""The webhook endpoints API: admins only, tenant-isolated, bad input answered with a
problem saying what to fix; the secret shown once; rotation; the delivery log."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server import events
from server.webhooks import delivery
from server.webhooks.topics import EVENT_TYPES
from tests.fixtures.factories import make_tenant

BASE = "/api/v1/webhooks"
PUBLIC = "https://93.184.216.34/hook"  # a public address: no DNS needed


async def _create(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:  # type: ignore[type-arg]
    r = await client.post(
        f"{BASE}/endpoints",
        json={"url": PUBLIC, "event_types": ["ticket.*"], **body},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_register_read_update_delete(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    made = await _create(client, admin, description="ERP")
    assert made["secret"].startswith("whsec_") and made["enabled"] is True
    url = f"{BASE}/endpoints/{made['id']}"
    read = await client.get(url, headers=admin)
    assert read.status_code == 200 and "secret" not in read.json()
    r = await client.patch(
        url,
        json={"event_types": ["*"], "description": "All"},
        headers={**admin, "If-Match": read.headers["etag"]},
    )
    assert r.status_code == 200 and r.json()["event_types"] == ["*"]
    listed = await client.get(f"{BASE}/endpoints", headers=admin)
    assert [e["id"] for e in listed.json()["items"]] == [made["id"]]
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_event_types_are_listed(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    r = await client.get(f"{BASE}/event-types", headers=t.headers("admin"))
    names = [e["name"] for e in r.json()]
    assert names == list(EVENT_TYPES) and "ticket.created" in names


async def test_bad_input_says_what_to_fix(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    cases = [
        ({"url": PUBLIC, "event_types": ["ticket.nope"]}, "unknown event type"),
        ({"url": PUBLIC, "event_types": ["nope.*"]}, "unknown event type"),
        ({"url": PUBLIC, "event_types": []}, "event_types"),
        ({"url": "ftp://93.184.216.34/", "event_types": ["*"]}, "http:// or https://"),
        ({"url": PUBLIC, "event_types": ["*"], "secret": "x"}, "secret"),
    ]
    for body, says in cases:
        r = await client.post(f"{BASE}/endpoints", json=body, headers=admin)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert says in r.text, r.text


async def test_only_admins(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    made = await _create(client, t.headers("admin"))
    for role in ("dispatcher", "agent", "viewer", "engineer1"):
        headers = t.headers(role)
        r = await client.post(
            f"{BASE}/endpoints", json={"url": PUBLIC, "event_types": ["*"]}, headers=headers
        )
        assert r.status_code == 403
        assert (
            await client.get(f"{BASE}/endpoints/{made['id']}", headers=headers)
        ).status_code == 403


async def test_other_organisations_endpoints_are_not_found(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b = await make_tenant(db, "A"), await make_tenant(db, "B")
    theirs = await _create(client, b.headers("admin"))
    admin = a.headers("admin")
    url = f"{BASE}/endpoints/{theirs['id']}"
    assert (await client.get(url, headers=admin)).status_code == 404
    assert (await client.post(f"{url}/rotate-secret", headers=admin)).status_code == 404
    assert (await client.post(f"{url}/enable", headers=admin)).status_code == 404
    assert (await client.get(f"{url}/deliveries", headers=admin)).status_code == 404
    assert (await client.delete(url, headers=admin)).status_code == 404
    listed = await client.get(f"{BASE}/endpoints", headers=admin)
    assert listed.json()["items"] == []


async def test_rotation_signs_with_both_secrets(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    made = await _create(client, admin)
    r = await client.post(f"{BASE}/endpoints/{made['id']}/rotate-secret", headers=admin)
    assert r.status_code == 200
    rotated = r.json()
    assert rotated["secret"] != made["secret"] and rotated["previous_secret_until"]
    from server.webhooks.models import WebhookEndpoint

    endpoint = await db.get(WebhookEndpoint, made["id"])
    assert endpoint is not None
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    assert delivery.secrets_of(endpoint, now) == [rotated["secret"], made["secret"]]
    assert delivery.secrets_of(endpoint, now + dt.timedelta(hours=25)) == [rotated["secret"]]


async def test_delivery_log_and_replay(client: httpx.AsyncClient, db: AsyncSession) -> None:
    a, b = await make_tenant(db, "A"), await make_tenant(db, "B")
    admin = a.headers("admin")
    made = await _create(client, admin)
    other = await _create(client, admin, event_types=["stock.*"])
    for n in range(3):
        events.emit(
            db, org_id=a.org.id, topic="ticket.created", aggregate_id=None, payload={"n": n}
        )
    events.emit(db, org_id=b.org.id, topic="ticket.created", aggregate_id=None, payload={})
    await db.flush()
    await events.service.deliver_pending(db)
    page = await client.get(
        f"{BASE}/endpoints/{made['id']}/deliveries", params={"limit": 2}, headers=admin
    )
    body = page.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    rest = await client.get(
        f"{BASE}/endpoints/{made['id']}/deliveries",
        params={"cursor": body["next_cursor"]},
        headers=admin,
    )
    items = body["items"] + rest.json()["items"]
    assert len(items) == 3 and all(i["status"] == "pending" for i in items)
    none = await client.get(f"{BASE}/endpoints/{other['id']}/deliveries", headers=admin)
    assert none.json()["items"] == []
    one = items[0]
    assert one["webhook_id"] == delivery.webhook_id(__import__("uuid").UUID(one["id"]))
    detail = await client.get(f"{BASE}/deliveries/{one['id']}", headers=admin)
    assert detail.json()["attempt_log"] == [] and '"type":"ticket.created"' in detail.json()["body"]
    replayed = await client.post(f"{BASE}/deliveries/{one['id']}/replay", headers=admin)
    assert replayed.status_code == 202 and replayed.json()["webhook_id"] == one["webhook_id"]
    foreign = await client.get(f"{BASE}/deliveries/{one['id']}", headers=b.headers("admin"))
    assert foreign.status_code == 404


async def test_demo_endpoint_waits_disabled(client: httpx.AsyncClient, db: AsyncSession) -> None:
    from server.webhooks import demo

    t = await make_tenant(db)
    await demo.seed(db, t.org.id)
    listed = (await client.get(f"{BASE}/endpoints", headers=t.headers("admin"))).json()
    [endpoint] = listed["items"]
    assert endpoint["enabled"] is False and "demo endpoint" in endpoint["disabled_reason"]


async def test_a_retried_registration_creates_one_endpoint(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = {**t.headers("admin"), "Idempotency-Key": "hook-1"}
    body = {"url": PUBLIC, "event_types": ["*"]}
    first = await client.post(f"{BASE}/endpoints", json=body, headers=headers)
    again = await client.post(f"{BASE}/endpoints", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["secret"].startswith("whsec_") and again.json()["secret"] is None
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    listed = await client.get(f"{BASE}/endpoints", headers=t.headers("admin"))
    assert len(listed.json()["items"]) == 1


async def test_a_changed_url_is_checked_again(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    made = await _create(client, admin)
    url = f"{BASE}/endpoints/{made['id']}"
    r = await client.patch(
        url, json={"url": "http://[::ffff:10.0.0.1]/"}, headers={**admin, "If-Match": '"v1"'}
    )
    assert r.status_code == 422 and r.json()["code"] == "webhook_url_refused", r.text
    r = await client.patch(url, json={"url": None}, headers={**admin, "If-Match": '"v1"'})
    assert r.status_code == 422 and "url cannot be null" in r.json()["detail"], r.text
    assert (await client.get(url, headers=admin)).json()["url"] == PUBLIC


async def test_an_organisation_has_at_most_50_endpoints(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.webhooks import service

    monkeypatch.setattr(service, "MAX_ENDPOINTS", 2)
    t = await make_tenant(db)
    admin = t.headers("admin")
    await _create(client, admin)
    await _create(client, admin)
    r = await client.post(
        f"{BASE}/endpoints", json={"url": PUBLIC, "event_types": ["*"]}, headers=admin
    )
    assert r.status_code == 409 and "at most 2 endpoints" in r.json()["detail"]
