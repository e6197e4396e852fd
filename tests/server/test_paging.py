"""Every cursor-paginated list, followed to its end.

The routes come from the OpenAPI document: every GET with a ``cursor`` query parameter.
Each has a seed below that writes more rows than one page holds (with ties in the sort
value where the sort allows them: equal names, equal serials, timestamps of one
transaction), so the walk crosses several page boundaries with ``limit`` 2. The walk
follows ``next_cursor`` until it is null and checks: no 5xx (every page 200), no
duplicates, no gaps (the pages joined equal the whole list read in one page, in the same
order), and the seeded rows all present. A route whose ``sort`` parameter has an enum is
walked once per sort value. ``test_every_cursor_route_has_a_seed`` is the default deny: a
cursor route without a seed here fails the suite.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.pagination import MAX_CURSOR, encode_cursor
from server.parts import service as parts_service
from server.parts.schemas import LocationCreate, MovementCreate, PartCreate
from server.tickets.models import Ticket
from tests.fixtures.factories import (
    Tenant,
    make_engineer,
    make_tenant,
    make_ticket,
)
from tests.server.sync.helpers import Phone

LIMIT = 2
MAX_PAGES = 200


@dataclass
class Walk:
    """One list to follow: who asks, with which filters, and the ids that must be in it."""

    path: str
    headers: dict[str, str]
    expected: set[str]
    params: dict[str, str] = field(default_factory=dict)


Seed = Callable[[AsyncSession, Tenant], Awaitable[Walk]]


# --- seeds: more rows than a page, ties in the sort value -------------------------------


async def _customers(db: AsyncSession, t: Tenant) -> Walk:
    from server.customers.models import Customer

    rows = [
        Customer(org_id=t.org.id, name=n, version=1) for n in ("Same", "Same", "Same", "B", "A")
    ]
    db.add_all(rows)
    await db.flush()
    return Walk("/api/v1/customers", t.headers("dispatcher"), {str(c.id) for c in rows})


async def _service_sites(db: AsyncSession, t: Tenant) -> Walk:
    from server.customers.models import ServiceSite

    # Names are unique in an organisation: no ties to seed; the id breaks none.
    rows = [
        ServiceSite(org_id=t.org.id, name=n, kind="depot", lat=31.0, lon=121.4, version=1)
        for n in ("Depot E", "Depot A", "Depot C", "Depot B", "Depot D")
    ]
    db.add_all(rows)
    await db.flush()
    return Walk("/api/v1/service-sites", t.headers("engineer1"), {str(r.id) for r in rows})


async def _time_off(db: AsyncSession, t: Tenant) -> Walk:
    from server.engineers.models import TimeOff

    engineer = t.engineers[0]
    same = dt.datetime(2026, 12, 15, tzinfo=dt.UTC)
    starts = (same, same, same, same - dt.timedelta(days=3), same + dt.timedelta(days=2))
    rows = [
        TimeOff(
            org_id=t.org.id,
            engineer_id=engineer.id,
            kind="leave",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=4),
        )
        for start in starts
    ]
    db.add_all(rows)
    await db.flush()
    url = f"/api/v1/engineers/{engineer.id}/time-off"
    return Walk(url, t.headers("engineer1"), {str(r.id) for r in rows})


async def _sites(db: AsyncSession, t: Tenant) -> Walk:
    from server.customers.models import Site

    assert t.customer
    rows = [
        Site(org_id=t.org.id, customer_id=t.customer.id, name="Depot", address="1 Rd", version=1)
        for _ in range(5)
    ]
    db.add_all(rows)
    await db.flush()
    return Walk("/api/v1/sites", t.headers("dispatcher"), {str(s.id) for s in rows})


async def _assets(db: AsyncSession, t: Tenant) -> Walk:
    from server.customers.models import Asset

    assert t.customer and t.site
    # The same serial under different models: a tie in the sort value.
    rows = [
        Asset(
            org_id=t.org.id,
            site_id=t.site.id,
            customer_id=t.customer.id,
            product_model=f"CH-{n}",
            serial_number="SN-SAME",
            version=1,
        )
        for n in range(5)
    ]
    db.add_all(rows)
    await db.flush()
    return Walk("/api/v1/assets", t.headers("dispatcher"), {str(a.id) for a in rows})


async def _engineers(db: AsyncSession, t: Tenant) -> Walk:
    rows = []
    for _ in range(3):
        _, engineer = await make_engineer(db, t.org)
        engineer.display_name = "Li Na"
        rows.append(engineer)
    await db.flush()
    return Walk("/api/v1/engineers", t.headers("dispatcher"), {str(e.id) for e in rows})


async def _checklist_templates(db: AsyncSession, t: Tenant) -> Walk:
    from server.field.checklists import service as checklists
    from server.field.schemas import TemplateCreate

    ids = set()
    for name in ("Safety", "Safety", "Safety", "Leak test", "Chiller"):
        data = TemplateCreate.model_validate(
            {"name": name, "items": [{"kind": "yes_no", "label": "Isolated?"}]}
        )
        view = await checklists.create_template(db, t.actor("admin"), data=data)
        ids.add(str(view.template.id))
    return Walk("/api/v1/checklist-templates", t.headers("dispatcher"), ids)


async def _parts(db: AsyncSession, t: Tenant) -> Walk:
    ids = set()
    for n in range(5):
        data = PartCreate(sku=f"RLY-{n}", name="Relay")
        ids.add(str((await parts_service.create_part(db, t.actor("admin"), data=data)).id))
    return Walk("/api/v1/parts", t.headers("dispatcher"), ids)


async def _stock_locations(db: AsyncSession, t: Tenant) -> Walk:
    ids = set()
    for _ in range(5):
        data = LocationCreate(kind="warehouse", name="Depot")
        ids.add(str((await parts_service.create_location(db, t.actor("admin"), data=data)).id))
    return Walk("/api/v1/stock-locations", t.headers("dispatcher"), ids)


async def _stock_movements(db: AsyncSession, t: Tenant) -> Walk:
    admin = t.actor("admin")
    part = await parts_service.create_part(db, admin, data=PartCreate(sku="RLY", name="Relay"))
    where = await parts_service.create_location(
        db, admin, data=LocationCreate(kind="warehouse", name="Depot")
    )
    ids = set()
    for _ in range(5):
        data = MovementCreate(
            kind="receive", part_id=part.id, quantity=Decimal(1), to_location_id=where.id
        )
        ids.add(str((await parts_service.create_movement(db, admin, data=data)).id))
    return Walk("/api/v1/stock-movements", t.headers("dispatcher"), ids)


async def _stock_units(db: AsyncSession, t: Tenant) -> Walk:
    from server.parts.models import StockUnit

    admin = t.actor("admin")
    where = await parts_service.create_location(
        db, admin, data=LocationCreate(kind="warehouse", name="Depot")
    )
    rows = []
    for n in range(5):
        data = PartCreate(sku=f"CMP-{n}", name="Compressor", serialised=True)
        part = await parts_service.create_part(db, admin, data=data)
        # The same serial on different parts: a tie in the sort value.
        rows.append(
            StockUnit(org_id=t.org.id, part_id=part.id, serial_number="S-1", location_id=where.id)
        )
    db.add_all(rows)
    await db.flush()
    return Walk("/api/v1/stock-units", t.headers("dispatcher"), {str(u.id) for u in rows})


async def _part_returns(db: AsyncSession, t: Tenant) -> Walk:
    from server.parts.returns import service as returns

    admin = t.actor("admin")
    part = await parts_service.create_part(db, admin, data=PartCreate(sku="RLY", name="Relay"))
    ids = set()
    for _ in range(5):
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
        ids.add(str(rma.id))
    return Walk("/api/v1/part-returns", t.headers("dispatcher"), ids)


async def _tickets_of(db: AsyncSession, t: Tenant, n: int, engineer: int = 0) -> list[Ticket]:
    assert t.customer
    return [
        await make_ticket(
            db,
            t.actor("dispatcher"),
            t.customer,
            assign_to=t.engineers[engineer],
            priority=("P2" if i % 2 else "P3"),
        )
        for i in range(n)
    ]


async def _tickets(db: AsyncSession, t: Tenant) -> Walk:
    rows = await _tickets_of(db, t, 6)
    # Creation times of one transaction tie; spread two apart, and give some a resolution
    # deadline (equal ones among them) while the rest have none (sorted last).
    base = dt.datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)
    for i, ticket in enumerate(rows[:2]):
        await db.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id)
            .values(created_at=base + dt.timedelta(microseconds=i))
        )
    for ticket in rows[2:5]:
        await db.execute(
            update(Ticket).where(Ticket.id == ticket.id).values(resolution_due_at=base)
        )
    await db.flush()
    return Walk("/api/v1/tickets", t.headers("dispatcher"), {str(x.id) for x in rows})


async def _attachments(db: AsyncSession, t: Tenant) -> Walk:
    from server.attachments.storage import blob_store_for
    from server.config import get_settings
    from tests.fixtures.attachments import png, stored_attachment

    [ticket] = await _tickets_of(db, t, 1)
    store = blob_store_for(get_settings())
    ids = set()
    for n in range(5):
        photo = await stored_attachment(
            db, t.actor("engineer1"), ticket, store, png(colour=(n, n, n))
        )
        ids.add(str(photo.id))
    return Walk(f"/api/v1/tickets/{ticket.id}/attachments", t.headers("dispatcher"), ids)


async def _installation(db: AsyncSession, t: Tenant, last_seq: int = 0) -> Any:
    from server.sync.models import SyncClient

    engineer = t.engineers[0]
    client = SyncClient(
        id=uuid.uuid4(),
        org_id=t.org.id,
        user_id=engineer.user_id,
        engineer_id=engineer.id,
        device="paging",
        last_seq=last_seq,
    )
    db.add(client)
    await db.flush()
    return client


async def _sync_flags(db: AsyncSession, t: Tenant) -> Walk:
    from server.sync.models import SyncFlag

    tickets = await _tickets_of(db, t, 5)
    rows = [
        SyncFlag(
            org_id=t.org.id,
            work_order_id=ticket.id,
            engineer_id=t.engineers[0].id,
            kind="completed_after_cancel",
            status="open",
            detail="completed after the office cancelled",
            payload={},
        )
        for ticket in tickets
    ]
    db.add_all(rows)
    await db.flush()
    return Walk("/api/v1/sync/flags", t.headers("dispatcher"), {str(f.id) for f in rows})


async def _sync_rejected(db: AsyncSession, t: Tenant) -> Walk:
    from server.sync.models import SyncMutation

    [ticket] = await _tickets_of(db, t, 1)
    client = await _installation(db, t, last_seq=5)
    ids = set()
    for seq in range(1, 6):
        mutation = SyncMutation(
            client_id=client.id,
            seq=seq,
            org_id=t.org.id,
            mutation_id=uuid.uuid4(),
            name="labour.add",
            args={"work_order_id": str(ticket.id)},
            work_order_id=ticket.id,
            device_time=dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC),
            outcome="rejected",
            result={"seq": seq, "outcome": "rejected", "data": {}, "error": {"status": 404}},
        )
        db.add(mutation)
        ids.add(str(mutation.mutation_id))
    await db.flush()
    return Walk("/api/v1/sync/rejected", t.headers("dispatcher"), ids)


async def _sync_pull(db: AsyncSession, t: Tenant) -> Walk:
    """The phone's change feed: its own cursor and ``has_more`` (walked by ``_follow_feed``)."""
    rows = await _tickets_of(db, t, 5)
    return Walk("/api/v1/sync/pull", t.headers("engineer1"), {str(x.id) for x in rows})


