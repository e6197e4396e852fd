"""Visits: check-in runs the arrival, is idempotent by the phone's id, and flags what a
dispatcher should look at (far from the site, a device clock far off) without refusing."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import service as field
from server.field.visits.service import distance_m
from server.tickets import service as tickets
from server.tickets.models import TicketEvent
from server.tickets.schemas import TransitionIn
from shared.ids import uuid7
from shared.lifecycle import Action
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.field.helpers import SITE, get, iso, now, on_site, post, travelling


def _visits(ticket_id: uuid.UUID) -> str:
    return f"/api/v1/tickets/{ticket_id}/visits"


async def test_check_in_arrives_and_records_the_visit(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    visit_id, when = uuid7(), now() - dt.timedelta(seconds=20)
    body = {"visit_id": str(visit_id), "device_time": iso(when), "gps": SITE}
    response = await post(client, t, "engineer1", _visits(ticket.id), body)
    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["id"] == str(visit_id) and visit["number"] == 1
    assert visit["engineer_id"] == str(t.engineers[0].id)
    check = visit["check_in"]
    assert check["distance_m"] == 0.0 and check["far_from_site"] is False
    assert check["clock_skew"] is False and -60 < check["clock_offset_s"] < 0
    assert dt.datetime.fromisoformat(check["device_time"]) == when
    assert visit["check_out"] is None
    wo = await get(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}")
    assert wo["status"] == "on_site" and wo["first_response_at"] is not None
    actions = await db.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id))
    assert "arrive" in list(actions)


async def test_the_same_check_in_twice_is_one_visit_and_a_different_one_is_409(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    body = {"visit_id": str(uuid7()), "device_time": iso(now()), "gps": SITE}
    first = await post(client, t, "engineer1", _visits(ticket.id), body)
    again = await post(client, t, "engineer1", _visits(ticket.id), body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(await get(client, t, "engineer1", _visits(ticket.id))) == 1
    moved = {**body, "gps": {**SITE, "lat": 31.3}}
    clash = await post(client, t, "engineer1", _visits(ticket.id), moved)
    assert clash.status_code == 409
    assert clash.json()["code"] == "client_id_reused" and clash.json()["fields"] == ["gps"]
    # The same id on another work order is another record: refused too.
    other = await travelling(db, t)
    elsewhere = await post(client, t, "engineer1", _visits(other.id), body)
    assert elsewhere.status_code == 409 and elsewhere.json()["fields"] == ["work_order_id"]


def test_haversine_distance() -> None:
    # One degree of latitude is about 111.2 km; Shanghai to Beijing about 1,068 km.
    assert distance_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(31.23, 121.47, 39.9, 116.4) == pytest.approx(1_068_000, rel=0.01)


@pytest.mark.parametrize(
    ("gps", "distance", "far"),
    [
        ({"lat": 31.234, "lon": 121.47, "accuracy_m": 10}, 445, False),  # inside 500 m
        ({"lat": 31.248, "lon": 121.47, "accuracy_m": 10}, 2002, True),  # 2 km away
        ({"lat": 31.23, "lon": 121.47, "accuracy_m": 900}, 0, True),  # too vague to tell
        (None, None, False),  # nothing to compare: distance null, not flagged
    ],
)
async def test_far_from_site_is_flagged_not_refused(
    client: httpx.AsyncClient,
    db: AsyncSession,
    gps: dict[str, float] | None,
    distance: int | None,
    far: bool,
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    body = {"visit_id": str(uuid7()), "device_time": iso(now()), "gps": gps}
    response = await post(client, t, "engineer1", _visits(ticket.id), body)
    assert response.status_code == 201, response.text
    check = response.json()["check_in"]
    if distance is None:
        assert check["distance_m"] is None
    else:
        assert check["distance_m"] == pytest.approx(distance, abs=5)
    assert check["far_from_site"] is far


@pytest.mark.parametrize(
    ("offset_minutes", "skew"), [(30, True), (-45, True), (2, False), (-9, False)]
)
async def test_clock_skew_keeps_the_device_time_and_flags_large_offsets(
    client: httpx.AsyncClient, db: AsyncSession, offset_minutes: int, skew: bool
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    device = now() + dt.timedelta(minutes=offset_minutes)
    body = {"visit_id": str(uuid7()), "device_time": iso(device), "gps": SITE}
    response = await post(client, t, "engineer1", _visits(ticket.id), body)
    check = response.json()["check_in"]
    assert check["clock_skew"] is skew
    assert check["clock_offset_s"] == pytest.approx(offset_minutes * 60, abs=30)
    assert dt.datetime.fromisoformat(check["device_time"]) == device


async def test_a_measured_clock_offset_wins_over_the_delay(db: AsyncSession) -> None:
    """A check-in pushed three hours late by a phone whose clock is right is no skew."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    record = await field.check_in(
        db,
        t.actor("engineer1"),
        ticket_id=ticket.id,
        visit_id=uuid7(),
        device_time=iso(now() - dt.timedelta(hours=3)),
        clock_offset_s=1.5,
    )
    assert record.check_in.clock_offset_s == 1.5 and record.check_in.clock_skew is False


