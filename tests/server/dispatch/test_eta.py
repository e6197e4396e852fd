"""The ETA a customer is shown (server/dispatch/eta.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server import dispatch
from server.dispatch.travel import Haversine
from server.field import Visit, VisitCheck
from server.tickets import TransitionIn
from server.tickets import service as tickets
from shared.ids import uuid7
from shared.lifecycle import Action
from tests.fixtures.factories import make_tenant, make_ticket

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


async def _move(db: AsyncSession, t: object, ticket: object, who: str, *actions: Action) -> None:
    for action in actions:
        await tickets.apply_transition(
            db,
            t.actor(who),  # type: ignore[attr-defined]
            ticket_id=ticket.id,  # type: ignore[attr-defined]
            data=TransitionIn(action=action),
        )
    await db.flush()


async def test_planned_then_travelling_then_on_site(db: AsyncSession) -> None:
    t = await make_tenant(db)
    engineer = t.engineers[0]
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, assign_to=engineer)
    assert await dispatch.eta(db, ticket, now=NOW) is None  # nothing planned yet
    ticket.planned_start = NOW + dt.timedelta(hours=2)
    planned = await dispatch.eta(db, ticket, now=NOW)
    assert planned == dispatch.Eta(at=NOW + dt.timedelta(hours=2), basis="planned")

    await _move(db, t, ticket, "engineer1", Action.ACCEPT, Action.START_TRAVEL)
    # No check-in yet: from home (31.2, 121.5) to the site (31.23, 121.47).
    travel = Haversine(road_factor=1.3, speed_kmh=40)
    home = await dispatch.eta(db, ticket, travel=travel)
    seconds = travel.arrays([(31.2, 121.5), (31.23, 121.47)])[0][0][1]
    assert home is not None and home.basis == "travel" and home.travel_seconds == seconds

    # A check-in elsewhere today is the last known position; far away, so the ETA moves.
    visit = Visit(
        id=uuid7(),
        org_id=t.org.id,
        ticket_id=ticket.id,
        engineer_id=engineer.id,
        number=1,
        created_by="test",
        received_at=NOW,
    )
    db.add(visit)
    await db.flush()
    db.add(
        VisitCheck(
            visit_id=visit.id,
            kind="out",
            org_id=t.org.id,
            device_time=dt.datetime.now(dt.UTC),
            received_at=dt.datetime.now(dt.UTC),
            clock_offset_s=0,
            clock_skew=False,
            lat=31.5,
            lon=121.9,
            far_from_site=False,
            recorded_by="test",
        )
    )
    await db.flush()
    far = await dispatch.eta(db, ticket, travel=travel)
    assert far is not None and far.travel_seconds is not None and far.travel_seconds > seconds

    # Running late: never in the past.
    late = await dispatch.eta(db, ticket, now=NOW + dt.timedelta(days=3), travel=travel)
    assert late is not None and late.at == NOW + dt.timedelta(days=3, minutes=5)

    await _move(db, t, ticket, "engineer1", Action.ARRIVE)
    assert await dispatch.eta(db, ticket, travel=travel) is None