async def _escalated(db: AsyncSession, t: Tenant) -> set[str]:
    """Five open work orders, each at escalation level 1 owned by the admin, all due at the
    same instant (a tie in the sort value)."""
    import datetime as dt

    from server.escalation.models import TicketEscalation

    due = dt.datetime(2026, 12, 8, 9, tzinfo=dt.UTC)
    steps = [
        TicketEscalation(
            org_id=t.org.id,
            ticket_id=ticket.id,
            level=1,
            trigger="at_risk",
            action="notify",
            owner="agent",
            owner_user_id=t.users["admin"].id,
            reason="SLA at risk",
            reached_at=due,
            due_at=due,
        )
        for ticket in await _tickets_of(db, t, 5)
    ]
    db.add_all(steps)
    await db.flush()
    return {str(x.id) for x in steps}


async def _my_escalations(db: AsyncSession, t: Tenant) -> Walk:
    return Walk("/api/v1/escalation/mine", t.headers("admin"), await _escalated(db, t))


async def _followups(db: AsyncSession, t: Tenant) -> Walk:
    import datetime as dt

    from server.escalation.models import FollowupTask

    due = dt.datetime(2026, 12, 8, 9, tzinfo=dt.UTC)
    tasks = [
        FollowupTask(
            org_id=t.org.id,
            ticket_id=ticket.id,
            kind="complaint_callback",
            assignee_user_id=t.users["agent"].id,
            due_at=due,
            status="open",
            note="",
            version=1,
        )
        for ticket in await _tickets_of(db, t, 5)
    ]
    db.add_all(tasks)
    await db.flush()
    return Walk("/api/v1/followups", t.headers("dispatcher"), {str(x.id) for x in tasks})


