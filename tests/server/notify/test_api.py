"""The delivery log, retry and customers' preferences over HTTP; other tenants' are 404."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.notify import Notification
from tests.fixtures.factories import Tenant, make_tenant

NOW = dt.datetime.now(dt.UTC)


def log_row(t: Tenant, status: str, **kw: object) -> Notification:
    return Notification(
        org_id=t.org.id,
        event_id=uuid.uuid4(),
        topic="ticket.created",
        template="ticket_received",
        recipient_kind="customer",
        recipient_id=kw.pop("recipient_id", uuid.uuid4()),
        channel="email",
        address="c@example.test",
        lang="en",
        subject="We received your request",
        body="...",
        status=status,
        attempts=kw.pop("attempts", 0),
        next_attempt_at=NOW,
        **kw,
    )


async def test_log_lists_filters_and_retries(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db, "Log")
    other = await make_tenant(db, "Other")
    ticket_id = uuid.uuid4()
    failed = log_row(t, "failed", attempts=8, last_error="SMTP: refused", ticket_id=ticket_id)
    sent = log_row(t, "sent", attempts=1)
    foreign = log_row(other, "failed")
    db.add_all([failed, sent, foreign])
    await db.flush()
    headers = t.headers("dispatcher")

    page = (await client.get("/api/v1/notifications", params={"limit": 1}, headers=headers)).json()
    assert [i["id"] for i in page["items"]] == [str(failed.id)]
    rest = await client.get(
        "/api/v1/notifications", params={"cursor": page["next_cursor"]}, headers=headers
    )
    assert [i["id"] for i in rest.json()["items"]] == [str(sent.id)]
    by_status = await client.get("/api/v1/notifications?status=failed", headers=headers)
    assert [i["id"] for i in by_status.json()["items"]] == [str(failed.id)]
    by_ticket = await client.get(f"/api/v1/notifications?ticket_id={ticket_id}", headers=headers)
    assert [i["last_error"] for i in by_ticket.json()["items"]] == ["SMTP: refused"]

    retried = await client.post(f"/api/v1/notifications/{failed.id}/retry", headers=headers)
    assert retried.status_code == 200
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    again = await client.post(f"/api/v1/notifications/{sent.id}/retry", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "notification_not_retryable"

    for path in (f"/notifications/{foreign.id}", f"/notifications/{foreign.id}/retry"):
        method = "POST" if path.endswith("retry") else "GET"
        response = await client.request(method, f"/api/v1{path}", headers=headers)
        assert response.status_code == 404
    viewer = await client.get("/api/v1/notifications", headers=t.headers("viewer"))
    assert viewer.status_code == 403


async def test_preferences_read_set_with_etag(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db, "Prefs")
    other = await make_tenant(db, "OtherPrefs")
    assert t.customer and other.customer
    path = f"/api/v1/customers/{t.customer.id}/notification-preferences"
    headers = t.headers("agent")
    first = await client.get(path, headers=headers)
    assert first.headers["ETag"] == '"v0"'
    assert first.json()["channels"] == ["email", "sms"] and first.json()["opt_out"] is False
    body = {
        "channels": ["sms", "email"],
        "lang": "zh_CN",
        "quiet_start": "21:00:00",
        "quiet_end": "08:00:00",
        "opt_out_templates": ["survey_invitation"],
    }
    assert (await client.put(path, json=body, headers=headers)).status_code == 428
    created = await client.put(path, json=body, headers={**headers, "If-Match": '"v0"'})
    assert created.status_code == 200, created.text
    assert created.headers["ETag"] == '"v1"' and created.json()["lang"] == "zh_CN"
    stale = await client.put(path, json=body, headers={**headers, "If-Match": '"v0"'})
    assert stale.status_code == 412
    only_new = await client.put(path, json=body, headers={**headers, "If-None-Match": "*"})
    assert only_new.status_code == 412
    changed = await client.put(
        path, json={**body, "opt_out": True}, headers={**headers, "If-Match": '"v1"'}
    )
    assert changed.json()["opt_out"] is True and changed.headers["ETag"] == '"v2"'
    bad = await client.put(
        path, json={**body, "channels": ["fax"]}, headers={**headers, "If-Match": '"v2"'}
    )
    assert bad.status_code == 422

    foreign = f"/api/v1/customers/{other.customer.id}/notification-preferences"
    assert (await client.get(foreign, headers=headers)).status_code == 404
    put_foreign = await client.put(foreign, json=body, headers={**headers, "If-None-Match": "*"})
    assert put_foreign.status_code == 404
    engineer = await client.get(path, headers=t.headers("engineer1"))
    assert engineer.status_code == 403


@pytest.mark.parametrize(
    ("quiet", "why"),
    [
        ({"quiet_start": "08:00", "quiet_end": "08:00"}, "the same time"),
        ({"quiet_start": "22:00"}, "both quiet_start and quiet_end"),
        ({"quiet_end": "07:00"}, "both quiet_start and quiet_end"),
    ],
)
async def test_quiet_hours_that_would_mean_nothing_are_refused(
    quiet: dict[str, str], why: str, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Kept, they would silently mean "no quiet hours" (audience.quiet_end)."""
    t = await make_tenant(db, "QuietRefused")
    assert t.customer
    r = await client.put(
        f"/api/v1/customers/{t.customer.id}/notification-preferences",
        json={"channels": ["email"], **quiet},
        headers={**t.headers("agent"), "If-Match": '"v0"'},
    )
    assert r.status_code == 422 and why in r.text, r.text


async def test_the_log_never_shows_a_link_that_opens(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The survey invitation's body holds the customer's /s/ link (their credential): the
    log shows it cut, for dispatchers and admins alike."""
    from server.links import LinkKind
    from server.links import service as links

    t = await make_tenant(db, "LogLinks")
    assert t.customer
    _, token = links.issue(
        db, org_id=t.org.id, kind=LinkKind.SURVEY, subject_id=t.customer.id, expires_at=None
    )
    url = links.url(LinkKind.SURVEY, token)
    row = log_row(t, "sent")
    row.body = f"Tell us: {url}\nThanks"
    db.add(row)
    await db.flush()
    for role in ("dispatcher", "admin"):
        one = await client.get(f"/api/v1/notifications/{row.id}", headers=t.headers(role))
        assert one.status_code == 200, one.text
        assert token not in one.text and f"/s/{token[:4]}…" in one.json()["body"]
        listed = await client.get("/api/v1/notifications", headers=t.headers(role))
        assert token not in listed.text