async def test_check_in_needs_the_work_order_accepted(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    body = {"visit_id": str(uuid7()), "device_time": iso(now())}
    response = await post(client, t, "engineer1", _visits(ticket.id), body)
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "check_in_not_allowed" and problem["current_status"] == "assigned"
    assert "travelling" in problem["allowed_statuses"]
    assert await get(client, t, "engineer1", _visits(ticket.id)) == []


async def test_a_check_in_after_the_office_cancelled_is_kept_and_announced(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The engineer went while offline; the office cancelled meanwhile. The visit and what
    hangs on it are evidence: recorded, no transition, an event for the office."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    await tickets.apply_transition(
        db,
        t.actor("dispatcher"),
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.CANCEL, reason="customer called it off"),
    )
    await db.flush()
    visit_id = uuid7()
    body = {"visit_id": str(visit_id), "device_time": iso(now()), "gps": SITE}
    response = await post(client, t, "engineer1", _visits(ticket.id), body)
    assert response.status_code == 201, response.text
    wo = await get(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}")
    assert wo["status"] == "cancelled"
    labour = {
        "entry_id": str(uuid7()),
        "visit_id": str(visit_id),
        "kind": "work",
        "started_at": iso(now() - dt.timedelta(minutes=30)),
        "ended_at": iso(now()),
    }
    added = await post(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}/labour", labour)
    assert added.status_code == 201, added.text
    events = await db.scalars(
        select(TicketEvent.changes).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "field_after_cancel"
        )
    )
    assert [e["visit_id"] for e in events] == [str(visit_id)]


async def test_a_work_order_cancelled_before_it_was_assigned_takes_no_check_in(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A check-in after cancellation is kept for the engineer who was assigned. A work order
    cancelled before anyone was assigned has no such engineer: a dispatcher (who may check
    in on an engineer's behalf) naming it gets 409, not a 500."""
    t = await make_tenant(db)
    assert t.customer and t.site
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, t.asset)
    await tickets.apply_transition(
        db,
        t.actor("dispatcher"),
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.CANCEL, reason="duplicate"),
    )
    await db.flush()
    body = {"visit_id": str(uuid7()), "device_time": iso(now()), "gps": SITE}
    for who in ("dispatcher", "admin"):
        response = await post(client, t, who, _visits(ticket.id), body)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "check_in_not_allowed"
        assert response.json()["current_status"] == "cancelled"
    assert await get(client, t, "dispatcher", _visits(ticket.id)) == []
    # Cancelled after assignment: the dispatcher's check-in is kept, as the engineer's visit.
    assigned = await travelling(db, t)
    await tickets.apply_transition(
        db,
        t.actor("dispatcher"),
        ticket_id=assigned.id,
        data=TransitionIn(action=Action.CANCEL, reason="customer called it off"),
    )
    await db.flush()
    kept = await post(client, t, "dispatcher", _visits(assigned.id), body)
    assert kept.status_code == 201, kept.text
    assert kept.json()["engineer_id"] == str(t.engineers[0].id)


