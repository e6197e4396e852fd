"""SLA deadlines, the pause while waiting for the customer, and the sweep (server.tickets.sla).

The service stamps transitions with the real clock, so elapsed time is simulated by moving
timestamps in the database; the sweep is always called with an explicit ``now``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.customers.models import Customer
from server.tickets import sla
from server.tickets.models import BusinessCalendar, Ticket
from server.tickets.policies.calendar import BusinessCalendar as Calendar
from server.tickets.policies.calendar import add_business_time
from tests.fixtures.api import events, read
from tests.fixtures.factories import Tenant, make_customer, make_policy, make_tenant, make_ticket

FRACTION = 0.8
US = dt.timedelta(microseconds=1)
MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
OFFICE_HOURS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def ts(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


async def create(
    client: httpx.AsyncClient, t: Tenant, priority: str, customer: Customer | None = None
) -> dict[str, Any]:
    customer = customer or t.customer
    assert customer is not None
    resp = await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(customer.id), "title": "No heating", "priority": priority},
        headers=t.headers("dispatcher"),
    )
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


async def act(
    client: httpx.AsyncClient, t: Tenant, ticket_id: str, action: str, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action, **extra}
    if action == "assign":
        body["engineer_id"] = str(t.engineers[0].id)
    if action in ("hold", "reject", "reopen", "cancel") and "reason" not in body:
        body["reason"] = f"test {action}"
    resp = await client.post(
        f"/api/v1/tickets/{ticket_id}/transitions", json=body, headers=t.headers("dispatcher")
    )
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


async def walk(
    client: httpx.AsyncClient, t: Tenant, ticket_id: str, *actions: str
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for action in actions:
        data = await act(client, t, ticket_id, action)
    return data


async def column(db: AsyncSession, ticket_id: str, name: str) -> Any:
    return await db.scalar(select(getattr(Ticket, name)).where(Ticket.id == uuid.UUID(ticket_id)))


async def set_columns(db: AsyncSession, ticket_id: str, **values: Any) -> None:
    await db.execute(
        update(Ticket)
        .where(Ticket.id == uuid.UUID(ticket_id))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    forget_tickets(db)


def forget_tickets(db: AsyncSession) -> None:
    """Expire work orders this session loaded, so it sees what the API wrote since.

    Only tickets: the tenant's users must stay loaded to build request headers."""
    for obj in list(db.identity_map.values()):
        if isinstance(obj, Ticket):
            db.expire(obj)


async def run_sweep(db: AsyncSession, now: dt.datetime) -> int:
    forget_tickets(db)
    changed = await sla.sweep(db, now=now, at_risk_fraction=FRACTION)
    await db.flush()
    return changed


def sla_events(trail: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in trail if e["kind"].startswith("sla_")]


async def make_calendar(
    db: AsyncSession, t: Tenant, tz: str, hours: dict[str, list[list[str]]]
) -> BusinessCalendar:
    row = BusinessCalendar(org_id=t.org.id, name="Office", timezone=tz, hours=hours, holidays=[])
    db.add(row)
    await db.flush()
    return row


# --- deadlines at creation -------------------------------------------------------------------


async def test_deadlines_at_creation_follow_org_default_policy(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    policy = await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)

    ticket = await create(client, t, "P2")

    created = ts(ticket["created_at"])
    assert created is not None
    assert ts(ticket["response_due_at"]) == created + 60 * MIN
    assert ts(ticket["resolution_due_at"]) == created + 240 * MIN
    assert ticket["sla_state"] == "ok"
    assert await column(db, ticket["id"], "sla_policy_id") == policy.id
    # Nothing has answered yet, so the response deadline is the next thing to look at.
    assert await column(db, ticket["id"], "sla_next_check_at") == created + 60 * MIN


