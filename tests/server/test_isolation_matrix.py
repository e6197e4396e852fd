"""Tenant and object isolation (OWASP API1 BOLA, API5 BFLA): one declarative matrix.

Every row is an operation; every cell is (role x object) -> the expected HTTP status.

Roles: admin, dispatcher, agent, viewer, engineer (engineer1 of tenant A), integration
(an API key of tenant A holding every scope) and anonymous.

Objects:
- ``own``: for the engineer, the work order assigned to them and its customer, site and
  asset, and their own profile; for everyone else simply an object of their organisation;
- ``same_org_other``: a work order assigned to engineer2 with a second customer/site/asset
  that engineer1's work does not touch, and engineer2's profile;
- ``other_org``: the same kind of object in tenant B.

Beyond the table, every cell is also requested with an id that exists nowhere
(``missing``): an object the caller may not see must be indistinguishable from one
that does not exist (same status, same error code), so a foreign id answers 404 and a
role refused an operation gets the same 403 whatever id it names. List responses are
checked item by item: tenant B's objects never appear, and an engineer's lists hold only
their own work. ``test_every_api_route_has_a_matrix_row`` is the default-deny check: a
route added without a row here fails the suite.

Answers combining several domains (a row's ``scopes``) are also requested with API keys
holding exactly those scopes and each one short of them
(``test_combined_answers_need_every_scope``); a route whose dependency requires several
scopes without such a row fails ``test_every_combined_answer_has_a_scoped_row``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.auth import service as auth_service
from server.auth.actor import SCOPES
from server.parts import service as parts_service
from server.parts.schemas import LocationCreate, MovementCreate, PartCreate
from server.tickets.models import BusinessCalendar
from tests.fixtures.factories import (
    Tenant,
    headers_for,
    make_customer,
    make_policy,
    make_tenant,
    make_ticket,
)

ROLES = ("admin", "dispatcher", "agent", "viewer", "engineer", "integration", "anonymous")
OBJECTS = ("own", "same_org_other", "other_org")
UNROUTED = frozenset({("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/refresh")})

# Cell shorthands: (own, same_org_other, other_org).
VISIBLE = (200, 200, 404)  # any object of the caller's organisation
OWN_ONLY = (200, 404, 404)  # the engineer's own work only
DENIED = (403, 403, 403)  # the role may not do this at all, whatever the object
# The role may not do this, but other organisations' objects stay invisible (404).
DENIED_IN_ORG = (403, 403, 404)
ANON = (401, 401, 401)
CREATED_WITH_REF = (201, 201, 422)  # a create whose body references the object

Expect = int | tuple[int, int, int]


# --- the world the matrix runs in --------------------------------------------------------


@dataclass
class World:
    a: Tenant
    b: Tenant
    headers: dict[str, dict[str, str]]
    # family -> object key -> id; the "missing" key names an id that exists nowhere.
    ids: dict[str, dict[str, uuid.UUID]]
    versions: dict[str, dict[str, int]]  # family -> object key -> version (for If-Match)

    def id(self, family: str, key: str) -> str:
        return str(self.ids[family][key])

    def all_ids(self, family: str) -> dict[str, str]:
        return {k: str(v) for k, v in self.ids[family].items()}


async def _build_world(db: AsyncSession) -> World:
    a = await make_tenant(db, "Alpha")
    b = await make_tenant(db, "Beta")
    assert a.customer and a.site and a.asset and b.customer and b.site and b.asset
    own = await make_ticket(
        db, a.actor("dispatcher"), a.customer, a.site, a.asset, assign_to=a.engineers[0]
    )
    c2, s2, a2 = await make_customer(db, a.org)
    other = await make_ticket(db, a.actor("dispatcher"), c2, s2, a2, assign_to=a.engineers[1])
    foreign = await make_ticket(
        db, b.actor("dispatcher"), b.customer, b.site, b.asset, assign_to=b.engineers[0]
    )
    admin_a, admin_b = a.actor("admin"), b.actor("admin")
    integration, secret = await auth_service.create_api_key(
        db, admin_a, name="ERP", scopes=sorted(SCOPES)
    )
    key_a2, _ = await auth_service.create_api_key(db, admin_a, name="CRM", scopes=["tickets:read"])
    key_b, _ = await auth_service.create_api_key(db, admin_b, name="B", scopes=["tickets:read"])
    calendars = []
    for org in (a.org, a.org, b.org):
        calendar = BusinessCalendar(
            org_id=org.id, name="Office", timezone="UTC", hours={"mon": [["08:00", "17:00"]]}
        )
        db.add(calendar)
        calendars.append(calendar)
    await db.flush()
    policies = [
        await make_policy(db, a.org, "P1", response_minutes=60, resolution_minutes=480),
        await make_policy(db, a.org, "P2", response_minutes=60, resolution_minutes=480),
        await make_policy(db, b.org, "P1", response_minutes=60, resolution_minutes=480),
    ]
    stock = await _build_stock(db, a, b)
    stock |= await _build_tracking(db, a, b, (own, other, foreign))
    stock |= await _build_attachments(db, a, b, (own, other, foreign))
    stock |= await _build_field(db, a, b)
    stock |= await _build_sync(db, a, b, (own, other, foreign))
    stock |= await _build_day_plans(db, a, b)
    stock |= await _build_dispatch(db, a, b)
    stock |= await _build_escalation(db, a, b, (own, other, foreign))
    stock |= await _build_portal_links(db, (own, other, foreign))
    stock |= await _build_surveys(db, a, b, (own, other, foreign))
    stock |= await _build_notify(db, a, b)
    await _build_kpis(db, (own, other, foreign))
    await _build_levels(db, a, b, stock["part"])
    stock |= await _build_webhooks(db, a, b)
    await db.commit()  # releases the factories' savepoint; the test transaction stays open

    objects: dict[str, tuple[Any, Any, Any]] = {
        **stock,
        "ticket": (own, other, foreign),
        "customer": (a.customer, c2, b.customer),
        "site": (a.site, s2, b.site),
        "asset": (a.asset, a2, b.asset),
        "engineer": (a.engineers[0], a.engineers[1], b.engineers[0]),
        "api_key": (integration, key_a2, key_b),
        "user": (a.users["admin"], a.users["viewer"], b.users["admin"]),
        "calendar": tuple(calendars),
        "policy": tuple(policies),
    }
    ids: dict[str, dict[str, uuid.UUID]] = {}
    versions: dict[str, dict[str, int]] = {}
    for family, trio in objects.items():
        ids[family] = {key: obj.id for key, obj in zip(OBJECTS, trio, strict=True)}
        ids[family]["missing"] = uuid.uuid4()
        if hasattr(trio[0], "version"):
            versions[family] = {key: o.version for key, o in zip(OBJECTS, trio, strict=True)}
            versions[family]["missing"] = 1
    headers = {
        "admin": a.headers("admin"),
        "dispatcher": a.headers("dispatcher"),
        "agent": a.headers("agent"),
        "viewer": a.headers("viewer"),
        "engineer": headers_for(a.users["engineer1"]),
        "integration": {"Authorization": f"Bearer {secret}"},
        "anonymous": {},
    }
    return World(a=a, b=b, headers=headers, ids=ids, versions=versions)


async def _build_stock(db: AsyncSession, a: Tenant, b: Tenant) -> dict[str, tuple[Any, Any, Any]]:
    """Parts, locations and ledger lines: ``location`` is a van (own = engineer1's), and
    ``warehouse`` a back-office location no engineer may see; each van holds 5 units."""
    vans = [await parts_service.ensure_van(db, e) for e in (*a.engineers, b.engineers[0])]
    parts, warehouses, movements = [], [], []
    for tenant in (a, a, b):
        actor = tenant.actor("admin")
        n = len(parts)
        data = PartCreate(sku=f"RLY-{n}", name=f"Relay {n}", compatible_models=["CH-200"])
        parts.append(await parts_service.create_part(db, actor, data=data))
        where = LocationCreate(kind="warehouse", name=f"Warehouse {n}")
        warehouses.append(await parts_service.create_location(db, actor, data=where))
    for van in vans:
        tenant = a if van.org_id == a.org.id else b
        part = parts[0] if tenant is a else parts[2]
        receive = MovementCreate(kind="receive", part_id=part.id, quantity=5, to_location_id=van.id)
        movements.append(
            await parts_service.create_movement(db, tenant.actor("admin"), data=receive)
        )
    return {
        "part": tuple(parts),
        "location": tuple(vans),
        "warehouse": tuple(warehouses),
        "movement": tuple(movements),
    }


# --- dispatch ----------------------------------------------------------------------------


def _tomorrow() -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()


async def _build_day_plans(db: AsyncSession, a: Tenant, b: Tenant) -> dict[str, tuple[Any, ...]]:
    """``day_plan``: a ready plan routing nothing per tenant (own, same org, tenant B)."""
    from server.dispatch.models import DayPlan

    result = {
        "routes": [],
        "unassigned": [],
        "versions": {},
        "objective": {"travel_seconds": 0},
    }
    plans = tuple(
        DayPlan(
            org_id=t.org.id,
            plan_date=dt.date.fromisoformat(_tomorrow()),
            status="ready",
            seconds=1,
            requested_by="test",
            result=result,
            version=3,
        )
        for t in (a, a, b)
    )
    db.add_all(plans)
    await db.flush()
    return {"day_plan": plans}


def _board_own_engineers(world: World, body: Any) -> list[str]:
    """The board lists the caller's engineers, never tenant B's."""
    seen = {e["engineer_id"] for e in body["engineers"]}
    if world.id("engineer", "other_org") in seen:
        return ["tenant B's engineer on the board"]
    return [] if world.id("engineer", "own") in seen else ["own engineer missing from the board"]


# --- escalation and follow-up tasks (server/escalation) --------------------------------------


async def _build_escalation(
    db: AsyncSession, a: Tenant, b: Tenant, tickets: tuple[Any, Any, Any]
) -> dict[str, tuple[Any, Any, Any]]:
    """Tenant A's P1 escalation policy (version 1); each work order at escalation level 1,
    owned by its organisation's service desk agent (who may acknowledge it); ``followup``:
    a task per work order for its engineer (own = engineer1's)."""
    from server.escalation.models import EscalationPolicy, FollowupTask, TicketEscalation

    step = {"trigger": "at_risk", "action": "notify", "owner": "agent", "due_minutes": 30}
    db.add(EscalationPolicy(org_id=a.org.id, priority="P1", steps=[step], version=1))
    now = dt.datetime.now(dt.UTC)
    users = (a.users["engineer1"], a.users["engineer2"], b.users["engineer1"])
    tasks = []
    for tenant, ticket, user in zip((a, a, b), tickets, users, strict=True):
        db.add(
            TicketEscalation(
                org_id=tenant.org.id,
                ticket_id=ticket.id,
                level=1,
                trigger="at_risk",
                action="notify",
                owner="agent",
                owner_user_id=tenant.users["agent"].id,
                reason="SLA at risk",
                reached_at=now,
                due_at=now + dt.timedelta(minutes=30),
            )
        )
        task = FollowupTask(
            org_id=tenant.org.id,
            ticket_id=ticket.id,
            kind="complaint_callback",
            assignee_user_id=user.id,
            due_at=now + dt.timedelta(days=1),
            status="open",
            note="",
            version=1,
        )
        db.add(task)
        tasks.append(task)
    await db.flush()
    return {"followup": tuple(tasks)}


# --- customer pages (issue 13, server/portal) ---------------------------------------------


async def _build_portal_links(
    db: AsyncSession, tickets: tuple[Any, Any, Any]
) -> dict[str, tuple[Any, ...]]:
    """``status_link``: a status link of each work order (own = engineer1's)."""
    from server.portal import links as portal_links

    issued = [await portal_links.status_link_for(db, ticket) for ticket in tickets]
    await db.flush()
    return {"status_link": tuple(i.link for i in issued)}


def _is_png(world: World, role: str, key: str, body: Any) -> list[str]:
    return [] if "PNG" in str(body)[:8] else ["the label is not a PNG"]


# --- the matrix --------------------------------------------------------------------------


Body = Callable[[World, str], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: str  # the route's template, exactly as registered
    expect: Mapping[str, Expect]
    family: str | None = None  # the object family the cells vary over
    in_path: bool = True  # the object's id goes in the path (else only in body/query)
    fixed_path: tuple[str, str] | None = None  # (family, key) filling the path instead
    body: Body | None = None
    csv: Callable[[World, str], str] | None = None  # a text/csv body instead of JSON
    # Extra headers and a raw body (tus uploads) instead of JSON.
    raw: Callable[[World, str], tuple[dict[str, str], bytes | None]] | None = None
    query: Callable[[World, str], dict[str, str]] | None = None
    if_match: bool = False
    listed: str | None = None  # the family a list response must keep in scope
    check: Callable[[World, str, str, Any], list[str]] | None = None
    # An answer combining several domains: the scopes an API key needs for it, each one
    # (test_combined_answers_need_every_scope).
    scopes: tuple[str, ...] = ()

    def url(self, world: World, key: str) -> str:
        if self.fixed_path is not None:
            value = world.id(*self.fixed_path)
        elif self.family is not None and self.in_path:
            value = world.id(self.family, key)
        else:
            return self.path
        return re.sub(r"\{[^}]+\}", value, self.path)


def back_office(
    writer: Expect,
    *,
    viewer: Expect,
    engineer: Expect,
    agent: Expect | None = None,
    integration: Expect | None = None,
    dispatcher: Expect | None = None,
    admin: Expect | None = None,
) -> dict[str, Expect]:
    """Cells for the common shape: admin, dispatcher, agent and key behave like `writer`."""
    anon: Expect = ANON if isinstance(writer, tuple) else 401
    return {
        "admin": writer if admin is None else admin,
        "dispatcher": writer if dispatcher is None else dispatcher,
        "agent": writer if agent is None else agent,
        "viewer": viewer,
        "engineer": engineer,
        "integration": writer if integration is None else integration,
        "anonymous": anon,
    }


def admin_only(ok: Expect, *, dispatcher: Expect | None = None) -> dict[str, Expect]:
    denied: Expect = DENIED if isinstance(ok, tuple) else 403
    cells = back_office(denied, viewer=denied, engineer=denied, admin=ok, dispatcher=dispatcher)
    return cells


def _history_check(world: World, role: str, key: str, body: Any) -> list[str]:
    """An asset's history holds work orders on that asset only, never tenant B's."""
    asset = world.id("asset", key)
    wrong = [t["id"] for t in body if t["asset_id"] != asset]
    foreign = world.id("ticket", "other_org")
    problems = [f"history of {key} asset holds tickets of other assets: {wrong}"] if wrong else []
    if any(t["id"] == foreign for t in body):
        problems.append("history lists tenant B's work order")
    if not any(t["id"] == world.id("ticket", key) for t in body):
        problems.append(f"history of the {key} asset misses its work order")
    return problems


def _filter_finds_own_only(world: World, role: str, key: str, body: Any) -> list[str]:
    """Filtering a list by an id the caller may not see finds nothing (and never errors)."""
    items = body["items"] if isinstance(body, dict) else body
    hidden = key in ("other_org", "missing") or (role == "engineer" and key == "same_org_other")
    if hidden and items:
        return [f"filter by a {key} id returned {len(items)} items"]
    if key == "own" and not items:
        return ["filter by an own id returned nothing"]
    return []


def _is_own_org(world: World, body: Any) -> list[str]:
    return [] if body["id"] == str(world.a.org.id) else [f"answered organisation {body['id']}"]


def _own_van_only(world: World, role: str, key: str, body: Any) -> list[str]:
    """An engineer's location list is their van and nothing else; the back office sees the
    warehouses too."""
    items = body["items"] if isinstance(body, dict) else body
    seen = {item["id"] for item in items}
    if role == "engineer":
        van = world.id("location", "own")
        return [] if seen == {van} else [f"engineer lists locations {sorted(seen)}"]
    if world.id("warehouse", "own") not in seen:
        return ["own warehouse missing from the list"]
    if world.id("warehouse", "other_org") in seen:
        return ["tenant B's warehouse listed"]
    return []


def _balances_of(world: World, role: str, key: str, body: Any) -> list[str]:
    """A location's balances belong to that location (the van holds its 5 units)."""
    location = world.id("location", key)
    wrong = [b for b in body if b["location_id"] != location]
    problems = [f"balances of other locations: {wrong}"] if wrong else []
    if not body or body[0]["on_hand"] != "5.000":
        problems.append(f"the {key} van's 5 units missing: {body}")
    return problems


def _ledger_ok(world: World, role: str, key: str, body: Any) -> list[str]:
    return [] if body == {"ok": True, "mismatches": []} else [f"ledger check: {body}"]


def _on_hand_scope(world: World, role: str, key: str, body: Any) -> list[str]:
    """The on-hand report holds the caller's stock only: an engineer's van for an engineer,
    never tenant B's locations; with ``location_id`` exactly that location."""
    seen = {x["location_id"] for x in body["locations"]}
    if world.id("location", "other_org") in seen or world.id("warehouse", "other_org") in seen:
        return ["tenant B's stock in the on-hand report"]
    if role == "engineer" or key != "own":
        want = {world.id("location", key)}
        return [] if seen == want else [f"on-hand report for {key} holds {sorted(seen)}"]
    if world.id("location", "own") not in seen:
        return ["own van missing from the on-hand report"]
    return []


def _is_pdf(world: World, role: str, key: str, body: Any) -> list[str]:
    return [] if str(body).startswith("%PDF-") else ["the service report is not a PDF"]


def _report_range(world: World, key: str) -> dict[str, str]:
    return {"from": "2026-01-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"}


def _imported_into_own_org(body: Any) -> list[str]:
    counts = (body["created"], body["updated"], body["errors"])
    return [] if counts == (1, 1, []) else [f"import touched other parts: {body}"]


def _exports_own_catalogue(body: Any) -> list[str]:
    skus = [line.split(",")[0] for line in body.splitlines()[1:]]
    return [] if skus == ["RLY-0", "RLY-1"] else [f"export lists {skus}"]


def _movement(kind: str, part: str = "own", **fields: Any) -> Body:
    """A movement body of one unit; ``{key}`` in a field value takes the cell's object."""

    def build(world: World, key: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": kind,
            "part_id": world.id("part", key if part == "{key}" else part),
            "quantity": "1",
        }
        for name, (family, which) in fields.items():
            body[name] = world.id(family, key if which == "{key}" else which)
        return body

    return build


def _ticket_body(world: World, key: str) -> dict[str, Any]:
    return {"customer_id": world.id("customer", key), "title": "Chiller trips"}


# --- serial-numbered units, returns (RMA), pick lists, replenishment: helpers -----------


async def _build_tracking(
    db: AsyncSession, a: Tenant, b: Tenant, tickets: tuple[Any, Any, Any]
) -> dict[str, tuple[Any, Any, Any]]:
    """``stock_unit``: a unit row in each van (own = engineer1's), written directly so the
    catalogue, balances and ledger the other rows check stay as they are (serial movements
    are tested in tests/server/parts/test_serials.py); ``part_return``: one RMA per work
    order (own = engineer1's work order)."""
    from server.parts.models import Part, StockUnit
    from server.parts.returns import service as returns_service

    units, rmas = [], []
    engineers = (*a.engineers, b.engineers[0])
    for tenant, engineer, ticket in zip((a, a, b), engineers, tickets, strict=True):
        part = await db.scalar(select(Part).where(Part.org_id == tenant.org.id).limit(1))
        assert part is not None
        van = await parts_service.ensure_van(db, engineer)
        unit = StockUnit(
            org_id=tenant.org.id, part_id=part.id, serial_number=_serial(), location_id=van.id
        )
        db.add(unit)
        units.append(unit)
        rma = await returns_service.create(
            db,
            tenant.actor("admin"),
            part_id=part.id,
            serial_number=None,
            ticket_id=ticket.id,
            asset_id=None,
            location_id=None,
            notes="",
        )
        rmas.append(rma)
    await db.flush()
    return {"stock_unit": tuple(units), "part_return": tuple(rmas)}


def _engineer_sees_own(family: str) -> Callable[[World, str, str, Any], list[str]]:
    """An engineer's list of ``family`` holds their own object, never engineer2's."""

    def check(world: World, role: str, key: str, body: Any) -> list[str]:
        seen = {item["id"] for item in body["items"]}
        if role == "engineer" and world.id(family, "same_org_other") in seen:
            return [f"engineer lists another engineer's {family}"]
        return []

    return check


@dataclass(frozen=True)
class _LevelRow(Row):
    """Two ids in the path: the cell's location and tenant A's own part."""

    def url(self, world: World, key: str) -> str:
        path = self.path.replace("{part_id}", world.id("part", "own"))
        return path.replace("{location_id}", world.id("location", key))


async def _build_levels(
    db: AsyncSession, a: Tenant, b: Tenant, parts: tuple[Any, Any, Any]
) -> None:
    """A replenishment level (version 1) of tenant A's own part in each of A's vans, and of
    B's part in B's van: the level rows read and replace them."""
    from server.parts.replenishment import service as replenishment

    slots = (
        (a, a.engineers[0], parts[0]),
        (a, a.engineers[1], parts[0]),
        (b, b.engineers[0], parts[2]),
    )
    for tenant, engineer, part in slots:
        van = await parts_service.ensure_van(db, engineer)
        await replenishment.set_level(
            db,
            tenant.actor("admin"),
            location_id=van.id,
            part_id=part.id,
            minimum=Decimal(1),
            target=Decimal(3),
            expected_version=None,
        )


def _serial() -> str:
    return f"SN-{uuid.uuid4().hex[:12]}"


# --- field work (issue 4, server/field): helpers --------------------------------------------


async def _build_field(db: AsyncSession, a: Tenant, b: Tenant) -> dict[str, tuple[Any, Any, Any]]:
    """Per object key, a work order on site (``field_ticket``: engineer1's, engineer2's, tenant
    B's) with its open ``visit`` and a ``labour_entry`` by its engineer, and one on the road
    (``travel_ticket``) for check-ins; ``checklist_template``: two of A's, one of B's (no
    required items, so resolving is allowed), and ``checklist_item``: the first item of each."""
    from server.field import service as field
    from server.field.checklists import service as field_checklists
    from server.field.schemas import TemplateCreate
    from shared.ids import uuid7

    assert a.customer and a.site and a.asset and b.customer and b.site and b.asset
    c3, s3, a3 = await make_customer(db, a.org)
    slots = (
        (a, "engineer1", a.customer, a.site, a.asset),
        (a, "engineer2", c3, s3, a3),
        (b, "engineer1", b.customer, b.site, b.asset),
    )
    field_tickets, travel_tickets, visits, entries = [], [], [], []
    for tenant, who, customer, site, asset in slots:
        engineer = tenant.engineers[int(who[-1]) - 1]
        actor = tenant.actor(who)
        for bucket in (field_tickets, travel_tickets):
            ticket = await make_ticket(
                db, tenant.actor("dispatcher"), customer, site, asset, assign_to=engineer
            )
            await field.accept(db, actor, ticket_id=ticket.id)
            await field.start_travel(db, actor, ticket_id=ticket.id)
            bucket.append(ticket)
        record = await field.check_in(
            db,
            actor,
            ticket_id=field_tickets[-1].id,
            visit_id=uuid7(),
            device_time="2026-11-24T09:00:00+08:00",
        )
        visits.append(record.visit)
        entry = await field.add_labour(
            db,
            actor,
            ticket_id=field_tickets[-1].id,
            entry_id=uuid7(),
            kind="work",
            started_at="2026-11-24T09:00:00+08:00",
            ended_at="2026-11-24T10:00:00+08:00",
        )
        entries.append(entry)
    templates, items = [], []
    for tenant, name in ((a, "Safety"), (a, "Chiller"), (b, "Safety")):
        data = TemplateCreate.model_validate(
            {"name": name, "items": [{"kind": "yes_no", "label": "Isolated?"}]}
        )
        view = await field_checklists.create_template(db, tenant.actor("admin"), data=data)
        templates.append(view.template)
        items.append(view.items[0])
    return {
        "field_ticket": tuple(field_tickets),
        "travel_ticket": tuple(travel_tickets),
        "visit": tuple(visits),
        "labour_entry": tuple(entries),
        "checklist_template": tuple(templates),
        "checklist_item": tuple(items),
    }


@dataclass(frozen=True)
class _FieldRow(Row):
    """A path naming a work order and one of its records: both are the cell's object."""

    families: tuple[tuple[str, str], ...] = ()  # (placeholder, family)

    def url(self, world: World, key: str) -> str:
        path = self.path
        for placeholder, family in self.families:
            path = path.replace(placeholder, world.id(family, key))
        return path


def _own_item(world: World) -> str:
    """The item of tenant A's first checklist template."""
    return str(world.ids["checklist_item"]["own"])


def _new_id() -> str:
    from shared.ids import uuid7

    return str(uuid7())


_NOW = "2026-11-24T10:00:00+08:00"
_ON_VISIT = (("{ticket_id}", "field_ticket"), ("{visit_id}", "visit"))
_ON_ENTRY = (("{ticket_id}", "field_ticket"), ("{entry_id}", "labour_entry"))
CREATED = (201, 201, 404)  # a create on an object of the caller's organisation
CREATED_OWN = (201, 404, 404)  # ... and for an engineer, only on their own work


# --- attachments (issue 4, server/attachments): helpers --------------------------------------

_PNG = b""  # set by _build_attachments: a real PNG, so uploads and thumbnails work


async def _build_attachments(
    db: AsyncSession, a: Tenant, b: Tenant, tickets: tuple[Any, Any, Any]
) -> dict[str, tuple[Any, Any, Any]]:
    """``attachment``: an available photo (with its derived images) on each work order (own =
    engineer1's); ``upload``: an open upload by each engineer (own = engineer1's: an upload is
    visible to its creator only, so everyone else's cell is 404)."""
    global _PNG
    from server.attachments import derive
    from server.attachments.storage import blob_store_for
    from server.attachments.uploads import service as uploads
    from server.config import get_settings
    from tests.fixtures.attachments import png, sha, stored_attachment

    settings = get_settings()
    store = blob_store_for(settings)
    _PNG = png()
    photos, opened = [], []
    owners = ((a, "engineer1"), (a, "engineer2"), (b, "engineer1"))
    for (tenant, who), ticket, colour in zip(
        owners, tickets, ((1, 2, 3), (4, 5, 6), (7, 8, 9)), strict=True
    ):
        actor = tenant.actor(who)
        photo = await stored_attachment(db, actor, ticket, store, png(colour=colour))
        await derive.derive_images(
            db, store, org_id=tenant.org.id, sha256=photo.sha256, max_pixels=10**6
        )
        photos.append(photo)
        meta = {"sha256": sha(_PNG), "filename": "photo.png"}
        opened.append(
            await uploads.create_upload(db, actor, settings, length=len(_PNG), metadata=meta)
        )
    return {"attachment": tuple(photos), "upload": tuple(opened)}


def _uploader_only(engineer: tuple[int, int, int]) -> dict[str, Expect]:
    """Uploads are the creator's alone (the world's are engineers'); viewers may not upload."""
    hidden = (404, 404, 404)
    return back_office(hidden, viewer=DENIED, engineer=engineer)


def _tus_create(world: World, key: str) -> tuple[dict[str, str], bytes | None]:
    from tests.fixtures.attachments import TUS, metadata, sha

    meta = metadata(sha(b"%PDF-1.4 matrix"))
    return {**TUS, "Upload-Length": "15", "Upload-Metadata": meta}, None


def _tus_patch(world: World, key: str) -> tuple[dict[str, str], bytes | None]:
    from tests.fixtures.attachments import TUS

    octets = "application/offset+octet-stream"
    return {**TUS, "Upload-Offset": "0", "Content-Type": octets}, _PNG[:40]


def _attachment_body(world: World, key: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "sha256": uuid.uuid4().hex * 2,
        "size": 1000,
        "mime": "image/jpeg",
        "role": "photo",
    }


def _signature_body(world: World, key: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "attachment_id": str(uuid.uuid4()),
        "sha256": uuid.uuid4().hex * 2,
        "size": 1000,
        "signer_name": "Li Na",
        "strokes": [[[1, 2], [3, 4]]],
        "signed_status": "on_site",
    }


async def _build_notify(db: AsyncSession, a: Tenant, b: Tenant) -> dict[str, tuple[Any, Any, Any]]:
    """``notification``: a failed message of the delivery log per tenant (own, same org,
    tenant B); ``notification_channel``: tenant A's WeCom and DingTalk robots, B's WeCom."""
    from server.notify import Notification, NotificationChannel

    log = tuple(
        Notification(
            org_id=t.org.id,
            event_id=uuid.uuid4(),
            topic="ticket.created",
            template="ticket_received",
            recipient_kind="customer",
            recipient_id=t.customer.id if t.customer else uuid.uuid4(),
            channel="email",
            address="customer@example.test",
            lang="en",
            subject="We received your request",
            body="...",
            status="failed",
            attempts=8,
        )
        for t in (a, a, b)
    )
    channels = tuple(
        NotificationChannel(
            org_id=t.org.id,
            kind=kind,
            url="https://robot.example/send?key=k",
            options={},
            version=1,
        )
        for t, kind in ((a, "wecom"), (a, "dingtalk"), (b, "wecom"))
    )
    db.add_all([*log, *channels])
    await db.flush()
    return {"notification": log, "notification_channel": channels}


async def _build_dispatch(
    db: AsyncSession, a: Tenant, b: Tenant
) -> dict[str, tuple[Any, Any, Any]]:
    """``time_off``: a day of leave of each engineer (own = engineer1's); ``service_site``: two
    of tenant A's depots and one of B's; and tenant A's P1 auto-assign rule (version 1)."""
    import datetime as dt

    from server.customers.models import ServiceSite
    from server.dispatch.models import AutoAssignRule
    from server.engineers.models import TimeOff

    start = dt.datetime(2026, 12, 15, tzinfo=dt.UTC)
    leave = [
        TimeOff(
            org_id=e.org_id,
            engineer_id=e.id,
            kind="leave",
            starts_at=start,
            ends_at=start + dt.timedelta(days=1),
        )
        for e in (*a.engineers, b.engineers[0])
    ]
    sites = [
        ServiceSite(
            org_id=t.org.id, name=f"Depot {n}", kind="depot", lat=31.0, lon=121.4, version=1
        )
        for n, t in enumerate((a, a, b))
    ]
    db.add_all([*leave, *sites])
    db.add(AutoAssignRule(org_id=a.org.id, priority="P1", version=1))
    await db.flush()
    return {"time_off": tuple(leave), "service_site": tuple(sites)}


async def _build_webhooks(db: AsyncSession, a: Tenant, b: Tenant) -> dict[str, tuple[Any, ...]]:
    """``webhook``: two endpoints of tenant A and one of B (version 1), ``webhook_delivery``:
    one pending delivery of each."""
    from server.webhooks.models import WebhookDelivery, WebhookEndpoint

    endpoints = tuple(
        WebhookEndpoint(
            org_id=t.org.id,
            url="https://93.184.216.34/hook",
            event_types=["*"],
            secret="whsec_" + "A" * 44,
            version=1,
        )
        for t in (a, a, b)
    )
    db.add_all(endpoints)
    await db.flush()
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    deliveries = tuple(
        WebhookDelivery(
            org_id=e.org_id,
            endpoint_id=e.id,
            event_id=uuid.uuid4(),
            event_type="ticket.created",
            body="{}",
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
        for e in endpoints
    )
    db.add_all(deliveries)
    await db.flush()
    return {"webhook": endpoints, "webhook_delivery": deliveries}


class _RuleRow(Row):
    """The auto-assign rule of P1 (tenant A has one at version 1)."""

    def url(self, world: World, key: str) -> str:
        return self.path.replace("{priority}", "P1")


async def _build_sync(
    db: AsyncSession, a: Tenant, b: Tenant, tickets: tuple[Any, Any, Any]
) -> dict[str, tuple[Any, Any, Any]]:
    """``sync_client``: a phone installation of each engineer (own = engineer1's);
    ``sync_flag``: a field conflict on each work order (own = engineer1's);
    ``sync_rejected``: a rejected mutation of each installation (its id is the mutation's)."""
    import datetime as dt
    from types import SimpleNamespace

    from server.sync.models import SyncClient, SyncFlag, SyncMutation

    clients, flags, rejected = [], [], []
    engineers = (a.engineers[0], a.engineers[1], b.engineers[0])
    for engineer, ticket in zip(engineers, tickets, strict=True):
        client = SyncClient(
            id=uuid.uuid4(),
            org_id=engineer.org_id,
            user_id=engineer.user_id,
            engineer_id=engineer.id,
            device="matrix",
            last_seq=0,
        )
        flag = SyncFlag(
            org_id=engineer.org_id,
            work_order_id=ticket.id,
            engineer_id=engineer.id,
            kind="completed_after_cancel",
            status="open",
            detail="completed after the office cancelled",
            payload={},
        )
        db.add_all([client, flag])
        clients.append(client)
        flags.append(flag)
    await db.flush()
    for engineer, ticket in zip(engineers, tickets, strict=True):
        # Another installation of the engineer's (the cells push seq 1 on the first).
        client = SyncClient(
            id=uuid.uuid4(),
            org_id=engineer.org_id,
            user_id=engineer.user_id,
            engineer_id=engineer.id,
            device="matrix, old phone",
            last_seq=1,
        )
        db.add(client)
        await db.flush()
        mutation = SyncMutation(
            client_id=client.id,
            seq=1,
            org_id=client.org_id,
            mutation_id=uuid.uuid4(),
            name="labour.add",
            args={"work_order_id": str(ticket.id)},
            work_order_id=ticket.id,
            device_time=dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC),
            outcome="rejected",
            result={"seq": 1, "outcome": "rejected", "data": {}, "error": {"status": 404}},
        )
        db.add(mutation)
        rejected.append(SimpleNamespace(id=mutation.mutation_id))
    await db.flush()
    return {
        "sync_client": tuple(clients),
        "sync_flag": tuple(flags),
        "sync_rejected": tuple(rejected),
    }


def _sync_push_body(world: World, key: str) -> dict[str, Any]:
    """Accept the caller's own work order through the cell's installation."""
    return {
        "client_id": world.id("sync_client", key),
        "mutations": [
            {
                "seq": 1,
                "id": str(uuid.uuid4()),
                "name": "work_order.accept",
                "args": {"work_order_id": world.id("ticket", "own")},
                "device_time": "2026-11-24T10:00:00+00:00",
            }
        ],
    }


# --- surveys (issue 13, server/surveys): helpers ---------------------------------------------


async def _build_surveys(
    db: AsyncSession, a: Tenant, b: Tenant, tickets: tuple[Any, Any, Any]
) -> dict[str, tuple[Any, Any, Any]]:
    """``survey_template``: two of A's (the first the default), one of B's;
    ``survey_response``: an answered survey of each work order (own = engineer1's)."""
    from server.surveys import templates as survey_templates
    from server.surveys.models import SurveyInvitation, SurveyResponse
    from server.surveys.schemas import TemplateCreate

    made = []
    for tenant, name, default in ((a, "After repair", True), (a, "Install", False), (b, "B", True)):
        data = TemplateCreate(name=name, is_default=default)
        made.append(await survey_templates.create(db, tenant.actor("admin"), data=data))
    responses = []
    now = dt.datetime.now(dt.UTC)
    for ticket, template in zip(tickets, (made[0], made[0], made[2]), strict=True):
        invitation = SurveyInvitation(
            org_id=ticket.org_id,
            ticket_id=ticket.id,
            template_id=template.id,
            customer_id=ticket.customer_id,
            engineer_id=ticket.assignee_id,
            status="answered",
            resolved_at=now,
            send_at=now,
            expires_at=now + dt.timedelta(days=14),
        )
        db.add(invitation)
        await db.flush()
        response = SurveyResponse(
            org_id=ticket.org_id,
            invitation_id=invitation.id,
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            engineer_id=ticket.assignee_id,
            csat=4,
            nps=9,
            language="en",
            detractor=False,
            submitted_at=now,
        )
        db.add(response)
        responses.append(response)
    await db.flush()
    return {"survey_template": tuple(made), "survey_response": tuple(responses)}


# --- KPIs (issue 14, server/reports): helpers -------------------------------------------------


async def _build_kpis(db: AsyncSession, tickets: tuple[Any, Any, Any]) -> None:
    """A fact row for each work order (own = engineer1's), created and resolved yesterday,
    with a survey answer, a model and a fault code (every KPI route has something to show)."""
    from server.reports import WorkOrderFact

    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    for ticket in tickets:
        db.add(
            WorkOrderFact(
                ticket_id=ticket.id, org_id=ticket.org_id, number=ticket.number,
                status="resolved", priority=ticket.priority, channel=ticket.channel,
                type="repair", customer_id=ticket.customer_id, asset_id=ticket.asset_id,
                product_model="CH-200", fault_code="E1", engineer_id=ticket.assignee_id,
                created_at=yesterday - dt.timedelta(hours=3), resolved_at=yesterday,
                ended_at=yesterday, resolve_s=3 * 3600, waiting_s=0, visits=1, reopened=0,
                work_s=3600, travel_s=0, labour_cost=Decimal(50), parts_cost=Decimal(0),
                csat=4, nps=9, surveyed_at=yesterday,
            )
        )  # fmt: skip
    await db.flush()


def _kpi_tickets(body: Any) -> set[str]:
    return {item["id"] for item in body["items"]}


def _kpi_work_orders_in_scope(world: World, role: str, key: str, body: Any) -> list[str]:
    """The drill-down lists the caller's organisation's work orders (an engineer: their own)."""
    seen = _kpi_tickets(body)
    if world.id("ticket", "other_org") in seen:
        return ["tenant B's work order behind a KPI"]
    if role == "engineer" and world.id("ticket", "same_org_other") in seen:
        return ["an engineer drills into a colleague's work order"]
    return [] if world.id("ticket", "own") in seen else ["own work order missing"]


def _kpi_groups_in_scope(world: World, role: str, key: str, body: Any) -> list[str]:
    """KPIs per engineer: the caller's organisation's engineers (an engineer: themselves)."""
    seen = {row["key"] for row in body["rows"]}
    if world.id("engineer", "other_org") in seen:
        return ["tenant B's engineer in the KPIs"]
    if role == "engineer" and world.id("engineer", "same_org_other") in seen:
        return ["an engineer reads a colleague's KPIs"]
    return [] if world.id("engineer", "own") in seen else ["own engineer missing from the KPIs"]


def _kpi_scorecards_in_scope(world: World, role: str, key: str, body: Any) -> list[str]:
    seen = {card["engineer_id"] for card in body["engineers"]}
    if world.id("engineer", "other_org") in seen:
        return ["tenant B's engineer scored"]
    if role == "engineer" and seen != {world.id("engineer", "own")}:
        return ["an engineer reads scorecards other than their own"]
    return [] if world.id("engineer", "own") in seen else ["own scorecard missing"]


def _kpi_faults_in_scope(world: World, role: str, key: str, body: Any) -> list[str]:
    """Tenant A has two repairs of CH-200 (an engineer: their one), never tenant B's."""
    counts = [m["repairs"] for m in body["models"]]
    return [] if counts == [1 if role == "engineer" else 2] else [f"fault counts {counts}"]


def _scores_in_scope(world: World, role: str, key: str, body: Any) -> list[str]:
    """Scores per engineer count the caller's organisation only (an engineer: their own)."""
    seen = {g["group"] for g in body["groups"]}
    if world.id("engineer", "other_org") in seen:
        return ["tenant B's engineer scored"]
    if role == "engineer" and world.id("engineer", "same_org_other") in seen:
        return ["an engineer reads a colleague's scores"]
    return [] if world.id("engineer", "own") in seen else ["own engineer missing from scores"]


MATRIX: tuple[Row, ...] = (
    # --- auth, API keys, users ---------------------------------------------------------
    Row(
        "auth.me",
        "GET",
        "/api/v1/auth/me",
        # An API key is not a user: 404 by design.
        back_office(200, viewer=200, engineer=200, integration=404),
    ),
    Row(
        "api_keys.create",
        "POST",
        "/api/v1/api-keys",
        admin_only(201),
        body=lambda w, k: {"name": "Billing", "scopes": ["tickets:read"]},
    ),
    Row("api_keys.list", "GET", "/api/v1/api-keys", admin_only(200), listed="api_key"),
    Row("api_keys.revoke", "DELETE", "/api/v1/api-keys/{key_id}", admin_only(VISIBLE), "api_key"),
    Row(
        "users.create",
        "POST",
        "/api/v1/users",
        admin_only(201),
        body=lambda w, k: {
            "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
            "full_name": "New Agent",
            "password": "a-long-password",
            "role": "agent",
        },
    ),
    # Dispatchers see their colleagues (the service says so deliberately); nobody else.
    Row("users.list", "GET", "/api/v1/users", admin_only(200, dispatcher=200), listed="user"),
    Row(
        "users.read",
        "GET",
        "/api/v1/users/{user_id}",
        admin_only(VISIBLE, dispatcher=VISIBLE),
        "user",
    ),
    Row(
        "users.update",
        "PATCH",
        "/api/v1/users/{user_id}",
        admin_only(VISIBLE),
        "user",
        body=lambda w, k: {"locale": "zh_CN"},
        if_match=True,
    ),
    # --- the caller's organisation: there is no path to name another one -----------------
    Row(
        "organisation.read",
        "GET",
        "/api/v1/organisation",
        back_office(200, viewer=200, engineer=200),
        check=lambda w, r, k, b: _is_own_org(w, b),
    ),
    Row(
        "organisation.update",
        "PATCH",
        "/api/v1/organisation",
        admin_only(200),
        body=lambda w, k: {"timezone": "Asia/Shanghai"},
        check=lambda w, r, k, b: _is_own_org(w, b),
        if_match=True,
    ),
    # --- work orders -------------------------------------------------------------------
    Row(
        "tickets.create",
        "POST",
        "/api/v1/tickets",
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=DENIED),
        "customer",
        in_path=False,
        body=_ticket_body,
    ),
    Row(
        "tickets.list",
        "GET",
        "/api/v1/tickets",
        back_office(200, viewer=200, engineer=200),
        listed="ticket",
    ),
    Row(
        "tickets.list.filter_by_customer",
        "GET",
        "/api/v1/tickets",
        back_office((200, 200, 200), viewer=(200, 200, 200), engineer=(200, 200, 200)),
        "customer",
        in_path=False,
        query=lambda w, k: {"customer_id": w.id("customer", k)},
        listed="ticket",
        check=_filter_finds_own_only,
    ),
    Row(
        "tickets.read",
        "GET",
        "/api/v1/tickets/{ticket_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "ticket",
    ),
    Row(
        "tickets.update.findings",
        "PATCH",
        "/api/v1/tickets/{ticket_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=OWN_ONLY),
        "ticket",
        body=lambda w, k: {"fault_code": "E31"},
        if_match=True,
    ),
    Row(
        "tickets.update.dispatch_fields",
        "PATCH",
        "/api/v1/tickets/{ticket_id}",
        # Engineers edit findings only; priority belongs to the back office.
        back_office(VISIBLE, viewer=DENIED, engineer=(403, 404, 404)),
        "ticket",
        body=lambda w, k: {"priority": "P1"},
        if_match=True,
    ),
    Row(
        "tickets.transition.assign",
        "POST",
        "/api/v1/tickets/{ticket_id}/transitions",
        # Agents take calls; assigning is for dispatchers, admins and integrations.
        back_office(VISIBLE, viewer=DENIED, engineer=(403, 404, 404), agent=(403, 403, 404)),
        "ticket",
        body=lambda w, k: {"action": "assign", "engineer_id": w.id("engineer", "own")},
    ),
    Row(
        "tickets.transition.assign_engineer_of_other_org",
        "POST",
        "/api/v1/tickets/{ticket_id}/transitions",
        # The object varies in the body: assigning tenant B's engineer is refused.
        back_office((200, 200, 422), viewer=DENIED, engineer=DENIED, agent=DENIED),
        "engineer",
        in_path=False,
        fixed_path=("ticket", "own"),
        body=lambda w, k: {"action": "assign", "engineer_id": w.id("engineer", k)},
    ),
    Row(
        "tickets.transition.accept",
        "POST",
        "/api/v1/tickets/{ticket_id}/transitions",
        # Field steps are the engineer's (a dispatcher may act for them), not the desk's.
        back_office(VISIBLE, viewer=DENIED, engineer=OWN_ONLY, agent=DENIED_IN_ORG),
        "ticket",
        body=lambda w, k: {"action": "accept"},
    ),
    Row(
        "tickets.transition.cancel",
        "POST",
        "/api/v1/tickets/{ticket_id}/transitions",
        # Cancelling belongs to the back office, not to the engineer on the job.
        back_office(VISIBLE, viewer=DENIED, engineer=(403, 404, 404)),
        "ticket",
        body=lambda w, k: {"action": "cancel", "reason": "Customer withdrew"},
    ),
    Row(
        "dispatch.open_for_claim",
        "POST",
        "/api/v1/tickets/{ticket_id}/open-for-claim",
        # Managers only; the world's work orders are assigned, so not new: 409.
        back_office((409, 409, 404), viewer=DENIED, engineer=DENIED, agent=DENIED),
        "ticket",
    ),
    Row(
        "dispatch.close_claim",
        "DELETE",
        "/api/v1/tickets/{ticket_id}/open-for-claim",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "ticket",
    ),
    Row(
        "dispatch.claims",
        "GET",
        "/api/v1/claims",
        # The calling engineer's pool; the back office has none.
        back_office(403, viewer=403, engineer=200),
        check=lambda w, role, key, body: (
            ["tenant B's work order in the pool"]
            if w.id("ticket", "other_org") in {c["ticket_id"] for c in body}
            else []
        ),
    ),
    Row(
        "dispatch.claim",
        "POST",
        "/api/v1/tickets/{ticket_id}/claim",
        # Engineers only; the world's work orders are not open for claim: 409.
        back_office(DENIED, viewer=DENIED, engineer=(409, 409, 404)),
        "ticket",
    ),
    Row(
        "tickets.events",
        "GET",
        "/api/v1/tickets/{ticket_id}/events",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "ticket",
    ),
    # --- customers, sites, assets ------------------------------------------------------
    Row(
        "customers.create",
        "POST",
        "/api/v1/customers",
        back_office(201, viewer=403, engineer=403),
        body=lambda w, k: {"name": "Hualian Supermarket"},
    ),
    Row(
        "customers.list",
        "GET",
        "/api/v1/customers",
        back_office(200, viewer=200, engineer=200),
        listed="customer",
    ),
    Row(
        "customers.read",
        "GET",
        "/api/v1/customers/{customer_id}",
        # Engineers see the customers of work assigned to them, and no others.
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "customer",
    ),
    Row(
        "customers.update",
        "PATCH",
        "/api/v1/customers/{customer_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED),
        "customer",
        body=lambda w, k: {"contact_name": "Wang Wei"},
        if_match=True,
    ),
    Row(
        "sites.create",
        "POST",
        "/api/v1/sites",
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=DENIED),
        "customer",
        in_path=False,
        body=lambda w, k: {"customer_id": w.id("customer", k), "name": "Depot", "address": "1 Rd"},
    ),
    Row(
        "sites.list",
        "GET",
        "/api/v1/sites",
        back_office(200, viewer=200, engineer=200),
        listed="site",
    ),
    Row(
        "sites.list.filter_by_customer",
        "GET",
        "/api/v1/sites",
        back_office((200, 200, 200), viewer=(200, 200, 200), engineer=(200, 200, 200)),
        "customer",
        in_path=False,
        query=lambda w, k: {"customer_id": w.id("customer", k)},
        listed="site",
        check=_filter_finds_own_only,
    ),
    Row(
        "sites.read",
        "GET",
        "/api/v1/sites/{site_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "site",
    ),
    Row(
        "sites.update",
        "PATCH",
        "/api/v1/sites/{site_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED),
        "site",
        body=lambda w, k: {"access_notes": "Ring at gate 2"},
        if_match=True,
    ),
    Row(
        "assets.create",
        "POST",
        "/api/v1/assets",
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=DENIED),
        "site",
        in_path=False,
        body=lambda w, k: {
            "site_id": w.id("site", k),
            "product_model": "CH-200",
            "serial_number": _serial(),
        },
    ),
    Row(
        "assets.list",
        "GET",
        "/api/v1/assets",
        back_office(200, viewer=200, engineer=200),
        listed="asset",
    ),
    Row(
        "assets.list.filter_by_site",
        "GET",
        "/api/v1/assets",
        back_office((200, 200, 200), viewer=(200, 200, 200), engineer=(200, 200, 200)),
        "site",
        in_path=False,
        query=lambda w, k: {"site_id": w.id("site", k)},
        listed="asset",
        check=_filter_finds_own_only,
    ),
    Row(
        "assets.read",
        "GET",
        "/api/v1/assets/{asset_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "asset",
    ),
    Row(
        "assets.update",
        "PATCH",
        "/api/v1/assets/{asset_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED),
        "asset",
        body=lambda w, k: {"name": "Chiller 2"},
        if_match=True,
    ),
    Row(
        "assets.history",
        "GET",
        "/api/v1/assets/{asset_id}/history",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "asset",
        check=lambda w, r, k, b: _history_check(w, r, k, b),
        scopes=("customers:read", "tickets:read"),
    ),
    # --- engineers ---------------------------------------------------------------------
    Row(
        "engineers.create",
        "POST",
        "/api/v1/engineers",
        # It creates a login, so only an admin may (not a dispatcher, not a key).
        admin_only(201),
        body=lambda w, k: {
            "email": f"eng-{uuid.uuid4().hex[:8]}@example.com",
            "password": "a-long-password",
            "display_name": "Li Na",
        },
    ),
    Row(
        "engineers.list",
        "GET",
        "/api/v1/engineers",
        back_office(200, viewer=200, engineer=200),
        listed="engineer",
    ),
    Row(
        "engineers.read",
        "GET",
        "/api/v1/engineers/{engineer_id}",
        # An engineer sees their own profile only.
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "engineer",
    ),
    Row(
        "engineers.update",
        "PATCH",
        "/api/v1/engineers/{engineer_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "engineer",
        body=lambda w, k: {"territory": "Pudong"},
        if_match=True,
    ),
    # --- dispatch (issue 12): availability, service sites, preferred engineers, rules ------
    Row(
        "engineers.time_off.add",
        "POST",
        "/api/v1/engineers/{engineer_id}/time-off",
        back_office(CREATED, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "engineer",
        body=lambda w, k: {
            "kind": "training",
            "starts_at": "2026-12-17T09:00:00+08:00",
            "ends_at": "2026-12-17T12:00:00+08:00",
        },
    ),
    Row(
        "engineers.time_off.list",
        "GET",
        "/api/v1/engineers/{engineer_id}/time-off",
        # Why someone is away (sick leave) is for those who plan their work, and themselves.
        back_office(VISIBLE, viewer=DENIED_IN_ORG, engineer=OWN_ONLY, agent=DENIED_IN_ORG),
        "engineer",
        listed="time_off",
    ),
    _FieldRow(
        "engineers.time_off.remove",
        "DELETE",
        "/api/v1/engineers/{engineer_id}/time-off/{time_off_id}",
        back_office((204, 204, 404), viewer=DENIED, engineer=DENIED, agent=DENIED),
        "time_off",
        families=(("{engineer_id}", "engineer"), ("{time_off_id}", "time_off")),
    ),
    Row(
        "engineers.shifts",
        "GET",
        "/api/v1/engineers/{engineer_id}/shifts",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "engineer",
        query=lambda w, k: {"from": "2026-12-14", "to": "2026-12-20"},
    ),
    Row(
        "service_sites.create",
        "POST",
        "/api/v1/service-sites",
        back_office(201, viewer=403, engineer=403, agent=403),
        body=lambda w, k: {"name": "Minhang", "kind": "depot", "lat": 31.02, "lon": 121.43},
    ),
    Row(
        "service_sites.list",
        "GET",
        "/api/v1/service-sites",
        back_office(200, viewer=200, engineer=200),
        listed="service_site",
    ),
    Row(
        "service_sites.read",
        "GET",
        "/api/v1/service-sites/{site_id}",
        # The organisation's own places: every reader of customers sees them.
        back_office(VISIBLE, viewer=VISIBLE, engineer=VISIBLE),
        "service_site",
    ),
    Row(
        "service_sites.update",
        "PATCH",
        "/api/v1/service-sites/{site_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "service_site",
        body=lambda w, k: {"territory": "Minhang"},
        if_match=True,
    ),
    Row(
        "service_sites.delete",
        "DELETE",
        "/api/v1/service-sites/{site_id}",
        back_office((204, 204, 404), viewer=DENIED, engineer=DENIED, agent=DENIED),
        "service_site",
    ),
    # --- notifications ----------------------------------------------------------------
    Row(
        "notifications.list",
        "GET",
        "/api/v1/notifications",
        back_office(403, viewer=403, engineer=403, admin=200, dispatcher=200),
        listed="notification",
    ),
    Row(
        "notifications.read",
        "GET",
        "/api/v1/notifications/{notification_id}",
        back_office(DENIED, viewer=DENIED, engineer=DENIED, admin=VISIBLE, dispatcher=VISIBLE),
        "notification",
    ),
    Row(
        "notifications.retry",
        "POST",
        "/api/v1/notifications/{notification_id}/retry",
        back_office(DENIED, viewer=DENIED, engineer=DENIED, admin=VISIBLE, dispatcher=VISIBLE),
        "notification",
    ),
    Row(
        "notifications.channels.list",
        "GET",
        "/api/v1/notifications/channels",
        admin_only(200),
        listed="notification_channel",
    ),
    Row(
        "notifications.channels.create",
        "POST",
        "/api/v1/notifications/channels",
        admin_only(201),
        body=lambda w, k: {"kind": "feishu", "url": "https://open.feishu.example/hook/x"},
    ),
    Row(
        "notifications.channels.read",
        "GET",
        "/api/v1/notifications/channels/{channel_id}",
        admin_only(VISIBLE),
        "notification_channel",
    ),
    Row(
        "notifications.channels.update",
        "PATCH",
        "/api/v1/notifications/channels/{channel_id}",
        admin_only(VISIBLE),
        "notification_channel",
        body=lambda w, k: {"enabled": False},
        if_match=True,
    ),
    Row(
        "notifications.channels.delete",
        "DELETE",
        "/api/v1/notifications/channels/{channel_id}",
        admin_only((204, 204, 404)),
        "notification_channel",
    ),
    Row(
        "customers.notification_preferences.read",
        "GET",
        "/api/v1/customers/{customer_id}/notification-preferences",
        back_office(VISIBLE, viewer=VISIBLE, engineer=DENIED),
        "customer",
    ),
    Row(
        "customers.notification_preferences.set",
        "PUT",
        "/api/v1/customers/{customer_id}/notification-preferences",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED),
        "customer",
        body=lambda w, k: {"channels": ["sms"], "lang": "zh_CN"},
        raw=lambda w, k: ({"If-None-Match": "*"}, None),
    ),
    Row(
        "customers.preferred_engineers.read",
        "GET",
        "/api/v1/customers/{customer_id}/preferred-engineers",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "customer",
    ),
    Row(
        "customers.preferred_engineers.set",
        "PUT",
        "/api/v1/customers/{customer_id}/preferred-engineers",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "customer",
        body=lambda w, k: {"engineer_ids": [w.id("engineer", "own")]},
        if_match=True,
    ),
    Row(
        "dispatch.auto_assign.list",
        "GET",
        "/api/v1/dispatch/auto-assign",
        back_office(200, viewer=200, engineer=403),
    ),
    _RuleRow(
        "dispatch.auto_assign.read",
        "GET",
        "/api/v1/dispatch/auto-assign/{priority}",
        back_office(200, viewer=200, engineer=403),
    ),
    _RuleRow(
        "dispatch.auto_assign.set",
        "PUT",
        "/api/v1/dispatch/auto-assign/{priority}",
        back_office(200, viewer=403, engineer=403, agent=403),
        body=lambda w, k: {"enabled": True, "fallback_to_pool": True},
        if_match=True,
    ),
    # --- SLA policies and business calendars: admins change them, the back office reads --
    Row(
        "calendars.list",
        "GET",
        "/api/v1/business-calendars",
        back_office(200, viewer=200, engineer=403, integration=200),
        listed="calendar",
    ),
    Row(
        "calendars.create",
        "POST",
        "/api/v1/business-calendars",
        admin_only(201),
        body=lambda w, k: {
            "name": "Night shift",
            "timezone": "Asia/Shanghai",
            "hours": {"mon": [["20:00", "24:00"]]},
        },
    ),
    Row(
        "calendars.read",
        "GET",
        "/api/v1/business-calendars/{calendar_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=DENIED),
        "calendar",
    ),
    Row(
        "calendars.update",
        "PATCH",
        "/api/v1/business-calendars/{calendar_id}",
        admin_only(VISIBLE),
        "calendar",
        body=lambda w, k: {"name": "Head office"},
        if_match=True,
    ),
    Row(
        "policies.list",
        "GET",
        "/api/v1/sla-policies",
        back_office(200, viewer=200, engineer=403, integration=200),
        listed="policy",
    ),
    Row(
        "policies.create",
        "POST",
        "/api/v1/sla-policies",
        admin_only(CREATED_WITH_REF),
        "customer",
        in_path=False,
        body=lambda w, k: {
            "priority": "P2",
            "response_minutes": 30,
            "resolution_minutes": 240,
            "customer_id": w.id("customer", k),
        },
    ),
    Row(
        "policies.read",
        "GET",
        "/api/v1/sla-policies/{policy_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=DENIED),
        "policy",
    ),
    Row(
        "policies.update",
        "PATCH",
        "/api/v1/sla-policies/{policy_id}",
        admin_only(VISIBLE),
        "policy",
        body=lambda w, k: {"response_minutes": 30},
        if_match=True,
    ),
    Row(
        "policies.delete",
        "DELETE",
        "/api/v1/sla-policies/{policy_id}",
        admin_only((204, 204, 404)),
        "policy",
    ),
    # --- spare parts: the catalogue, stock locations, the ledger ---------------------------
    Row(
        "parts.create",
        "POST",
        "/api/v1/parts",
        back_office(201, viewer=403, engineer=403, agent=403),
        body=lambda w, k: {"sku": f"CMP-{uuid.uuid4().hex[:8]}", "name": "Compressor relay"},
    ),
    Row(
        "parts.list",
        "GET",
        "/api/v1/parts",
        # Every engineer reads the whole catalogue of their organisation.
        back_office(200, viewer=200, engineer=200),
        listed="part",
    ),
    Row(
        "parts.read",
        "GET",
        "/api/v1/parts/{part_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=VISIBLE),
        "part",
    ),
    Row(
        "parts.update",
        "PATCH",
        "/api/v1/parts/{part_id}",
        # Engineers hold parts:write for field movements only: refused before any lookup.
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "part",
        body=lambda w, k: {"price": "42.00"},
        if_match=True,
    ),
    Row(
        "stock_locations.create",
        "POST",
        "/api/v1/stock-locations",
        back_office(201, viewer=403, engineer=403, agent=403),
        body=lambda w, k: {"kind": "warehouse", "name": "Pudong depot"},
    ),
    Row(
        "stock_locations.list",
        "GET",
        "/api/v1/stock-locations",
        back_office(200, viewer=200, engineer=200),
        listed="location",
        check=_own_van_only,
    ),
    Row(
        "stock_locations.read.van",
        "GET",
        "/api/v1/stock-locations/{location_id}",
        # An engineer sees their own van only.
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "location",
    ),
    Row(
        "stock_locations.read.warehouse",
        "GET",
        "/api/v1/stock-locations/{location_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=(404, 404, 404)),
        "warehouse",
    ),
    Row(
        "stock_locations.update",
        "PATCH",
        "/api/v1/stock-locations/{location_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "warehouse",
        body=lambda w, k: {"name": "Minhang depot"},
        if_match=True,
    ),
    Row(
        "stock_locations.balances",
        "GET",
        "/api/v1/stock-locations/{location_id}/balances",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "location",
        check=_balances_of,
    ),
    Row(
        "stock_locations.balances.warehouse",
        "GET",
        "/api/v1/stock-locations/{location_id}/balances",
        back_office(VISIBLE, viewer=VISIBLE, engineer=(404, 404, 404)),
        "warehouse",
    ),
    Row(
        "stock_movements.receive_into_location",
        "POST",
        "/api/v1/stock-movements",
        # Only consume and return are the engineer's; a foreign location in the body is 422.
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "warehouse",
        in_path=False,
        body=_movement("receive", to_location_id=("warehouse", "{key}")),
    ),
    Row(
        "stock_movements.receive_part",
        "POST",
        "/api/v1/stock-movements",
        # Tenant B's part is not found.
        back_office((201, 201, 404), viewer=DENIED, engineer=DENIED, agent=DENIED),
        "part",
        in_path=False,
        body=_movement("receive", part="{key}", to_location_id=("warehouse", "own")),
    ),
    Row(
        "stock_movements.consume_from_van",
        "POST",
        "/api/v1/stock-movements",
        # Another engineer's van is invisible to an engineer: 404, as if it did not exist.
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=(201, 404, 404), agent=DENIED),
        "location",
        in_path=False,
        body=_movement(
            "consume", from_location_id=("location", "{key}"), ticket_id=("ticket", "own")
        ),
    ),
    Row(
        "stock_movements.consume_for_ticket",
        "POST",
        "/api/v1/stock-movements",
        # Consuming for a work order not assigned to the engineer is refused (422).
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=(201, 422, 422), agent=DENIED),
        "ticket",
        in_path=False,
        body=_movement(
            "consume", from_location_id=("location", "own"), ticket_id=("ticket", "{key}")
        ),
    ),
    Row(
        "stock_movements.return_into_van",
        "POST",
        "/api/v1/stock-movements",
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=(201, 404, 404), agent=DENIED),
        "location",
        in_path=False,
        body=lambda w, k: {
            **_movement(
                "return", to_location_id=("location", "{key}"), ticket_id=("ticket", "own")
            )(w, k),
            "condition": "defective",
        },
    ),
    Row(
        "stock_movements.transfer_out_of_van",
        "POST",
        "/api/v1/stock-movements",
        # Moving stock between locations is the back office's, even out of one's own van.
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "location",
        in_path=False,
        body=_movement(
            "transfer",
            from_location_id=("location", "{key}"),
            to_location_id=("warehouse", "own"),
        ),
    ),
    Row(
        "stock_movements.list",
        "GET",
        "/api/v1/stock-movements",
        back_office(200, viewer=200, engineer=200),
        listed="movement",
    ),
    Row(
        "stock_movements.list.filter_by_location",
        "GET",
        "/api/v1/stock-movements",
        back_office((200, 200, 200), viewer=(200, 200, 200), engineer=(200, 200, 200)),
        "location",
        in_path=False,
        query=lambda w, k: {"location_id": w.id("location", k)},
        listed="movement",
        check=_filter_finds_own_only,
    ),
    Row(
        "stock_movements.verify",
        "GET",
        "/api/v1/stock-movements/verify",
        back_office(200, viewer=403, engineer=403, agent=403),
        check=lambda w, r, k, b: _ledger_ok(w, r, k, b),
    ),
    # --- the catalogue as CSV ------------------------------------------------------------
    Row(
        "parts.import",
        "POST",
        "/api/v1/parts/import",
        # Engineers hold parts:write for field movements only.
        back_office(200, viewer=403, engineer=403, agent=403),
        # RLY-0 is the caller's part; RLY-2 is tenant B's, so for A it is a new SKU.
        csv=lambda w, k: "sku,name\nRLY-0,Relay renamed\nRLY-2,Relay two\n",
        query=lambda w, k: {"dry_run": "false"},
        check=lambda w, r, k, b: _imported_into_own_org(b),
    ),
    Row(
        "parts.export",
        "GET",
        "/api/v1/parts/export",
        back_office(200, viewer=200, engineer=200),
        check=lambda w, r, k, b: _exports_own_catalogue(b),
    ),
    # --- stock reports (engineers: their own van's stock only) ---------------------------
    Row(
        "stock_reports.on_hand",
        "GET",
        "/api/v1/stock-reports/on-hand",
        back_office(200, viewer=200, engineer=200),
        check=_on_hand_scope,
    ),
    Row(
        "stock_reports.on_hand.location",
        "GET",
        "/api/v1/stock-reports/on-hand",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "location",
        in_path=False,
        query=lambda w, k: {"location_id": w.id("location", k)},
        check=_on_hand_scope,
    ),
    Row(
        "stock_reports.consumption",
        "GET",
        "/api/v1/stock-reports/consumption",
        back_office(200, viewer=200, engineer=403),
        query=_report_range,
    ),
    Row(
        "stock_reports.consumption.by_model",
        "GET",
        "/api/v1/stock-reports/consumption",
        back_office(200, viewer=200, engineer=403),
        query=lambda w, k: {**_report_range(w, k), "group_by": "product_model"},
        scopes=("parts:read", "customers:read"),
    ),
    Row(
        "stock_reports.consumption.by_engineer",
        "GET",
        "/api/v1/stock-reports/consumption",
        back_office(200, viewer=200, engineer=403),
        query=lambda w, k: {**_report_range(w, k), "group_by": "engineer"},
        scopes=("parts:read", "engineers:read"),
    ),
    Row(
        "stock_reports.work_order_cost",
        "GET",
        "/api/v1/stock-reports/work-order-cost",
        # Refused to engineers before any lookup: the same 403 whatever work order is named.
        back_office(VISIBLE, viewer=VISIBLE, engineer=DENIED),
        "ticket",
        in_path=False,
        query=lambda w, k: {"ticket_id": w.id("ticket", k)},
        scopes=("parts:read", "tickets:read"),
    ),
    Row(
        "stock_reports.turnover",
        "GET",
        "/api/v1/stock-reports/turnover",
        back_office(200, viewer=200, engineer=403),
        query=_report_range,
    ),
    # --- serial-numbered units, pick lists, returns (RMA), replenishment -------------------
    Row(
        "stock_units.list",
        "GET",
        "/api/v1/stock-units",
        # Engineers: the units in their own van.
        back_office(200, viewer=200, engineer=200),
        listed="stock_unit",
        check=_engineer_sees_own("stock_unit"),
    ),
    Row(
        "stock_units.read",
        "GET",
        "/api/v1/stock-units/{unit_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "stock_unit",
    ),
    Row(
        "pick_lists.read",
        "GET",
        "/api/v1/pick-lists",
        # Engineers ask for themselves only; another engineer is invisible.
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "engineer",
        in_path=False,
        query=lambda w, k: {"engineer_id": w.id("engineer", k), "date": "2030-05-06"},
        scopes=("parts:read", "tickets:read"),
    ),
    Row(
        "part_returns.create",
        "POST",
        "/api/v1/part-returns",
        # Returns are opened by the back office; a foreign work order in the body is 422.
        back_office(CREATED_WITH_REF, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "ticket",
        in_path=False,
        body=lambda w, k: {"part_id": w.id("part", "own"), "ticket_id": w.id("ticket", k)},
    ),
    Row(
        "part_returns.list",
        "GET",
        "/api/v1/part-returns",
        # Engineers: the returns of work orders assigned to them.
        back_office(200, viewer=200, engineer=200),
        listed="part_return",
        check=_engineer_sees_own("part_return"),
    ),
    Row(
        "part_returns.read",
        "GET",
        "/api/v1/part-returns/{return_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "part_return",
    ),
    Row(
        "part_returns.transition",
        "POST",
        "/api/v1/part-returns/{return_id}/transitions",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "part_return",
        body=lambda w, k: {"status": "received"},
    ),
    _LevelRow(
        "stock_levels.read",
        "GET",
        "/api/v1/stock-locations/{location_id}/levels/{part_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "location",
    ),
    _LevelRow(
        "stock_levels.set",
        "PUT",
        "/api/v1/stock-locations/{location_id}/levels/{part_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "location",
        body=lambda w, k: {"minimum": "1", "target": "4"},
        raw=lambda w, k: ({"If-Match": '"v1"'}, None),  # each van's level (_build_levels)
    ),
    Row(
        "stock_locations.suggested_top_up",
        "GET",
        "/api/v1/stock-locations/{location_id}/suggested-top-up",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "location",
    ),
    # --- field work (issue 4, server/field): visits, labour, checklists, notes, parts -----
    Row(
        "field.check_in",
        "POST",
        "/api/v1/tickets/{ticket_id}/visits",
        # Field records are written by the engineer (or the back office for them); the
        # service desk only adds notes. Refused roles get 403 before any lookup.
        back_office(CREATED, viewer=DENIED, engineer=CREATED_OWN, agent=DENIED),
        "travel_ticket",
        body=lambda w, k: {"visit_id": _new_id(), "device_time": _NOW},
    ),
    Row(
        "field.visits",
        "GET",
        "/api/v1/tickets/{ticket_id}/visits",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "field_ticket",
    ),
    _FieldRow(
        "field.visit",
        "GET",
        "/api/v1/tickets/{ticket_id}/visits/{visit_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "visit",
        families=_ON_VISIT,
    ),
    _FieldRow(
        "field.check_out",
        "POST",
        "/api/v1/tickets/{ticket_id}/visits/{visit_id}/check-out",
        back_office(VISIBLE, viewer=DENIED, engineer=OWN_ONLY, agent=DENIED),
        "visit",
        families=_ON_VISIT,
        body=lambda w, k: {"device_time": _NOW},
    ),
    Row(
        "field.labour.add",
        "POST",
        "/api/v1/tickets/{ticket_id}/labour",
        back_office(CREATED, viewer=DENIED, engineer=CREATED_OWN, agent=DENIED),
        "field_ticket",
        body=lambda w, k: {
            "entry_id": _new_id(),
            "kind": "travel",
            "started_at": "2026-11-24T08:00:00+08:00",
            "ended_at": "2026-11-24T08:40:00+08:00",
        },
    ),
    Row(
        "field.labour.sheet",
        "GET",
        "/api/v1/tickets/{ticket_id}/labour",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "field_ticket",
    ),
    _FieldRow(
        "field.labour.void",
        "POST",
        "/api/v1/tickets/{ticket_id}/labour/{entry_id}/void",
        back_office(CREATED, viewer=DENIED, engineer=CREATED_OWN, agent=DENIED),
        "labour_entry",
        families=_ON_ENTRY,
        body=lambda w, k: {"void_id": _new_id(), "reason": "Logged twice"},
    ),
    _FieldRow(
        "field.labour.adjust",
        "POST",
        "/api/v1/tickets/{ticket_id}/labour/{entry_id}/adjust",
        back_office(CREATED, viewer=DENIED, engineer=CREATED_OWN, agent=DENIED),
        "labour_entry",
        families=_ON_ENTRY,
        body=lambda w, k: {
            "adjustment_id": _new_id(),
            "started_at": "2026-11-24T09:00:00+08:00",
            "ended_at": "2026-11-24T09:45:00+08:00",
            "reason": "Left earlier",
        },
    ),
    Row(
        "field.labour.approve",
        "POST",
        "/api/v1/labour/approvals",
        # Approval names a person: admins and dispatchers only, not integration keys.
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED, integration=DENIED),
        "labour_entry",
        in_path=False,
        body=lambda w, k: {"entry_ids": [w.id("labour_entry", k)]},
    ),
    Row(
        "field.labour.day_totals",
        "GET",
        "/api/v1/engineers/{engineer_id}/labour-totals",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "engineer",
        query=lambda w, k: {"date": "2026-11-24"},
        scopes=("tickets:read", "engineers:read"),
    ),
    Row(
        "field.checklist",
        "GET",
        "/api/v1/tickets/{ticket_id}/checklist",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "field_ticket",
    ),
    Row(
        "field.checklist.answers",
        "GET",
        "/api/v1/tickets/{ticket_id}/checklist/answers",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "field_ticket",
    ),
    Row(
        "field.checklist.answer",
        "POST",
        "/api/v1/tickets/{ticket_id}/checklist/answers",
        back_office(CREATED, viewer=DENIED, engineer=CREATED_OWN, agent=DENIED),
        "field_ticket",
        body=lambda w, k: {
            "answer_id": _new_id(),
            "visit_id": w.id("visit", k),
            "item_id": _own_item(w),
            "value": True,
        },
    ),
    Row(
        "checklist_templates.create",
        "POST",
        "/api/v1/checklist-templates",
        back_office(201, viewer=403, engineer=403, agent=403),
        body=lambda w, k: {"name": "Leak test", "items": [{"kind": "text", "label": "Result"}]},
    ),
    Row(
        "checklist_templates.list",
        "GET",
        "/api/v1/checklist-templates",
        back_office(200, viewer=200, engineer=200),
        listed="checklist_template",
    ),
    Row(
        "checklist_templates.read",
        "GET",
        "/api/v1/checklist-templates/{template_id}",
        # Every template of the organisation: the phone needs them before it knows the job.
        back_office(VISIBLE, viewer=VISIBLE, engineer=VISIBLE),
        "checklist_template",
    ),
    Row(
        "checklist_templates.update",
        "PATCH",
        "/api/v1/checklist-templates/{template_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "checklist_template",
        body=lambda w, k: {"name": "Safety first"},
        if_match=True,
    ),
    Row(
        "field.notes.add",
        "POST",
        "/api/v1/tickets/{ticket_id}/notes",
        # The service desk adds notes too (calls with the customer).
        back_office(CREATED, viewer=DENIED, engineer=CREATED_OWN),
        "field_ticket",
        body=lambda w, k: {"note_id": _new_id(), "text": "Gate code 4411"},
    ),
    Row(
        "field.notes",
        "GET",
        "/api/v1/tickets/{ticket_id}/notes",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "field_ticket",
    ),
    Row(
        "field.parts_used.report",
        "POST",
        "/api/v1/tickets/{ticket_id}/parts-used",
        # From the engineer's van (the back office: from the work order's engineer's van).
        back_office(CREATED, viewer=DENIED, engineer=CREATED_OWN, agent=DENIED),
        "field_ticket",
        body=lambda w, k: {
            "line_id": _new_id(),
            "action": "use",
            "part_id": w.id("part", "own"),
            "quantity": "1",
        },
        scopes=("tickets:write", "parts:write"),
    ),
    Row(
        "field.parts_used",
        "GET",
        "/api/v1/tickets/{ticket_id}/parts-used",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "field_ticket",
        scopes=("tickets:read", "parts:read"),
    ),
    Row(
        "field.resolution",
        "POST",
        "/api/v1/tickets/{ticket_id}/resolution",
        back_office(VISIBLE, viewer=DENIED, engineer=OWN_ONLY, agent=DENIED),
        "field_ticket",
        body=lambda w, k: {"resolution_code": "FIXED", "summary": "Replaced the relay"},
    ),
    Row(
        "field.summary",
        "GET",
        "/api/v1/tickets/{ticket_id}/field-summary",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "field_ticket",
        scopes=("tickets:read", "parts:read"),
    ),
    # --- attachments (issue 4, server/attachments): uploads, photos, signatures -----------
    Row(
        "uploads.options",
        "OPTIONS",
        "/api/v1/uploads",
        back_office(204, viewer=204, engineer=204),
    ),
    Row(
        "uploads.create",
        "POST",
        "/api/v1/uploads",
        back_office(201, viewer=403, engineer=201),
        raw=_tus_create,
    ),
    Row("uploads.read", "GET", "/api/v1/uploads/{upload_id}", _uploader_only(OWN_ONLY), "upload"),
    Row(
        "uploads.patch",
        "PATCH",
        "/api/v1/uploads/{upload_id}",
        _uploader_only((204, 404, 404)),
        "upload",
        raw=_tus_patch,
    ),
    Row(
        "attachments.register",
        "POST",
        "/api/v1/tickets/{ticket_id}/attachments",
        back_office((201, 201, 404), viewer=DENIED, engineer=(201, 404, 404)),
        "ticket",
        body=_attachment_body,
    ),
    Row(
        "attachments.list",
        "GET",
        "/api/v1/tickets/{ticket_id}/attachments",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "ticket",
        listed="attachment",
    ),
    Row(
        "attachments.read",
        "GET",
        "/api/v1/attachments/{attachment_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "attachment",
    ),
    Row(
        "attachments.original",
        "GET",
        "/api/v1/attachments/{attachment_id}/content",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "attachment",
    ),
    Row(
        "attachments.thumbnail",
        "GET",
        "/api/v1/attachments/{attachment_id}/thumbnail",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "attachment",
    ),
    Row(
        "attachments.customer_copy",
        "GET",
        "/api/v1/attachments/{attachment_id}/customer-copy",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "attachment",
    ),
    Row(
        "signatures.capture",
        "POST",
        "/api/v1/tickets/{ticket_id}/signatures",
        # Signatures are taken on site: not by the service desk.
        back_office((201, 201, 404), viewer=DENIED, engineer=(201, 404, 404), agent=DENIED),
        "ticket",
        body=_signature_body,
    ),
    Row(
        "signatures.list",
        "GET",
        "/api/v1/tickets/{ticket_id}/signatures",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "ticket",
    ),
    # --- service report (issue 4, server/service_report): the customer's PDF -------------
    Row(
        "tickets.report_pdf",
        "GET",
        "/api/v1/tickets/{ticket_id}/report.pdf",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "ticket",
        check=_is_pdf,
        scopes=("tickets:read", "customers:read", "parts:read", "engineers:read"),
    ),
    # --- customer pages (issue 13, server/portal): status links, QR labels -----------------
    Row(
        "portal.status_link",
        "POST",
        "/api/v1/tickets/{ticket_id}/status-link",
        back_office(VISIBLE, viewer=DENIED, engineer=OWN_ONLY),
        "ticket",
    ),
    Row(
        "portal.list_links",
        "GET",
        "/api/v1/tickets/{ticket_id}/links",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "ticket",
        listed="status_link",
    ),
    Row(
        "portal.revoke_link",
        "DELETE",
        "/api/v1/links/{link_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=OWN_ONLY),
        "status_link",
    ),
    Row(
        "portal.label_png",
        "GET",
        "/api/v1/assets/{asset_id}/label.png",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "asset",
        check=_is_png,
    ),
    Row(
        "portal.labels_pdf",
        "POST",
        "/api/v1/assets/labels.pdf",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "asset",
        in_path=False,
        body=lambda w, k: {"asset_ids": [w.id("asset", k)]},
        check=_is_pdf,
    ),
    Row(
        "portal.reissue_label",
        "POST",
        "/api/v1/assets/{asset_id}/label/reissue",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED),
        "asset",
    ),
    # --- sync (issue 4, server/sync): phone installations, push, pull, field conflicts ----
    # Only engineers sync; an installation answers its own engineer only (another's: 404).
    Row(
        "sync.register_client",
        "POST",
        "/api/v1/sync/clients",
        back_office(403, viewer=403, engineer=201),
        body=lambda w, k: {"client_id": str(uuid.uuid4()), "device": "matrix"},
    ),
    Row(
        "sync.push",
        "POST",
        "/api/v1/sync/push",
        back_office(DENIED, viewer=DENIED, engineer=OWN_ONLY),
        "sync_client",
        in_path=False,
        body=_sync_push_body,
        scopes=("tickets:write", "parts:write"),
    ),
    Row(
        "sync.pull",
        "GET",
        "/api/v1/sync/pull",
        back_office(DENIED, viewer=DENIED, engineer=OWN_ONLY),
        "sync_client",
        in_path=False,
        query=lambda w, k: {"client_id": w.id("sync_client", k)},
        scopes=("tickets:read", "customers:read", "parts:read"),
    ),
    Row(
        "sync.flags.list",
        "GET",
        "/api/v1/sync/flags",
        back_office(200, viewer=403, engineer=403, agent=403),
        listed="sync_flag",
    ),
    Row(
        "sync.flags.close",
        "POST",
        "/api/v1/sync/flags/{flag_id}/close",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "sync_flag",
        body=lambda w, k: {"outcome": "dismissed", "note": "duplicate"},
    ),
    # Rejected mutations (the back office's review of what the phones sent): dispatchers,
    # admins and keys with tickets:read; the list keeps to the caller's organisation.
    Row(
        "sync.rejected.list",
        "GET",
        "/api/v1/sync/rejected",
        back_office(200, viewer=403, engineer=403, agent=403),
        listed="sync_rejected",
    ),
    # --- dispatch: day plans and the board (admins, dispatchers, keys; docs/dispatch.md) --
    Row(
        "dispatch.plans.create",
        "POST",
        "/api/v1/dispatch/plans",
        back_office(201, viewer=403, engineer=403, agent=403),
        body=lambda w, k: {"date": _tomorrow(), "seconds": 1},
    ),
    Row(
        "dispatch.plans.list",
        "GET",
        "/api/v1/dispatch/plans",
        back_office(200, viewer=403, engineer=403, agent=403),
        listed="day_plan",
        scopes=("tickets:read", "engineers:read"),
    ),
    Row(
        "dispatch.plans.read",
        "GET",
        "/api/v1/dispatch/plans/{plan_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "day_plan",
        scopes=("tickets:read", "engineers:read"),
    ),
    Row(
        "dispatch.plans.compare",
        "GET",
        "/api/v1/dispatch/plans/{plan_id}/compare",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "day_plan",
        scopes=("tickets:read", "engineers:read"),
    ),
    Row(
        "dispatch.plans.apply",
        "POST",
        "/api/v1/dispatch/plans/{plan_id}/apply",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "day_plan",
        if_match=True,
        scopes=("tickets:write", "engineers:read"),
    ),
    Row(
        "dispatch.candidates",
        "GET",
        "/api/v1/tickets/{ticket_id}/candidates",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED),
        "ticket",
        scopes=("tickets:read", "engineers:read"),
    ),
    Row(
        "dispatch.auto_assign",
        "POST",
        "/api/v1/tickets/{ticket_id}/auto-assign",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "ticket",
        scopes=("tickets:write", "engineers:read"),
    ),
    # --- escalation and follow-up tasks (server/escalation) ---------------------------
    Row(
        "escalation.policies.list",
        "GET",
        "/api/v1/escalation/policies",
        back_office(200, viewer=200, engineer=403),
    ),
    _RuleRow(
        "escalation.policies.read",
        "GET",
        "/api/v1/escalation/policies/{priority}",
        back_office(200, viewer=200, engineer=403),
    ),
    _RuleRow(
        "escalation.policies.set",
        "PUT",
        "/api/v1/escalation/policies/{priority}",
        admin_only(200),
        body=lambda w, k: {
            "steps": [
                {"trigger": "breached", "action": "reassign", "owner": "agent", "due_minutes": 9}
            ]
        },
        if_match=True,
    ),
    _RuleRow(
        "escalation.policies.delete",
        "DELETE",
        "/api/v1/escalation/policies/{priority}",
        admin_only(204),
        if_match=True,
    ),
    Row(
        "escalation.mine",
        "GET",
        "/api/v1/escalation/mine",
        back_office(200, viewer=200, engineer=200),
    ),
    Row(
        "escalation.read",
        "GET",
        "/api/v1/tickets/{ticket_id}/escalation",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "ticket",
    ),
    Row(
        "escalation.acknowledge",
        "POST",
        "/api/v1/tickets/{ticket_id}/escalation/acknowledge",
        back_office(
            VISIBLE,
            viewer=DENIED,
            engineer=(403, 404, 404),
            dispatcher=DENIED_IN_ORG,
            integration=DENIED_IN_ORG,
        ),
        "ticket",
    ),
    Row(
        "followups.list",
        "GET",
        "/api/v1/followups",
        back_office(200, viewer=200, engineer=200),
        listed="followup",
        check=_engineer_sees_own("followup"),
    ),
    Row(
        "followups.read",
        "GET",
        "/api/v1/followups/{task_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "followup",
    ),
    Row(
        "followups.complete",
        "POST",
        "/api/v1/followups/{task_id}/complete",
        back_office(VISIBLE, viewer=DENIED, engineer=OWN_ONLY),
        "followup",
        body=lambda w, k: {"outcome": "Called back: fixed"},
    ),
    Row(
        "dispatch.board",
        "GET",
        "/api/v1/dispatch/board",
        back_office(200, viewer=403, engineer=403, agent=403),
        query=lambda w, k: {"date": _tomorrow()},
        scopes=("tickets:read", "engineers:read", "customers:read"),
        check=lambda w, r, k, b: _board_own_engineers(w, b),
    ),
    # --- surveys (issue 13) ----------------------------------------------------------------
    Row(
        "surveys.templates.create",
        "POST",
        "/api/v1/surveys/templates",
        back_office(201, viewer=403, engineer=403, agent=403, dispatcher=403),
        body=lambda w, k: {"name": "Matrix survey", "questions": ["csat"]},
    ),
    Row(
        "surveys.templates.list",
        "GET",
        "/api/v1/surveys/templates",
        back_office(200, viewer=403, engineer=403, agent=403),
        listed="survey_template",
    ),
    Row(
        "surveys.templates.read",
        "GET",
        "/api/v1/surveys/templates/{template_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED),
        "survey_template",
    ),
    Row(
        "surveys.templates.update",
        "PATCH",
        "/api/v1/surveys/templates/{template_id}",
        back_office(VISIBLE, viewer=DENIED, engineer=DENIED, agent=DENIED, dispatcher=DENIED),
        "survey_template",
        body=lambda w, k: {"delay_minutes": 30},
        if_match=True,
    ),
    Row(
        "surveys.responses",
        "GET",
        "/api/v1/surveys/responses",
        back_office(200, viewer=200, engineer=200),
        listed="survey_response",
        check=_engineer_sees_own("survey_response"),
    ),
    Row(
        "surveys.responses.by_engineer",
        "GET",
        "/api/v1/surveys/responses",
        back_office((200, 200, 200), viewer=(200, 200, 200), engineer=(200, 200, 200)),
        "engineer",
        in_path=False,
        query=lambda w, k: {"engineer_id": w.id("engineer", k)},
        check=_filter_finds_own_only,
    ),
    Row(
        "surveys.scores",
        "GET",
        "/api/v1/surveys/scores",
        back_office(200, viewer=200, engineer=200),
        query=lambda w, k: {"group_by": "engineer"},
        check=_scores_in_scope,
    ),
    Row(
        "surveys.ticket",
        "GET",
        "/api/v1/tickets/{ticket_id}/survey",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "ticket",
        scopes=("tickets:read", "surveys:read"),
    ),
    # --- KPIs (issue 14) -----------------------------------------------------------------
    Row("kpis.metrics", "GET", "/api/v1/kpis/metrics", back_office(200, viewer=200, engineer=200)),
    Row(
        "kpis.read",
        "GET",
        "/api/v1/kpis",
        back_office(200, viewer=200, engineer=200),
        query=lambda w, k: {"group_by": "engineer", "period": "none"},
        check=_kpi_groups_in_scope,
    ),
    Row(
        "kpis.headlines",
        "GET",
        "/api/v1/kpis/headlines",
        back_office(200, viewer=200, engineer=200),
    ),
    Row(
        "kpis.work_orders",
        "GET",
        "/api/v1/kpis/work-orders",
        back_office(200, viewer=200, engineer=200),
        query=lambda w, k: {"metric": "resolved"},
        scopes=("kpis:read", "tickets:read"),
        check=_kpi_work_orders_in_scope,
    ),
    Row(
        "kpis.scorecards",
        "GET",
        "/api/v1/kpis/scorecards",
        back_office(200, viewer=200, engineer=200),
        scopes=("kpis:read", "engineers:read"),
        check=_kpi_scorecards_in_scope,
    ),
    Row(
        "kpis.scorecard",
        "GET",
        "/api/v1/kpis/scorecards/{engineer_id}",
        back_office(VISIBLE, viewer=VISIBLE, engineer=OWN_ONLY),
        "engineer",
        scopes=("kpis:read", "engineers:read"),
    ),
    Row("kpis.backlog", "GET", "/api/v1/kpis/backlog", back_office(200, viewer=200, engineer=200)),
    Row(
        "kpis.faults",
        "GET",
        "/api/v1/kpis/faults",
        back_office(200, viewer=200, engineer=200),
        check=_kpi_faults_in_scope,
    ),
    Row(
        "kpis.parts",
        "GET",
        "/api/v1/kpis/parts",
        back_office(200, viewer=200, engineer=200),
        scopes=("kpis:read", "parts:read"),
    ),
    # --- webhooks: an organisation's admins only ------------------------------------------
    Row(
        "webhooks.event_types",
        "GET",
        "/api/v1/webhooks/event-types",
        back_office(200, viewer=200, engineer=200),
    ),
    Row(
        "webhooks.create",
        "POST",
        "/api/v1/webhooks/endpoints",
        admin_only(201),
        body=lambda w, k: {"url": "https://93.184.216.34/in", "event_types": ["ticket.*"]},
    ),
    Row(
        "webhooks.list",
        "GET",
        "/api/v1/webhooks/endpoints",
        admin_only(200),
        listed="webhook",
    ),
    Row(
        "webhooks.read",
        "GET",
        "/api/v1/webhooks/endpoints/{endpoint_id}",
        admin_only(VISIBLE),
        "webhook",
    ),
    Row(
        "webhooks.update",
        "PATCH",
        "/api/v1/webhooks/endpoints/{endpoint_id}",
        admin_only(VISIBLE),
        "webhook",
        body=lambda w, k: {"description": "ERP"},
        if_match=True,
    ),
    Row(
        "webhooks.delete",
        "DELETE",
        "/api/v1/webhooks/endpoints/{endpoint_id}",
        admin_only((204, 204, 404)),
        "webhook",
    ),
    Row(
        "webhooks.rotate_secret",
        "POST",
        "/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret",
        admin_only(VISIBLE),
        "webhook",
    ),
    Row(
        "webhooks.enable",
        "POST",
        "/api/v1/webhooks/endpoints/{endpoint_id}/enable",
        admin_only(VISIBLE),
        "webhook",
    ),
    Row(
        "webhooks.deliveries",
        "GET",
        "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries",
        admin_only(VISIBLE),
        "webhook",
        listed="webhook_delivery",
    ),
    Row(
        "webhooks.delivery",
        "GET",
        "/api/v1/webhooks/deliveries/{delivery_id}",
        admin_only(VISIBLE),
        "webhook_delivery",
    ),
    Row(
        "webhooks.replay",
        "POST",
        "/api/v1/webhooks/deliveries/{delivery_id}/replay",
        admin_only((202, 202, 404)),
        "webhook_delivery",
    ),
)


