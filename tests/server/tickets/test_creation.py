"""Creating a work order: the hot path writes exactly what the ORM path writes.

``server/tickets/creation.py`` writes a new work order, its event and its outbox row in one
hand-written statement (``create_now``) and keeps the ORM path (``create_orm``) as the
reference. Each test creates the same work order twice, in two organisations set up the same
way, at the same instant (the service's clock is pinned): once with the fast path
``tickets.create`` (server/fastpaths.py) on, once with every fast path off, and compares
every column of what each wrote (ids replaced by their roles), the change-feed rows and what
the caller got back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.customers.models import ServiceSite
from server.errors import Unprocessable
from server.tickets import audit
from server.tickets import service as tickets
from server.tickets.models import BusinessCalendar, Ticket
from server.tickets.router import to_read
from server.tickets.schemas import TicketCreate
from tests.fixtures.factories import Tenant, make_customer, make_policy, make_tenant, make_ticket
from tests.fixtures.fast_paths import spy, switch
from tests.server.test_concurrency import _blocked_behind

NOW = dt.datetime(2026, 11, 27, 16, 45, 12, 345678, tzinfo=dt.UTC)  # a Friday afternoon
OFFICE_HOURS = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
Scene = Callable[[AsyncSession, Tenant], Awaitable[dict[str, Any]]]


async def _rows(db: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    await db.flush()
    return [dict(r) for r in (await db.execute(text(sql), params)).mappings()]


def _roles(t: Tenant, scene: dict[str, Any], ticket_id: uuid.UUID) -> dict[str, str]:
    """What each run-bound value stands for."""
    names = {str(ticket_id): "work_order", str(t.org.id): "org"}
    for key, value in scene.items():
        if hasattr(value, "id"):
            names[str(value.id)] = key
    for role in ("customer", "site", "asset"):
        names[str(getattr(t, role).id)] = role
    names[t.actor("dispatcher").label] = "dispatcher"
    return names


def _named(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _named(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, names) for v in value]
    text_value = str(value) if isinstance(value, uuid.UUID) else value
    if isinstance(text_value, str) and text_value in names:
        return names[text_value]
    return value


async def _written(
    db: AsyncSession, t: Tenant, scene: dict[str, Any], ticket: Ticket, feed_marker: int
) -> dict[str, Any]:
    names = _roles(t, scene, ticket.id)
    row = (await _rows(db, "SELECT * FROM tickets WHERE id = :t", t=ticket.id))[0]
    events = await _rows(
        db,
        "SELECT * FROM ticket_events WHERE ticket_id = :t ORDER BY created_at, id",
        t=ticket.id,
    )
    outbox = await _rows(
        db, "SELECT * FROM outbox_events WHERE aggregate_id = :t ORDER BY id", t=ticket.id
    )
    feed = await _rows(
        db,
        "SELECT scope, entity, entity_id, op FROM sync_changes WHERE id > :m AND org_id = :o",
        m=feed_marker,
        o=t.org.id,
    )
    counter = await _rows(
        db, "SELECT last_number FROM ticket_counters WHERE org_id = :o", o=t.org.id
    )
    return {
        "ticket": _named(row, names),
        "events": [_named({k: v for k, v in e.items() if k != "id"}, names) for e in events],
        "outbox": [_named({k: v for k, v in o.items() if k != "id"}, names) for o in outbox],
        "feed": [_named(f, names) for f in feed],
        "counter": counter,
        "answer": _named(to_read(ticket).model_dump(mode="json"), names),
        "held": ticket in db and not db.is_modified(ticket),
    }


async def _create_twice(
    db: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    scene: Scene,
    body: Callable[[Tenant, dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """Create the work order ``body`` describes hot, then careful, in two organisations
    that ``scene`` sets up the same way; assert both wrote the same; return what it was."""
    monkeypatch.setattr(tickets, "_now", lambda: NOW)
    taken: list[str] = []
    snapshots = []
    for careful in (False, True):
        t = await make_tenant(db, f"Create {careful}")
        state = await scene(db, t)
        marker = (await _rows(db, "SELECT coalesce(max(id), 0) AS m FROM sync_changes"))[0]["m"]
        db.expunge_all()  # as in a request: the session holds nothing yet
        data = TicketCreate.model_validate(body(t, state))
        with monkeypatch.context() as patch:
            switch(patch, not careful)
            spy(patch, taken)
            ticket = await tickets.create(db, t.actor("dispatcher"), data=data)
        snapshots.append(await _written(db, t, state, ticket, marker))
    # The fast path "tickets.create" wrote it, then (every fast path off) the ORM path.
    assert taken == ["tickets.create"], "the hot path did not write the work order"
    fast, slow = snapshots
    for part in fast:
        assert fast[part] == slow[part], part
    return fast


async def _plain(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    return {}


async def _service_sites(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    """Three service sites around the customer's site (31.23, 121.47): an inactive centre
    2 km away, an active depot 7 km away (the nearest that counts), a workshop in Suzhou."""
    places = {
        "jingan": ("Jing'an centre", "service_centre", 31.229, 121.448, False),
        "pudong": ("Pudong depot", "depot", 31.22, 121.54, True),
        "suzhou": ("Suzhou workshop", "partner_workshop", 31.30, 120.58, True),
    }
    made = {}
    for key, (name, kind, lat, lon, active) in places.items():
        made[key] = ServiceSite(
            org_id=t.org.id, name=name, kind=kind, lat=lat, lon=lon, active=active, version=1
        )
        db.add(made[key])
    await db.flush()
    return made


async def _office_calendar(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    """The organisation's P2 policy counts office hours in Shanghai, with a holiday; and
    its service sites."""
    calendar = BusinessCalendar(
        org_id=t.org.id,
        name="Office",
        timezone="Asia/Shanghai",
        hours=OFFICE_HOURS,
        holidays=[dt.date(2026, 11, 30)],
    )
    db.add(calendar)
    await db.flush()
    policy = await make_policy(db, t.org, "P2", response_minutes=120, resolution_minutes=600)
    policy.calendar_id = calendar.id
    await make_policy(db, t.org, "P3", response_minutes=240, resolution_minutes=1440)
    return {"policy": policy, "calendar": calendar, **await _service_sites(db, t)}


async def _customer_policy_and_history(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    """The customer has its own P1 policy around the clock (the organisation's default is
    overridden), and an earlier work order the new one repeats."""
    assert t.customer is not None
    await make_policy(db, t.org, "P1", response_minutes=60, resolution_minutes=480)
    own = await make_policy(
        db, t.org, "P1", response_minutes=30, resolution_minutes=240, customer=t.customer
    )
    earlier = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, t.asset)
    return {"customer_policy": own, "earlier": earlier, **await _service_sites(db, t)}


def _full_body(t: Tenant, state: dict[str, Any]) -> dict[str, Any]:
    assert t.customer and t.site and t.asset
    return {
        "customer_id": str(t.customer.id),
        "site_id": str(t.site.id),
        "asset_id": str(t.asset.id),
        "channel": "phone",
        "type": "repair",
        "priority": "P2",
        "title": "Chiller TRIPS on high pressure",
        "description": "Unit 2 shows alarm E31; 机组高压报警",
        "fault_code": "E31",
        "required_skills": ["hvac", "refrigeration"],
        "window_start": "2026-11-30T09:00:00+08:00",
        "window_end": "2026-11-30T12:00:00+08:00",
        "estimated_minutes": 90,
    }


async def test_a_work_order_on_a_business_calendar_is_written_as_the_orm_writes_it(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrote = await _create_twice(db, monkeypatch, _office_calendar, _full_body)
    ticket = wrote["ticket"]
    assert ticket["sla_policy_id"] == "policy" and ticket["sla_state"] == "ok"
    # Friday 16:45 UTC is after hours in Shanghai; Monday is a holiday: the clock starts
    # Tuesday 09:00 local (01:00 UTC).
    assert ticket["response_due_at"] == dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    assert ticket["number"] == 1 and wrote["answer"]["number"] == "WO-000001"
    assert ticket["search_text"] == "wo-000001 chiller trips on high pressure " + (
        "unit 2 shows alarm e31; 机组高压报警"
    )
    assert [e["kind"] for e in wrote["events"]] == ["created"]
    assert wrote["outbox"][0]["payload"]["number"] == "WO-000001"
    assert wrote["feed"] == []  # nobody's work yet
    assert wrote["held"]
    # The nearest active service site (the inactive one is nearer).
    assert ticket["service_site_id"] == wrote["answer"]["service_site_id"] == "pudong"


async def test_an_asset_without_a_site_a_customer_policy_and_a_repeat_are_written_alike(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    def body(t: Tenant, state: dict[str, Any]) -> dict[str, Any]:
        assert t.customer and t.asset
        return {
            "customer_id": str(t.customer.id),
            "asset_id": str(t.asset.id),
            "priority": "P1",
            "title": "Again: no cooling",
            "repeat_of_id": str(state["earlier"].id),
        }

    wrote = await _create_twice(db, monkeypatch, _customer_policy_and_history, body)
    ticket = wrote["ticket"]
    assert (ticket["site_id"], ticket["repeat_of_id"]) == ("site", "earlier")
    assert ticket["sla_policy_id"] == "customer_policy"
    assert ticket["response_due_at"] == NOW + dt.timedelta(minutes=30)
    assert ticket["number"] == 2
    assert ticket["service_site_id"] == "pudong"  # nearest to the asset's site


async def _sites_but_no_coordinates(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    assert t.site
    t.site.lat = t.site.lon = None
    return await _service_sites(db, t)


async def test_a_site_without_coordinates_has_no_nearest_service_site_on_either_path(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrote = await _create_twice(db, monkeypatch, _sites_but_no_coordinates, _full_body)
    assert wrote["ticket"]["site_id"] == "site"
    assert wrote["ticket"]["service_site_id"] is None


async def test_a_work_order_without_a_policy_is_written_alike(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    def body(t: Tenant, state: dict[str, Any]) -> dict[str, Any]:
        assert t.customer
        return {"customer_id": str(t.customer.id), "title": "Door sticks"}

    wrote = await _create_twice(db, monkeypatch, _plain, body)
    ticket = wrote["ticket"]
    assert ticket["sla_state"] == "none" and ticket["response_due_at"] is None
    assert ticket["sla_next_check_at"] is None and ticket["site_id"] is None


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("customer_id", "not found"),
        ("site_id", "belongs to another customer"),
        ("asset_id", "not at this customer's site"),
        ("repeat_of_id", "not found"),
    ],
)
async def test_the_hot_path_refuses_bad_references_as_the_orm_path_does(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch, field: str, problem: str
) -> None:
    t = await make_tenant(db)
    _, other_site, other_asset = await make_customer(db, t.org)
    stranger = await make_tenant(db, "Stranger")
    assert t.customer and t.site and stranger.customer
    body = {"customer_id": str(t.customer.id), "site_id": str(t.site.id), "title": "x"}
    body[field] = str(
        {
            "customer_id": stranger.customer.id,
            "site_id": other_site.id,
            "asset_id": other_asset.id,
            "repeat_of_id": uuid.uuid4(),
        }[field]
    )
    data = TicketCreate.model_validate(body)
    answers = []
    for careful in (False, True):
        with monkeypatch.context() as patch:
            switch(patch, not careful)
            with pytest.raises(Unprocessable) as refused:
                await tickets.create(db, t.actor("dispatcher"), data=data)
        answers.append((refused.value.detail, refused.value.extra))
    assert answers[0] == answers[1]
    assert problem in answers[0][0] and answers[0][1]["field"] == field
    written = await _rows(db, "SELECT count(*) AS n FROM tickets WHERE org_id = :o", o=t.org.id)
    assert written[0]["n"] == 0
    counters = await _rows(db, "SELECT * FROM ticket_counters WHERE org_id = :o", o=t.org.id)
    assert counters == []  # refused before the number was taken


@pytest.mark.parametrize("number", [1, 42, 999_999, 1_000_000, 123_456_789])
async def test_the_statement_labels_a_number_as_format_number_does(
    db: AsyncSession, number: int
) -> None:
    t = await make_tenant(db)
    assert t.customer
    await db.execute(
        text("INSERT INTO ticket_counters (org_id, last_number) VALUES (:o, :n)"),
        {"o": t.org.id, "n": number - 1},
    )
    data = TicketCreate(customer_id=t.customer.id, title="Leak")
    ticket = await tickets.create(db, t.actor("dispatcher"), data=data)
    row = (
        await _rows(
            db,
            "SELECT t.number, t.search_text, o.payload FROM tickets t "
            "JOIN outbox_events o ON o.aggregate_id = t.id WHERE t.id = :t",
            t=ticket.id,
        )
    )[0]
    label = audit.format_number(number)
    assert row["number"] == ticket.number == number
    assert row["payload"]["number"] == label
    assert row["search_text"] == ticket.search_text == f"{label} Leak ".lower()


# --- numbering under concurrency (real commits) ----------------------------------------------


async def _create_all_at_once(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    t: Tenant,
    bodies: list[dict[str, Any]],
    *,
    counter_exists: bool,
    waiting: int,
) -> list[httpx.Response]:
    """POST every body while a blocker holds the organisation's counter (its row, or its
    not yet committed first insert), wait until PostgreSQL shows ``waiting`` of them behind
    it, then let go (rolling the blocker back): those creations provably overlap."""
    async with engine.connect() as blocker:
        if counter_exists:
            await blocker.execute(
                text("SELECT 1 FROM ticket_counters WHERE org_id = :o FOR UPDATE"), {"o": t.org.id}
            )
        else:
            await blocker.execute(
                text("INSERT INTO ticket_counters (org_id, last_number) VALUES (:o, 0)"),
                {"o": t.org.id},
            )
        pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
        tasks = [
            asyncio.ensure_future(
                client.post("/api/v1/tickets", json=body, headers=t.headers("dispatcher"))
            )
            for body in bodies
        ]
        try:
            for _ in range(250):
                if await _blocked_behind(engine, pid) >= waiting:
                    break
                await asyncio.sleep(0.02)
            overlapped = await _blocked_behind(engine, pid) >= waiting
        finally:
            await blocker.rollback()
        responses = await asyncio.gather(*tasks)
    assert overlapped, [(r.status_code, r.text) for r in responses]
    return list(responses)


async def _numbers(db: AsyncSession, t: Tenant) -> tuple[list[int], int, int, int]:
    """(the work orders' numbers, the counter, their created events, their outbox rows)"""
    numbers = [
        r["number"]
        for r in await _rows(
            db, "SELECT number FROM tickets WHERE org_id = :o ORDER BY number", o=t.org.id
        )
    ]
    counts = (
        await _rows(
            db,
            "SELECT (SELECT last_number FROM ticket_counters WHERE org_id = :o) AS counter, "
            "(SELECT count(*) FROM ticket_events WHERE org_id = :o AND kind = 'created') AS e, "
            "(SELECT count(*) FROM outbox_events WHERE org_id = :o "
            "  AND topic = 'ticket.created') AS o",
            o=t.org.id,
        )
    )[0]
    return numbers, counts["counter"], counts["e"], counts["o"]


@pytest.mark.parametrize("counter_exists", [True, False], ids=["counter", "first_creations"])
async def test_concurrent_creations_never_share_a_number_and_leave_no_gap(
    committing_client: httpx.AsyncClient,
    committing_db: AsyncSession,
    engine: AsyncEngine,
    counter_exists: bool,
) -> None:
    t = await make_tenant(committing_db, "Concurrent numbers")
    assert t.customer and t.site
    await committing_db.commit()
    if counter_exists:
        first = await committing_client.post(
            "/api/v1/tickets",
            json={"customer_id": str(t.customer.id), "title": "First"},
            headers=t.headers("dispatcher"),
        )
        assert first.status_code == 201, first.text
    good = {"customer_id": str(t.customer.id), "site_id": str(t.site.id), "title": "Leak"}
    refused = {**good, "site_id": str(uuid.uuid4())}  # refused before it takes a number
    bodies = [good] * 6 + [refused]

    responses = await _create_all_at_once(
        engine, committing_client, t, bodies, counter_exists=counter_exists, waiting=6
    )

    assert sorted(r.status_code for r in responses) == [201] * 6 + [422]
    answered = sorted(int(r.json()["number"][3:]) for r in responses if r.status_code == 201)
    start = 2 if counter_exists else 1
    assert answered == list(range(start, start + 6))
    numbers, counter, created, outbox = await _numbers(committing_db, t)
    assert numbers == list(range(1, start + 6)) and counter == numbers[-1]
    assert created == outbox == len(numbers)


async def test_an_edited_calendar_counts_from_the_next_creation(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsed calendars are cached by their content (server/tickets/sla.py): an edit is a
    new calendar at once, and one that does not parse is refused every time."""
    monkeypatch.setattr(tickets, "_now", lambda: NOW)
    t = await make_tenant(db)
    assert t.customer
    scene = await _office_calendar(db, t)
    data = TicketCreate(customer_id=t.customer.id, title="No heating", priority="P2")
    first = await tickets.create(db, t.actor("dispatcher"), data=data)
    calendar = scene["calendar"]
    calendar.hours = {**OFFICE_HOURS, "sat": [["09:00", "18:00"]]}  # now open on Saturdays
    await db.flush()
    second = await tickets.create(db, t.actor("dispatcher"), data=data)
    assert first.response_due_at == dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    assert second.response_due_at == dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
    calendar.hours = {"mon": [["18:00", "09:00"]]}
    await db.flush()
    for _ in range(2):
        with pytest.raises(Unprocessable, match="cannot produce a deadline"):
            await tickets.create(db, t.actor("dispatcher"), data=data)