async def test_one_open_visit_at_a_time_then_a_second_visit_resumes_the_hold(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket, first = await on_site(db, t)
    body = {"visit_id": str(uuid7()), "device_time": iso(now())}
    busy = await post(client, t, "engineer1", _visits(ticket.id), body)
    assert busy.status_code == 409 and busy.json()["code"] == "visit_open"
    assert busy.json()["open_visit_id"] == str(first.id)
    out = f"{_visits(ticket.id)}/{first.id}/check-out"
    checked_out = await post(client, t, "engineer1", out, {"device_time": iso(now())})
    assert checked_out.status_code == 200 and checked_out.json()["check_out"] is not None
    await field.hold(
        db, t.actor("engineer1"), ticket_id=ticket.id, waiting_for="parts", reason="Valve"
    )
    second = await post(client, t, "engineer1", _visits(ticket.id), body)
    assert second.status_code == 201 and second.json()["number"] == 2
    wo = await get(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}")
    assert wo["status"] == "on_site"


async def test_check_out_once_per_visit(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    url = f"{_visits(ticket.id)}/{visit.id}/check-out"
    body = {"device_time": iso(now()), "gps": SITE}
    first = await post(client, t, "engineer1", url, body)
    again = await post(client, t, "engineer1", url, body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    later = await post(client, t, "engineer1", url, {**body, "device_time": iso(now())})
    assert later.status_code == 409 and later.json()["fields"] == ["device_time"]
    # A visit of another work order is not found through this one.
    other, _ = await on_site(db, t)
    wrong = await post(client, t, "engineer1", f"{_visits(other.id)}/{visit.id}/check-out", body)
    assert wrong.status_code == 404


async def test_visits_are_invisible_to_other_engineers_and_organisations(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    other_org = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    body = {"visit_id": str(uuid7()), "device_time": iso(now())}
    for tenant, who in ((t, "engineer2"), (other_org, "engineer1"), (other_org, "admin")):
        response = await post(client, tenant, who, _visits(ticket.id), body)
        assert response.status_code == 404, (who, response.text)
        read = await client.get(f"{_visits(ticket.id)}/{visit.id}", headers=tenant.headers(who))
        assert read.status_code == 404
    refused = await post(client, t, "agent", _visits(ticket.id), body)
    assert refused.status_code == 403
    assert (await get(client, t, "viewer", f"{_visits(ticket.id)}/{visit.id}"))["number"] == 1


async def test_first_time_fix_counts_the_visits(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    engineer = t.actor("engineer1")
    once, _ = await on_site(db, t)
    summary = await get(client, t, "dispatcher", f"/api/v1/tickets/{once.id}/field-summary")
    assert summary["visit_count"] == 1 and summary["first_time_fix"] is None
    await field.resolve(db, engineer, ticket_id=once.id, resolution_code="FIXED", summary="ok")
    await db.flush()
    summary = await get(client, t, "dispatcher", f"/api/v1/tickets/{once.id}/field-summary")
    assert summary["first_time_fix"] is True and summary["open_visit_id"] is not None

    twice, first = await on_site(db, t)
    await field.check_out(db, engineer, visit_id=first.id, device_time=now())
    await field.hold(db, engineer, ticket_id=twice.id, waiting_for="customer", reason="Locked out")
    await field.check_in(db, engineer, ticket_id=twice.id, visit_id=uuid7(), device_time=now())
    await field.resolve(db, engineer, ticket_id=twice.id, resolution_code="FIXED", summary="ok")
    await db.flush()
    summary = await get(client, t, "dispatcher", f"/api/v1/tickets/{twice.id}/field-summary")
    assert summary["visit_count"] == 2 and summary["first_time_fix"] is False


async def test_check_ins_cannot_be_edited_in_the_database(db: AsyncSession) -> None:
    t = await make_tenant(db)
    _, visit = await on_site(db, t)
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(
                text("UPDATE visit_checks SET far_from_site = false WHERE visit_id = :v"),
                {"v": visit.id},
            )