# --- running a row -------------------------------------------------------------------------


@dataclass
class Cell:
    role: str
    key: str | None
    status: int
    code: str | None
    body: Any


async def _send(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    row: Row,
    world: World,
    role: str,
    key: str | None,
) -> Cell:
    """One request, inside a savepoint rolled back afterwards: cells never see each
    other's writes (a revoked key, a cancelled work order)."""
    obj = key or "own"
    headers = dict(world.headers[role])
    if row.if_match and row.family is not None:
        headers["If-Match"] = f'"v{world.versions[row.family][obj]}"'
    elif row.if_match:
        headers["If-Match"] = '"v1"'  # the one object such a row edits is new (the organisation)
    if row.csv is not None:
        headers["Content-Type"] = "text/csv"
    raw_headers, raw_body = row.raw(world, obj) if row.raw else ({}, None)
    headers.update(raw_headers)
    savepoint = await connection.begin_nested()
    try:
        response = await client.request(
            row.method,
            row.url(world, obj),
            headers=headers,
            json=row.body(world, obj) if row.body else None,
            content=row.csv(world, obj).encode() if row.csv else raw_body,
            params=row.query(world, obj) if row.query else None,
        )
    finally:
        await savepoint.rollback()
    is_json = "json" in response.headers.get("content-type", "")
    body = (response.json() if is_json else response.text) if response.content else None
    code = body.get("code") if isinstance(body, dict) and response.status_code >= 400 else None
    return Cell(role, key, response.status_code, code, body)