async def _survey_responses(db: AsyncSession, t: Tenant) -> Walk:
    from tests.fixtures.surveys import make_response

    rows = [await make_response(db, t, engineer=1 + n % 2) for n in range(5)]
    return Walk("/api/v1/surveys/responses", t.headers("dispatcher"), {str(r.id) for r in rows})


async def _kpi_work_orders(db: AsyncSession, t: Tenant) -> Walk:
    """The work orders behind a KPI, one fact each (created yesterday: the default range)."""
    from tests.server.reports.kpi_data import add_fact

    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    rows = [await add_fact(db, t, created_at=yesterday) for _ in range(6)]
    return Walk(
        "/api/v1/kpis/work-orders",
        t.headers("dispatcher"),
        {str(x.id) for x in rows},
        {"metric": "work_orders"},
    )


def _webhook_endpoint(t: Tenant, n: int) -> Any:
    from server.webhooks.models import WebhookEndpoint

    return WebhookEndpoint(
        org_id=t.org.id,
        url=f"https://93.184.216.34/hook/{n}",
        event_types=["*"],
        secret="whsec_" + "A" * 44,
        version=1,
    )


async def _webhook_endpoints(db: AsyncSession, t: Tenant) -> Walk:
    hooks = [_webhook_endpoint(t, n) for n in range(5)]
    db.add_all(hooks)
    await db.flush()
    return Walk("/api/v1/webhooks/endpoints", t.headers("admin"), {str(h.id) for h in hooks})


