"""Optimistic concurrency on every PATCH and PUT, walked from the OpenAPI document.

For each route: a read of the same URL carries ``ETag: "v<n>"``; the change without
If-Match is 428, with ``*`` 428 (it names no version), with a weak tag of the current
version 412 (If-Match compares strongly: a weak tag never matches), with a list of tags
400, with the current tag 200 and a newer ETag; and then the tag it used is stale: 412
with ``current_version``. Nothing is written by the refused attempts.
``test_every_patch_and_put_route_has_a_target`` is the default deny: a PATCH or PUT route
added without a target here fails the suite.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts_service
from server.parts.replenishment import service as replenishment
from server.parts.schemas import LocationCreate, PartCreate
from server.tickets.models import BusinessCalendar
from tests.fixtures.factories import Tenant, make_policy, make_tenant, make_ticket

# Routes whose concurrency control is not If-Match, and why.
EXEMPT = {
    # tus 1.0: the client's Upload-Offset is the precondition (409 offset_mismatch when it
    # is not the server's offset); docs/attachments.md.
    ("PATCH", "/api/v1/uploads/{upload_id}"),
}


@dataclass
class Target:
    """One object to change: its URL (also its read) and a body that changes it."""

    url: str
    body: dict[str, Any]


Seed = Callable[[AsyncSession, Tenant], Awaitable[Target]]


async def _calendar(db: AsyncSession, t: Tenant) -> Target:
    row = BusinessCalendar(
        org_id=t.org.id, name="Office", timezone="UTC", hours={"mon": [["08:00", "17:00"]]}
    )
    db.add(row)
    await db.flush()
    return Target(f"/api/v1/business-calendars/{row.id}", {"name": "Head office"})


async def _template(db: AsyncSession, t: Tenant) -> Target:
    from server.field.checklists import service as checklists
    from server.field.schemas import TemplateCreate

    data = TemplateCreate.model_validate(
        {"name": "Safety", "items": [{"kind": "yes_no", "label": "Isolated?"}]}
    )
    view = await checklists.create_template(db, t.actor("admin"), data=data)
    return Target(f"/api/v1/checklist-templates/{view.template.id}", {"name": "Safety first"})


async def _part(db: AsyncSession, t: Tenant) -> Target:
    part = await parts_service.create_part(
        db, t.actor("admin"), data=PartCreate(sku="RLY-1", name="Relay")
    )
    return Target(f"/api/v1/parts/{part.id}", {"price": "42.00"})


async def _location(db: AsyncSession, t: Tenant) -> Target:
    where = await parts_service.create_location(
        db, t.actor("admin"), data=LocationCreate(kind="warehouse", name="Depot")
    )
    return Target(f"/api/v1/stock-locations/{where.id}", {"name": "Minhang depot"})


async def _level(db: AsyncSession, t: Tenant) -> Target:
    admin = t.actor("admin")
    part = await parts_service.create_part(db, admin, data=PartCreate(sku="F-1", name="Filter"))
    where = await parts_service.create_location(
        db, admin, data=LocationCreate(kind="warehouse", name="Depot")
    )
    await replenishment.set_level(
        db,
        admin,
        location_id=where.id,
        part_id=part.id,
        minimum=Decimal(1),
        target=Decimal(3),
        expected_version=None,
    )
    url = f"/api/v1/stock-locations/{where.id}/levels/{part.id}"
    return Target(url, {"minimum": "2", "target": "6"})


async def _policy(db: AsyncSession, t: Tenant) -> Target:
    policy = await make_policy(db, t.org, "P1", response_minutes=60, resolution_minutes=480)
    return Target(f"/api/v1/sla-policies/{policy.id}", {"response_minutes": 30})


async def _ticket(db: AsyncSession, t: Tenant) -> Target:
    assert t.customer
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer)
    return Target(f"/api/v1/tickets/{ticket.id}", {"title": "Chiller trips"})


async def _return(db: AsyncSession, t: Tenant) -> uuid.UUID:
    from server.parts.returns import service as returns

    admin = t.actor("admin")
    part = await parts_service.create_part(db, admin, data=PartCreate(sku="RLY-9", name="Relay"))
    rma = await returns.create(
        db,
        admin,
        part_id=part.id,
        serial_number=None,
        ticket_id=None,
        asset_id=None,
        location_id=None,
        notes="",
    )
    return rma.id


async def _service_site(db: AsyncSession, t: Tenant) -> Target:
    from server.customers.models import ServiceSite

    site = ServiceSite(org_id=t.org.id, name="Depot", kind="depot", lat=31.0, lon=121.4, version=1)
    db.add(site)
    await db.flush()
    return Target(f"/api/v1/service-sites/{site.id}", {"name": "Minhang depot"})


async def _preferred(db: AsyncSession, t: Tenant) -> Target:
    assert t.customer
    url = f"/api/v1/customers/{t.customer.id}/preferred-engineers"
    return Target(url, {"engineer_ids": [str(t.engineers[0].id)]})


async def _auto_assign(db: AsyncSession, t: Tenant) -> Target:
    from server.dispatch.models import AutoAssignRule

    db.add(AutoAssignRule(org_id=t.org.id, priority="P1", enabled=False, version=1))
    await db.flush()
    return Target("/api/v1/dispatch/auto-assign/P1", {"enabled": True})


async def _escalation_policy(db: AsyncSession, t: Tenant) -> Target:
    from server.escalation.models import EscalationPolicy

    step = {"trigger": "at_risk", "action": "notify", "owner": "agent", "due_minutes": 30}
    db.add(EscalationPolicy(org_id=t.org.id, priority="P1", steps=[step], version=1))
    await db.flush()
    return Target("/api/v1/escalation/policies/P1", {"steps": [{**step, "due_minutes": 20}]})


async def _survey_template(db: AsyncSession, t: Tenant) -> Target:
    from tests.fixtures.surveys import make_template

    template = await make_template(db, t)
    return Target(f"/api/v1/surveys/templates/{template.id}", {"delay_minutes": 30})


async def _notification_channel(db: AsyncSession, t: Tenant) -> Target:
    from server.notify import NotificationChannel

    row = NotificationChannel(
        org_id=t.org.id, kind="wecom", url="https://robot.example/send?key=k", options={}, version=1
    )
    db.add(row)
    await db.flush()
    return Target(f"/api/v1/notifications/channels/{row.id}", {"enabled": False})


async def _notification_preferences(db: AsyncSession, t: Tenant) -> Target:
    assert t.customer
    url = f"/api/v1/customers/{t.customer.id}/notification-preferences"
    return Target(url, {"channels": ["sms", "email"], "lang": "zh_CN"})


async def _same(url: str, body: dict[str, Any]) -> Target:
    return Target(url, body)


async def _webhook(db: AsyncSession, t: Tenant) -> Target:
    from server.webhooks import service as webhooks
    from server.webhooks.schemas import EndpointCreate

    data = EndpointCreate(url="https://93.184.216.34/hook", event_types=["*"])
    endpoint, _ = await webhooks.create_endpoint(db, t.actor("admin"), data=data)
    return Target(f"/api/v1/webhooks/endpoints/{endpoint.id}", {"description": "ERP"})


TARGETS: dict[tuple[str, str], Seed] = {
    ("PATCH", "/api/v1/assets/{asset_id}"): lambda db, t: _same(
        f"/api/v1/assets/{t.asset.id if t.asset else ''}", {"name": "Chiller 2"}
    ),
    ("PATCH", "/api/v1/business-calendars/{calendar_id}"): _calendar,
    ("PATCH", "/api/v1/checklist-templates/{template_id}"): _template,
    ("PATCH", "/api/v1/customers/{customer_id}"): lambda db, t: _same(
        f"/api/v1/customers/{t.customer.id if t.customer else ''}", {"contact_name": "Wang Wei"}
    ),
    ("PATCH", "/api/v1/engineers/{engineer_id}"): lambda db, t: _same(
        f"/api/v1/engineers/{t.engineers[0].id}", {"territory": "Pudong"}
    ),
    ("PATCH", "/api/v1/organisation"): lambda db, t: _same(
        "/api/v1/organisation", {"name": "Renamed Co."}
    ),
    ("PUT", "/api/v1/customers/{customer_id}/preferred-engineers"): _preferred,
    ("PUT", "/api/v1/dispatch/auto-assign/{priority}"): _auto_assign,
    ("PUT", "/api/v1/escalation/policies/{priority}"): _escalation_policy,
    ("PATCH", "/api/v1/notifications/channels/{channel_id}"): _notification_channel,
    ("PUT", "/api/v1/customers/{customer_id}/notification-preferences"): _notification_preferences,
    ("PATCH", "/api/v1/parts/{part_id}"): _part,
    ("PATCH", "/api/v1/service-sites/{site_id}"): _service_site,
    ("PATCH", "/api/v1/sites/{site_id}"): lambda db, t: _same(
        f"/api/v1/sites/{t.site.id if t.site else ''}", {"access_notes": "Ring at gate 2"}
    ),
    ("PATCH", "/api/v1/sla-policies/{policy_id}"): _policy,
    ("PATCH", "/api/v1/stock-locations/{location_id}"): _location,
    ("PUT", "/api/v1/stock-locations/{location_id}/levels/{part_id}"): _level,
    ("PATCH", "/api/v1/surveys/templates/{template_id}"): _survey_template,
    ("PATCH", "/api/v1/tickets/{ticket_id}"): _ticket,
    ("PATCH", "/api/v1/webhooks/endpoints/{endpoint_id}"): _webhook,
    ("PATCH", "/api/v1/users/{user_id}"): lambda db, t: _same(
        f"/api/v1/users/{t.users['viewer'].id}", {"full_name": "Zhang Min"}
    ),
}


def changing_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every PATCH and PUT in the OpenAPI document."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method in ("patch", "put")
    }


async def _version(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> int:
    read = await client.get(url, headers=headers)
    assert read.status_code == 200, (url, read.text)
    etag = read.headers.get("etag", "")
    assert etag.startswith('"v') and etag.endswith('"'), f"GET {url}: ETag {etag!r}"
    return int(etag[2:-1])


def _problem(response: httpx.Response, status: int, code: str, where: str) -> dict[str, Any]:
    assert response.status_code == status, (where, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), where
    body: dict[str, Any] = response.json()
    assert body["code"] == code, (where, body)
    return body


@pytest.mark.parametrize("route", sorted(TARGETS), ids=[f"{m} {p}" for m, p in sorted(TARGETS)])
async def test_a_change_needs_the_current_strong_etag(
    route: tuple[str, str], client: httpx.AsyncClient, db: AsyncSession
) -> None:
    method, _ = route
    t = await make_tenant(db)
    target = await TARGETS[route](db, t)
    await db.commit()  # releases the factories' savepoint; the test transaction stays open
    admin = t.headers("admin")
    current = await _version(client, target.url, admin)

    async def send(**headers: str) -> httpx.Response:
        return await client.request(
            method, target.url, json=target.body, headers={**admin, **headers}
        )

    _problem(await send(), 428, "precondition_required", "without If-Match")
    _problem(await send(**{"If-Match": "*"}), 428, "precondition_required", "If-Match: *")
    weak = await send(**{"If-Match": f'W/"v{current}"'})
    assert _problem(weak, 412, "precondition_failed", "weak tag")["current_version"] == current
    listed = await send(**{"If-Match": f'"v{current}", "v{current + 1}"'})
    _problem(listed, 400, "bad_request", "a list of tags")
    # Strong comparison is character by character: "v01" is no tag we issued for v1.
    padded = await send(**{"If-Match": f'"v0{current}"'})
    _problem(padded, 400, "bad_request", "a zero-padded tag")
    assert await _version(client, target.url, admin) == current, "a refused change wrote"

    ok = await send(**{"If-Match": f'"v{current}"'})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == f'"v{current + 1}"'
    assert await _version(client, target.url, admin) == current + 1

    stale = await send(**{"If-Match": f'"v{current}"'})
    body = _problem(stale, 412, "precondition_failed", "stale tag")
    assert body["current_version"] == current + 1
    assert await _version(client, target.url, admin) == current + 1


def test_every_patch_and_put_route_has_a_target(app: FastAPI) -> None:
    routes = changing_routes(app)
    assert len(routes) >= 10, "route discovery found too few PATCH/PUT routes; is it broken?"
    missing = sorted(routes - set(TARGETS) - EXEMPT)
    assert not missing, f"PATCH/PUT routes without an If-Match check (default deny): {missing}"
    stale = sorted((set(TARGETS) | EXEMPT) - routes)
    assert not stale, f"targets for routes that no longer exist: {stale}"


async def test_a_level_is_created_once_with_if_none_match(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """PUT creates with If-None-Match: * (412 once a level is set) and replaces with
    If-Match (412 while none is set)."""
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await parts_service.create_part(db, admin, data=PartCreate(sku="F-1", name="Filter"))
    where = await parts_service.create_location(
        db, admin, data=LocationCreate(kind="warehouse", name="Depot")
    )
    await db.commit()
    url = f"/api/v1/stock-locations/{where.id}/levels/{part.id}"
    headers = t.headers("admin")
    body = {"minimum": "1", "target": "3"}
    early = await client.put(url, json=body, headers={**headers, "If-Match": '"v1"'})
    assert (
        _problem(early, 412, "precondition_failed", "replace before create")["current_version"]
        is None
    )
    assert (await client.get(url, headers=headers)).status_code == 404
    made = await client.put(url, json=body, headers={**headers, "If-None-Match": "*"})
    assert made.status_code == 200 and made.headers["etag"] == '"v1"', made.text
    again = await client.put(url, json=body, headers={**headers, "If-None-Match": "*"})
    assert _problem(again, 412, "precondition_failed", "create twice")["current_version"] == 1
    both = await client.put(
        url, json=body, headers={**headers, "If-None-Match": "*", "If-Match": '"v1"'}
    )
    _problem(both, 400, "bad_request", "both preconditions")


async def test_optional_if_match_on_transitions_and_deletes_refuses_weak_and_stale_tags(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Where If-Match is optional (work-order transitions, part-return transitions, policy
    deletion), a tag that is sent is held to the same rules."""
    t = await make_tenant(db)
    target = await _ticket(db, t)
    policy = await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=480)
    return_id = await _return(db, t)
    await db.commit()
    headers = t.headers("dispatcher")
    cancel = {"action": "cancel", "reason": "Customer withdrew"}
    for tag in ('W/"v1"', '"v9"'):
        refused = await client.post(
            f"{target.url}/transitions", json=cancel, headers={**headers, "If-Match": tag}
        )
        _problem(refused, 412, "precondition_failed", f"transition with {tag}")
    url = f"/api/v1/sla-policies/{policy.id}"
    admin = t.headers("admin")
    weak = await client.delete(url, headers={**admin, "If-Match": 'W/"v1"'})
    _problem(weak, 412, "precondition_failed", "delete with a weak tag")
    assert (await client.delete(url, headers={**admin, "If-Match": '"v1"'})).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404
    rma = f"/api/v1/part-returns/{return_id}/transitions"
    received = {"status": "received"}
    stale = await client.post(rma, json=received, headers={**admin, "If-Match": 'W/"v1"'})
    _problem(stale, 412, "precondition_failed", "return transition with a weak tag")
    moved = await client.post(rma, json=received, headers={**admin, "If-Match": '"v1"'})
    assert moved.status_code == 200 and moved.headers["etag"] == '"v2"', moved.text