def _expected(row: Row, role: str, key: str | None) -> int:
    cell = row.expect[role]
    if key is None:
        assert isinstance(cell, int), f"{row.name}/{role}: give one status, not per object"
        return cell
    assert isinstance(cell, tuple), f"{row.name}/{role}: give (own, same_org_other, other_org)"
    return cell[OBJECTS.index(key)]


def _list_problems(row: Row, world: World, cell: Cell) -> list[str]:
    """Foreign objects never appear in a list; an engineer's lists hold only their work."""
    assert row.listed is not None
    items = cell.body["items"] if isinstance(cell.body, dict) else cell.body
    seen = {str(item["id"]) for item in items}
    ids = world.all_ids(row.listed)
    problems = []
    if ids["other_org"] in seen:
        problems.append(f"{row.listed} of tenant B listed")
    engineer_scoped = row.listed in (
        "ticket",
        "customer",
        "site",
        "asset",
        "engineer",
        "location",
        "movement",
    )
    if cell.role == "engineer" and engineer_scoped and ids["same_org_other"] in seen:
        problems.append(f"engineer sees a {row.listed} outside their work")
    expected_own = cell.key in (None, "own")
    if row.query is None and expected_own and ids["own"] not in seen:
        problems.append(f"own {row.listed} missing from the list")
    return problems