async def test_customer_override_policy_wins_over_org_default(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    override = await make_policy(
        db, t.org, "P2", response_minutes=15, resolution_minutes=90, customer=t.customer
    )
    other_customer, _, _ = await make_customer(db, t.org)

    special = await create(client, t, "P2")
    ordinary = await create(client, t, "P2", customer=other_customer)

    start = ts(special["created_at"])
    assert start is not None
    assert ts(special["response_due_at"]) == start + 15 * MIN
    assert ts(special["resolution_due_at"]) == start + 90 * MIN
    assert await column(db, special["id"], "sla_policy_id") == override.id
    start = ts(ordinary["created_at"])
    assert start is not None
    assert ts(ordinary["response_due_at"]) == start + 60 * MIN
    assert ts(ordinary["resolution_due_at"]) == start + 240 * MIN


async def test_no_policy_means_state_none_and_no_deadlines(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    # A policy for another priority must not apply.
    await make_policy(db, t.org, "P1", response_minutes=30, resolution_minutes=120)

    ticket = await create(client, t, "P4")

    assert ticket["sla_state"] == "none"
    assert ticket["response_due_at"] is None
    assert ticket["resolution_due_at"] is None
    assert await column(db, ticket["id"], "sla_policy_id") is None
    assert await column(db, ticket["id"], "sla_next_check_at") is None
    await run_sweep(db, dt.datetime.now(dt.UTC) + dt.timedelta(days=365))
    assert (await read(client, t, ticket["id"]))["sla_state"] == "none"
    assert sla_events(await events(client, t, ticket["id"])) == []


async def test_deadlines_at_creation_count_only_business_hours(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    mornings = {d: [["00:00", "12:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    row = await make_calendar(db, t, "UTC", mornings)
    policy = await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=13 * 60)
    policy.calendar_id = row.id
    await db.flush()

    ticket = await create(client, t, "P2")

    cal = Calendar.from_config("UTC", mornings, [])
    created = ts(ticket["created_at"])
    assert created is not None
    resolution_due = ts(ticket["resolution_due_at"])
    assert resolution_due == add_business_time(cal, created, 13 * HOUR)
    assert ts(ticket["response_due_at"]) == add_business_time(cal, created, HOUR)
    # At most 12 of any 24 hours are open, so 13 business hours take well over 13 hours.
    assert resolution_due is not None and resolution_due - created > 24 * HOUR


async def test_priority_change_recomputes_deadlines_on_calendar_and_writes_event(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    row = await make_calendar(db, t, "Europe/London", OFFICE_HOURS)
    p1 = await make_policy(db, t.org, "P1", response_minutes=120, resolution_minutes=8 * 60)
    p1.calendar_id = row.id
    await make_policy(db, t.org, "P3", response_minutes=24 * 60, resolution_minutes=5 * 24 * 60)
    await db.flush()
    ticket = await create(client, t, "P3")
    # Friday 2026-01-09 15:00 in London (GMT).
    await set_columns(db, ticket["id"], created_at=utc(2026, 1, 9, 15, 0))
    trail_before = await events(client, t, ticket["id"])

    resp = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"priority": "P1"},
        headers={**t.headers("dispatcher"), "If-Match": '"v1"'},
    )

    assert resp.status_code == 200, resp.text
    patched = resp.json()
    assert patched["priority"] == "P1"
    assert patched["version"] == 2
    # Two business hours from Friday 15:00 end exactly at Friday's closing time.
    assert ts(patched["response_due_at"]) == utc(2026, 1, 9, 17, 0)
    # Eight: two on Friday, six on Monday from 09:00.
    assert ts(patched["resolution_due_at"]) == utc(2026, 1, 12, 15, 0)
    assert await column(db, ticket["id"], "sla_policy_id") == p1.id
    new = (await events(client, t, ticket["id"]))[len(trail_before) :]
    assert len(new) == 1
    assert new[0]["kind"] == "updated"
    assert new[0]["changes"]["priority"] == ["P3", "P1"]


async def test_policy_without_calendar_counts_around_the_clock(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    # The organisation has an office calendar, but this policy names none: 24x7.
    await make_calendar(db, t, "Europe/London", OFFICE_HOURS)
    await make_policy(db, t.org, "P1", response_minutes=60, resolution_minutes=4 * 60)
    ticket = await create(client, t, "P2")
    # Saturday 2026-01-10 10:00: the office is closed, a 24x7 policy counts anyway.
    await set_columns(db, ticket["id"], created_at=utc(2026, 1, 10, 10, 0))

    resp = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"priority": "P1"},
        headers={**t.headers("dispatcher"), "If-Match": '"v1"'},
    )

    assert resp.status_code == 200, resp.text
    assert ts(resp.json()["response_due_at"]) == utc(2026, 1, 10, 11, 0)
    assert ts(resp.json()["resolution_due_at"]) == utc(2026, 1, 10, 14, 0)


async def test_priority_change_to_unpoliced_priority_clears_deadlines(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    assert ticket["sla_state"] == "ok"

    resp = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"priority": "P4"},
        headers={**t.headers("dispatcher"), "If-Match": '"v1"'},
    )

    assert resp.status_code == 200, resp.text
    assert resp.json()["sla_state"] == "none"
    assert resp.json()["response_due_at"] is None
    assert resp.json()["resolution_due_at"] is None
    assert await column(db, ticket["id"], "sla_next_check_at") is None


# --- first response, hold and resume ---------------------------------------------------------


async def test_accept_sets_first_response_and_stops_watching_response_deadline(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    assigned = await act(client, t, ticket["id"], "assign")
    assert assigned["first_response_at"] is None

    before = dt.datetime.now(dt.UTC)
    accepted = await act(client, t, ticket["id"], "accept")
    after = dt.datetime.now(dt.UTC)

    first = ts(accepted["first_response_at"])
    assert first is not None and before <= first <= after
    assert accepted["response_breached"] is False
    trail = await events(client, t, ticket["id"])
    assert trail[-1]["action"] == "accept"
    assert trail[-1]["changes"]["first_response_at"][0] is None
    created = ts(ticket["created_at"])
    assert created is not None
    # Answered: the next instant that matters is the at-risk point, not the response deadline.
    expected_check = created + (240 * MIN) * FRACTION
    assert await column(db, ticket["id"], "sla_next_check_at") == expected_check

    # Arriving later is not a new first response.
    await act(client, t, ticket["id"], "arrive")
    assert ts((await read(client, t, ticket["id"]))["first_response_at"]) == first


async def test_late_accept_breaches_response_target_even_before_the_sweep(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=24 * 60)
    ticket = await create(client, t, "P2")
    await act(client, t, ticket["id"], "assign")
    # The response deadline passed a minute ago and no sweep has looked at the ticket yet.
    now = dt.datetime.now(dt.UTC)
    await set_columns(db, ticket["id"], response_due_at=now - MIN)

    accepted = await act(client, t, ticket["id"], "accept")

    assert accepted["response_breached"] is True
    assert accepted["sla_state"] == "breached"
    last = (await events(client, t, ticket["id"]))[-1]
    assert last["action"] == "accept"
    assert last["changes"]["sla_state"] == ["ok", "breached"]


async def test_hold_waiting_customer_pauses_and_resume_pushes_deadline_back(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    await walk(client, t, ticket["id"], "assign", "accept", "arrive")
    due_before = ts(ticket["resolution_due_at"])
    assert due_before is not None

    held = await act(client, t, ticket["id"], "hold", hold_kind="waiting_customer")

    assert held["status"] == "on_hold"
    assert held["on_hold_since"] is not None
    assert await column(db, ticket["id"], "sla_next_check_at") is None
    assert (await events(client, t, ticket["id"]))[-1]["changes"]["sla_paused"] is True

    # Three hours pass on hold.
    start = dt.datetime.now(dt.UTC)
    await set_columns(db, ticket["id"], on_hold_since=start - 3 * HOUR)
    resumed = await act(client, t, ticket["id"], "resume")
    end = dt.datetime.now(dt.UTC)

    assert resumed["status"] == "on_site"
    assert resumed["on_hold_since"] is None
    due_after = ts(resumed["resolution_due_at"])
    assert due_after is not None
    assert 3 * HOUR <= due_after - due_before <= 3 * HOUR + (end - start)
    paused = await column(db, ticket["id"], "paused_seconds")
    assert 3 * 3600 <= paused <= 3 * 3600 + (end - start).total_seconds()
    # The response deadline is not moved by a pause after the response.
    assert resumed["response_due_at"] == ticket["response_due_at"]
    last = (await events(client, t, ticket["id"]))[-1]
    assert last["action"] == "resume"
    assert ts(last["changes"]["resolution_due_at"]) == due_after
    assert await column(db, ticket["id"], "sla_next_check_at") is not None


async def test_resume_adds_only_business_time_held(db: AsyncSession) -> None:
    t = await make_tenant(db)
    row = await make_calendar(db, t, "Europe/London", OFFICE_HOURS)
    policy = await make_policy(db, t.org, "P1", response_minutes=60, resolution_minutes=8 * 60)
    policy.calendar_id = row.id
    await db.flush()
    assert t.customer is not None
    made = await make_ticket(db, t.actor("dispatcher"), t.customer, priority="P1")
    ticket = await db.get(Ticket, made.id, populate_existing=True)
    assert ticket is not None and ticket.sla_policy_id == policy.id
    ticket.resolution_due_at = utc(2026, 1, 12, 11, 0)  # Monday 11:00
    ticket.on_hold_since = utc(2026, 1, 9, 16, 0)  # Friday 16:00
    paused_before = ticket.paused_seconds

    # Resumed Monday 10:00: held one hour on Friday and one on Monday; the weekend is closed.
    await sla.resume(db, ticket, utc(2026, 1, 12, 10, 0))

    assert ticket.on_hold_since is None
    assert ticket.paused_seconds == paused_before + 2 * 3600
    assert ticket.resolution_due_at == utc(2026, 1, 12, 13, 0)


async def test_hold_waiting_parts_does_not_pause(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    await walk(client, t, ticket["id"], "assign", "accept", "arrive")

    held = await act(client, t, ticket["id"], "hold", hold_kind="waiting_parts")

    assert held["status"] == "on_hold"
    assert held["on_hold_since"] is None
    assert "sla_paused" not in (await events(client, t, ticket["id"]))[-1]["changes"]
    due = ts(ticket["resolution_due_at"])
    assert due is not None
    assert await column(db, ticket["id"], "sla_next_check_at") is not None
    # The clock kept running: the sweep breaches it while it waits for parts.
    await run_sweep(db, due + US)
    on_hold = await read(client, t, ticket["id"])
    assert on_hold["sla_state"] == "breached"
    assert on_hold["resolution_breached"] is True
    resumed = await act(client, t, ticket["id"], "resume")
    assert ts(resumed["resolution_due_at"]) == due
    assert await column(db, ticket["id"], "paused_seconds") == 0


async def test_paused_ticket_is_not_swept(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    await walk(client, t, ticket["id"], "assign", "accept", "arrive")
    await act(client, t, ticket["id"], "hold", hold_kind="waiting_customer")
    due = ts(ticket["resolution_due_at"])
    assert due is not None

    await run_sweep(db, due + dt.timedelta(days=3))

    still = await read(client, t, ticket["id"])
    assert still["sla_state"] == "ok"
    assert still["resolution_breached"] is False
    assert sla_events(await events(client, t, ticket["id"])) == []


# --- resolution --------------------------------------------------------------------------------


async def test_resolving_on_time_is_met(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")

    resolved = await walk(client, t, ticket["id"], "assign", "accept", "arrive", "resolve")

    assert resolved["status"] == "resolved"
    assert resolved["sla_state"] == "met"
    assert resolved["resolution_breached"] is False
    assert await column(db, ticket["id"], "sla_next_check_at") is None
    due = ts(ticket["resolution_due_at"])
    assert due is not None
    await run_sweep(db, due + dt.timedelta(days=1))
    assert (await read(client, t, ticket["id"]))["sla_state"] == "met"


async def test_resolving_late_is_breached(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    await walk(client, t, ticket["id"], "assign", "accept", "arrive")
    # The deadline passed a minute ago; no sweep has run since.
    await set_columns(db, ticket["id"], resolution_due_at=dt.datetime.now(dt.UTC) - MIN)

    resolved = await act(client, t, ticket["id"], "resolve")

    assert resolved["status"] == "resolved"
    assert resolved["sla_state"] == "breached"
    assert resolved["resolution_breached"] is True


async def test_reopening_a_met_ticket_puts_it_back_on_the_clock(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    await walk(client, t, ticket["id"], "assign", "accept", "arrive", "resolve")

    reopened = await act(client, t, ticket["id"], "reopen")

    assert reopened["status"] == "on_site"
    assert reopened["sla_state"] == "ok"
    assert reopened["resolved_at"] is None
    assert await column(db, ticket["id"], "sla_next_check_at") is not None


# --- the sweep ---------------------------------------------------------------------------------


async def test_sweep_marks_at_risk_then_breached_at_the_right_instants_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    await walk(client, t, ticket["id"], "assign", "accept")
    created, due = ts(ticket["created_at"]), ts(ticket["resolution_due_at"])
    assert created is not None and due is not None
    at_risk = created + (due - created) * FRACTION
    assert await column(db, ticket["id"], "sla_next_check_at") == at_risk

    await run_sweep(db, at_risk - US)
    assert (await read(client, t, ticket["id"]))["sla_state"] == "ok"
    assert sla_events(await events(client, t, ticket["id"])) == []

    assert await run_sweep(db, at_risk) >= 1
    assert (await read(client, t, ticket["id"]))["sla_state"] == "at_risk"
    assert await run_sweep(db, at_risk) == 0
    marked = sla_events(await events(client, t, ticket["id"]))
    assert [(e["kind"], e["changes"]["sla_state"]) for e in marked] == [
        ("sla_at_risk", ["ok", "at_risk"])
    ]
    assert marked[0]["actor"] == "system:sla"
    assert await column(db, ticket["id"], "sla_next_check_at") == due

    # At the deadline itself the ticket is still on time.
    await run_sweep(db, due)
    assert (await read(client, t, ticket["id"]))["sla_state"] == "at_risk"

    assert await run_sweep(db, due + US) >= 1
    assert await run_sweep(db, due + US) == 0
    await run_sweep(db, due + dt.timedelta(days=2))
    breached = await read(client, t, ticket["id"])
    assert breached["sla_state"] == "breached"
    assert breached["resolution_breached"] is True
    assert breached["response_breached"] is False
    marked = sla_events(await events(client, t, ticket["id"]))
    assert [(e["kind"], e["changes"]["sla_state"]) for e in marked] == [
        ("sla_at_risk", ["ok", "at_risk"]),
        ("sla_breached", ["at_risk", "breached"]),
    ]
    assert await column(db, ticket["id"], "sla_next_check_at") is None


async def test_sweep_breaches_unanswered_ticket_at_response_deadline(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    ticket = await create(client, t, "P2")
    response_due = ts(ticket["response_due_at"])
    assert response_due is not None

    await run_sweep(db, response_due)
    assert (await read(client, t, ticket["id"]))["sla_state"] == "ok"

    await run_sweep(db, response_due + US)
    await run_sweep(db, response_due + US)

    breached = await read(client, t, ticket["id"])
    assert breached["sla_state"] == "breached"
    assert breached["response_breached"] is True
    assert breached["resolution_breached"] is False
    marked = sla_events(await events(client, t, ticket["id"]))
    assert [(e["kind"], e["changes"]["sla_state"]) for e in marked] == [
        ("sla_breached", ["ok", "breached"])
    ]


async def test_breach_is_never_undone(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=240)
    await make_policy(db, t.org, "P3", response_minutes=48 * 60, resolution_minutes=96 * 60)
    ticket = await create(client, t, "P2")
    response_due = ts(ticket["response_due_at"])
    assert response_due is not None
    await run_sweep(db, response_due + US)
    assert (await read(client, t, ticket["id"]))["sla_state"] == "breached"

    # A laxer priority, a late answer, and a resolution inside the resolution target.
    resp = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"priority": "P3"},
        headers={**t.headers("dispatcher"), "If-Match": f'"v{ticket["version"]}"'},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["sla_state"] == "breached"
    accepted = await walk(client, t, ticket["id"], "assign", "accept")
    assert accepted["sla_state"] == "breached"
    resolved = await walk(client, t, ticket["id"], "arrive", "resolve")
    assert resolved["sla_state"] == "breached"
    assert resolved["response_breached"] is True
    reopened = await act(client, t, ticket["id"], "reopen")
    assert reopened["sla_state"] == "breached"
    assert len(sla_events(await events(client, t, ticket["id"]))) == 1


async def test_breach_survives_a_change_to_a_priority_without_policy(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P1", response_minutes=10, resolution_minutes=60)
    ticket = await create(client, t, "P1")
    created = ts(ticket["created_at"])
    assert created is not None
    await run_sweep(db, created + dt.timedelta(hours=2))
    assert (await read(client, t, ticket["id"]))["sla_state"] == "breached"

    resp = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"priority": "P4"},
        headers={**t.headers("dispatcher"), "If-Match": '"v1"'},
    )

    assert resp.status_code == 200, resp.text
    assert resp.json()["sla_state"] == "breached"
    assert resp.json()["resolution_due_at"] is None


async def test_priority_change_event_records_new_deadlines(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P1", response_minutes=10, resolution_minutes=60)
    await make_policy(db, t.org, "P3", response_minutes=600, resolution_minutes=6000)
    ticket = await create(client, t, "P3")
    resp = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"priority": "P1"},
        headers={**t.headers("dispatcher"), "If-Match": '"v1"'},
    )
    assert resp.status_code == 200
    updated = [e for e in await events(client, t, ticket["id"]) if e["kind"] == "updated"]
    assert len(updated) == 1
    changes = updated[0]["changes"]
    assert changes["priority"] == ["P3", "P1"]
    assert changes["resolution_due_at"][1] == resp.json()["resolution_due_at"].replace(
        "Z", "+00:00"
    )