async def _webhook_deliveries(db: AsyncSession, t: Tenant) -> Walk:
    """One endpoint's deliveries, all made at one instant (a tie in the sort value)."""
    import datetime as dt

    from server.webhooks.models import WebhookDelivery

    hook = _webhook_endpoint(t, 0)
    db.add(hook)
    await db.flush()
    now = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
    rows = [
        WebhookDelivery(
            org_id=t.org.id,
            endpoint_id=hook.id,
            event_id=uuid.uuid4(),
            event_type="ticket.created",
            body="{}",
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for _ in range(5)
    ]
    db.add_all(rows)
    await db.flush()
    path = f"/api/v1/webhooks/endpoints/{hook.id}/deliveries"
    return Walk(path, t.headers("admin"), {str(r.id) for r in rows})


async def _notifications(db: AsyncSession, t: Tenant) -> Walk:
    """The delivery log: rows of one event, ids of one millisecond (UUIDv7) included."""
    from server.notify import Notification

    event_id = uuid.uuid4()
    rows = [
        Notification(
            org_id=t.org.id,
            event_id=event_id,
            topic="ticket.sla_breached",
            template="sla_breached",
            recipient_kind="user",
            recipient_id=uuid.uuid4(),
            channel="email",
            address=f"staff{n}@example.test",
            lang="en",
            subject="SLA breached",
            body="...",
            status="sent",
            attempts=1,
        )
        for n in range(5)
    ]
    db.add_all(rows)
    await db.flush()
    return Walk("/api/v1/notifications", t.headers("dispatcher"), {str(r.id) for r in rows})


SEEDS: dict[str, Seed] = {
    "/api/v1/assets": _assets,
    "/api/v1/checklist-templates": _checklist_templates,
    "/api/v1/customers": _customers,
    "/api/v1/engineers": _engineers,
    "/api/v1/engineers/{engineer_id}/time-off": _time_off,
    "/api/v1/escalation/mine": _my_escalations,
    "/api/v1/followups": _followups,
    "/api/v1/notifications": _notifications,
    "/api/v1/part-returns": _part_returns,
    "/api/v1/parts": _parts,
    "/api/v1/service-sites": _service_sites,
    "/api/v1/sites": _sites,
    "/api/v1/stock-locations": _stock_locations,
    "/api/v1/stock-movements": _stock_movements,
    "/api/v1/stock-units": _stock_units,
    "/api/v1/surveys/responses": _survey_responses,
    "/api/v1/kpis/work-orders": _kpi_work_orders,
    "/api/v1/webhooks/endpoints": _webhook_endpoints,
    "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries": _webhook_deliveries,
    "/api/v1/sync/flags": _sync_flags,
    "/api/v1/sync/pull": _sync_pull,
    "/api/v1/sync/rejected": _sync_rejected,
    "/api/v1/tickets": _tickets,
    "/api/v1/tickets/{ticket_id}/attachments": _attachments,
}


# --- walking -----------------------------------------------------------------------------


def cursor_routes(app: FastAPI) -> dict[str, list[str | None]]:
    """Every GET route with a ``cursor`` query parameter -> its sort values (or [None])."""
    routes: dict[str, list[str | None]] = {}
    for path, operations in app.openapi()["paths"].items():
        params = {p["name"]: p for p in operations.get("get", {}).get("parameters", [])}
        if params.get("cursor", {}).get("in") != "query":
            continue
        sort = params.get("sort", {}).get("schema", {})
        routes[path] = list(sort.get("enum", [])) or [None]
    return routes


async def _page(
    client: httpx.AsyncClient, walk: Walk, params: dict[str, Any], cursor: str | None
) -> dict[str, Any]:
    query = {**walk.params, **params} | ({"cursor": cursor} if cursor else {})
    response = await client.get(walk.path, params=query, headers=walk.headers)
    assert response.status_code == 200, (walk.path, query, response.status_code, response.text)
    body: dict[str, Any] = response.json()
    return body


async def _follow(
    client: httpx.AsyncClient, walk: Walk, params: dict[str, Any]
) -> tuple[list[str], int]:
    """The ids of every page, following next_cursor until it is null; and the page count."""
    ids: list[str] = []
    cursor: str | None = None
    for pages in range(1, MAX_PAGES):
        body = await _page(client, walk, {**params, "limit": LIMIT}, cursor)
        assert len(body["items"]) <= LIMIT, f"{walk.path}: a page longer than limit"
        ids += [str(item["id"]) for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages
    raise AssertionError(f"{walk.path}: next_cursor never became null")


async def _check_list(client: httpx.AsyncClient, walk: Walk, sort: str | None) -> list[str]:
    params: dict[str, Any] = {"sort": sort} if sort else {}
    walked, pages = await _follow(client, walk, params)
    whole = await _page(client, walk, {**params, "limit": 200}, None)
    assert whole["next_cursor"] is None, f"{walk.path}: the whole list needs one page"
    full = [str(item["id"]) for item in whole["items"]]
    where = f"{walk.path} sort={sort}"
    problems = []
    if len(walked) != len(set(walked)):
        problems.append(f"{where}: duplicates {sorted({i for i in walked if walked.count(i) > 1})}")
    if set(walked) != set(full):
        problems.append(f"{where}: gaps {sorted(set(full) - set(walked))}")
    elif walked != full:
        problems.append(f"{where}: the pages' order differs from the whole list's")
    if not walk.expected <= set(full):
        problems.append(f"{where}: seeded rows missing {sorted(walk.expected - set(full))}")
    if pages < 3:
        problems.append(f"{where}: only {pages} page(s); seed more rows than {2 * LIMIT}")
    return problems


async def _check_feed(client: httpx.AsyncClient, engine: AsyncEngine, walk: Walk) -> list[str]:
    """The sync feed: pages until ``has_more`` is false; the rows a phone ends with equal
    those of a phone that pulled everything in one page."""
    paged = Phone(client, walk.headers, engine=engine)
    await paged.register()
    pages = await paged.sync(limit=LIMIT)
    whole = Phone(client, walk.headers, engine=engine)
    await whole.register()
    await whole.sync(limit=500)
    # A page may run a few changes past limit (a work order arrives with its context), and
    # changes written while the snapshot was paged come again from the feed (a put is
    # idempotent): docs/sync.md. So neither page lengths nor repeated puts are faults here.
    problems = []
    if set(paged.rows) != set(whole.rows):
        problems.append(f"sync pull: gaps {sorted(set(whole.rows) ^ set(paged.rows))}")
    if not walk.expected <= paged.ids("work_order"):
        problems.append("sync pull: seeded work orders missing")
    if len(pages) < 3:
        problems.append(f"sync pull: only {len(pages)} page(s)")
    return problems


@pytest.mark.parametrize("path", sorted(SEEDS))
async def test_following_the_cursor_reads_every_row_once(
    path: str,
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
) -> None:
    t = await make_tenant(db)
    await make_tenant(db, "Other")  # another organisation's rows are never in the walk
    walk = await SEEDS[path](db, t)
    await db.commit()  # releases the factories' savepoint; the test transaction stays open
    if path == "/api/v1/sync/pull":
        problems = await _check_feed(client, engine, walk)
    else:
        problems = []
        for sort in cursor_routes(app)[path]:
            problems += await _check_list(client, walk, sort)
    assert not problems, "\n".join(problems)


def test_every_cursor_route_has_a_seed(app: FastAPI) -> None:
    routes = cursor_routes(app)
    assert len(routes) >= 10, "route discovery found too few cursor routes; is it broken?"
    missing = sorted(set(routes) - set(SEEDS))
    assert not missing, f"cursor-paginated routes without a paging seed (default deny): {missing}"
    stale = sorted(set(SEEDS) - set(routes))
    assert not stale, f"paging seeds for routes without a cursor: {stale}"


async def test_a_keyset_on_the_id_alone_pages_the_ledger(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The ledger is ordered by its UUIDv7 ids alone: its own next_cursor used to be a 500
    (the cursor check knew no UUID sort column)."""
    t = await make_tenant(db)
    walk = await _stock_movements(db, t)
    await db.commit()
    first = await _page(client, walk, {"limit": 2}, None)
    assert first["next_cursor"]
    second = await _page(client, walk, {"limit": 2}, first["next_cursor"])
    assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in first["items"]})
    crafted = encode_cursor(["not a uuid", "not a uuid"])
    bad = await client.get(walk.path, params={"cursor": crafted}, headers=walk.headers)
    assert bad.status_code == 400, bad.text


@pytest.mark.parametrize("letter", ["客", "\U0001d54f"])  # a CJK and an astral character
async def test_a_list_pages_past_names_of_the_longest_non_ascii_text(
    client: httpx.AsyncClient, db: AsyncSession, letter: str
) -> None:
    """The cursor held the name as JSON \\u escapes (8 characters of cursor per Chinese
    character, 16 per astral one) and the cursor parameter took 500: a customer named
    with 56 Chinese characters made a next_cursor the server then refused (422), and the
    list could not be paged past it."""
    t = await make_tenant(db)
    headers = t.headers("admin")
    for n in range(3):
        name = f"{n}{letter * 199}"
        created = await client.post("/api/v1/customers", json={"name": name}, headers=headers)
        assert created.status_code == 201, created.text
    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/api/v1/customers", params=params, headers=headers)
        assert page.status_code == 200, page.text
        seen += [c["name"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        assert len(cursor) <= MAX_CURSOR
    assert [name for name in seen if letter in name] == [f"{n}{letter * 199}" for n in range(3)]