async def _run_row(
    client: httpx.AsyncClient, connection: AsyncConnection, world: World, row: Row
) -> list[str]:
    problems: list[str] = []
    keys: tuple[str | None, ...] = (*OBJECTS, "missing") if row.family else (None,)
    for role in ROLES:
        cells = {k: await _send(client, connection, row, world, role, k) for k in keys}
        for key, cell in cells.items():
            where = f"{row.name} as {role}" + (f" on {key}" if key else "")
            if key == "missing":
                continue
            want = _expected(row, role, key)
            if cell.status != want:
                detail = cell.body if cell.status >= 400 else ""
                problems.append(f"{where}: expected {want}, got {cell.status} {detail}")
                continue
            if 200 <= cell.status < 300 and row.listed:
                problems += [f"{where}: {p}" for p in _list_problems(row, world, cell)]
            if 200 <= cell.status < 300 and row.check:
                problems += [
                    f"{where}: {p}" for p in row.check(world, role, key or "own", cell.body)
                ]
        if row.family:
            # A foreign id is indistinguishable from one that does not exist.
            missing = cells["missing"]
            for key in ("other_org", "same_org_other"):
                cell = cells[key]
                hidden = _expected(row, role, key) == _expected(row, role, "other_org")
                if hidden and (cell.status, cell.code) != (
                    missing.status,
                    missing.code,
                ):
                    problems.append(
                        f"{row.name} as {role}: {key} answers {cell.status} {cell.code} but a "
                        f"missing id answers {missing.status} {missing.code}"
                    )
    return problems


@pytest.fixture
async def world(client: httpx.AsyncClient, db: AsyncSession) -> World:
    return await _build_world(db)


@pytest.mark.parametrize("row", MATRIX, ids=[r.name for r in MATRIX])
async def test_isolation_matrix(
    row: Row, client: httpx.AsyncClient, connection: AsyncConnection, world: World
) -> None:
    problems = await _run_row(client, connection, world, row)
    assert not problems, "\n".join(problems)


# --- default deny ---------------------------------------------------------------------------


def _api_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every API route, including those of included routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI keeps APIRoute objects directly in app.routes
        contexts: list[Any] = list(app.routes)
        routes = [(r, r) for r in contexts]
    else:
        routes = [(c.original_route, c) for c in iter_route_contexts(app.routes)]
    for original, route in routes:
        if not isinstance(original, APIRoute):
            continue
        for method in sorted(route.methods or ()):
            if route.path.startswith("/api/v1") and method != "HEAD":
                yield method, route.path


def test_every_api_route_has_a_matrix_row(app: FastAPI) -> None:
    routes = set(_api_routes(app)) - UNROUTED
    covered = {(r.method, r.path) for r in MATRIX}
    assert len(routes) > 20, "route discovery found too few routes; is it broken?"
    missing = sorted(routes - covered)
    assert not missing, f"routes without an isolation-matrix row (default deny): {missing}"
    stale = sorted(covered - routes)
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


def test_matrix_rows_name_every_role() -> None:
    for row in MATRIX:
        assert set(row.expect) == set(ROLES), f"{row.name}: cells for {sorted(row.expect)}"
        for role, cell in row.expect.items():
            if row.family is None:
                assert isinstance(cell, int), f"{row.name}/{role}"
            else:
                assert isinstance(cell, tuple) and len(cell) == 3, f"{row.name}/{role}"
                # Only a list filtered by a foreign id may answer 2xx (with no items).
                allowed = (200,) if row.query is not None else ()
                assert cell[2] in allowed or cell[2] >= 300, f"{row.name}/{role}: other_org"


# --- scopes of combined answers (docs/api.md) -------------------------------------------


SCOPED = tuple(r for r in MATRIX if r.scopes)


def _partial_keys(row: Row) -> dict[str, list[str]]:
    """A key holding exactly the row's scopes, and for each scope one holding all but it
    (a key with nothing but the first scope when the row needs two)."""
    keys = {"key:exact": list(row.scopes)}
    for scope in row.scopes:
        keys[f"key:without {scope}"] = [s for s in row.scopes if s != scope]
    return keys


@pytest.mark.parametrize("row", SCOPED, ids=[r.name for r in SCOPED])
async def test_combined_answers_need_every_scope(
    row: Row,
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    world: World,
) -> None:
    """An API key holding every scope the answer combines gets what the all-scope key
    gets; one lacking any of them gets 403 naming it, whatever object it names (the
    report PDF with tickets:read alone used to print the customer, site and serial)."""
    keys = _partial_keys(row)
    for label, scopes in keys.items():
        _, secret = await auth_service.create_api_key(
            db, world.a.actor("admin"), name=label[:100], scopes=scopes
        )
        world.headers[label] = {"Authorization": f"Bearer {secret}"}
    await db.commit()
    problems: list[str] = []
    objects: tuple[str | None, ...] = OBJECTS if row.family else (None,)
    for label in keys:
        for key in objects:
            cell = await _send(client, connection, row, world, label, key)
            where = f"{row.name} as {label}" + (f" on {key}" if key else "")
            if label == "key:exact":
                want = _expected(row, "integration", key)
            else:
                want = 403
                missing = label.removeprefix("key:without ")
                if cell.status == 403 and cell.body.get("missing_scopes") != [missing]:
                    problems.append(f"{where}: 403 does not name {missing}: {cell.body}")
            if cell.status != want:
                problems.append(f"{where}: expected {want}, got {cell.status} {cell.body}")
            elif 200 <= cell.status < 300 and row.check:
                problems += [
                    f"{where}: {p}" for p in row.check(world, label, key or "own", cell.body)
                ]
    assert not problems, "\n".join(problems)


def test_every_combined_answer_has_a_scoped_row(app: FastAPI) -> None:
    """Default deny for combined answers: a route whose dependency requires several scopes
    has a row here naming exactly those scopes."""
    from tests.fixtures.scopes import required_scopes

    combined = {route: s for route, s in required_scopes(app).items() if len(s) > 1}
    assert len(combined) >= 5, "scope discovery found too few routes; is it broken?"
    for route, scopes in sorted(combined.items()):
        declared = {frozenset(r.scopes) for r in SCOPED if (r.method, r.path) == route}
        assert scopes in declared, f"{route} needs {sorted(scopes)}; matrix rows: {declared}"


async def test_location_names_copied_from_other_domains_need_their_scope(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    """A van is named after its engineer, a site's location after the site: a key with
    parts:read alone sees "Van" and "Customer site", not the names."""
    from server.customers.models import Site
    from server.parts.locations import ensure_site_location

    site = await db.get(Site, world.ids["site"]["own"])
    assert site is not None
    used = _movement("consume", from_location_id=("location", "own"), ticket_id=("ticket", "own"))
    data = MovementCreate(**used(world, "own"))
    await parts_service.create_movement(db, world.a.actor("admin"), data=data)
    site_location = await ensure_site_location(db, site)  # where the used part went
    _, parts_only = await auth_service.create_api_key(
        db, world.a.actor("admin"), name="stock only", scopes=["parts:read"]
    )
    await db.commit()
    van = world.id("location", "own")
    shown = {}
    for label, headers in (
        ("parts only", {"Authorization": f"Bearer {parts_only}"}),
        ("every scope", world.headers["integration"]),
    ):
        read = await client.get(f"/api/v1/stock-locations/{van}", headers=headers)
        located = await client.get(
            "/api/v1/stock-reports/on-hand",
            params={"location_id": str(site_location.id)},
            headers=headers,
        )
        assert read.status_code == located.status_code == 200, (read.text, located.text)
        shown[label] = (read.json()["name"], located.json()["locations"][0]["location_name"])
    engineer = world.a.engineers[0].display_name
    assert shown["every scope"] == (f"Van: {engineer}", f"Site: {site.name}")
    assert shown["parts only"] == ("Van", "Customer site")
