"""tickets.planning.set_slot: the planned slot's one write path."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Forbidden
from server.tickets import planning
from server.tickets.models import TicketEvent
from tests.fixtures.factories import make_tenant, make_ticket

START = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)


async def test_a_slot_is_written_once_with_one_event(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    version = ticket.version
    slot = {
        "planned_start": START,
        "planned_end": START + dt.timedelta(hours=1),
        "plan_position": 2,
        "planned_travel_seconds": 900,
    }
    for _ in range(2):  # the second time changes nothing
        await planning.set_slot(db, t.actor("dispatcher"), ticket_id=ticket.id, **slot)
        await db.flush()
    assert ticket.version == version + 1
    assert (ticket.planned_start, ticket.plan_position) == (START, 2)
    events = (
        await db.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "planned"
            )
        )
    ).all()
    assert len(events) == 1
    assert events[0].changes["planned_travel_seconds"] == [None, 900]
    assert events[0].changes["planned_start"] == [None, START.isoformat()]


@pytest.mark.parametrize("who", ["engineer1", "agent", "viewer"])
async def test_only_dispatchers_plan(db: AsyncSession, who: str) -> None:
    t = await make_tenant(db)
    assert t.customer is not None
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    with pytest.raises(Forbidden):
        await planning.set_slot(
            db,
            t.actor(who),
            ticket_id=ticket.id,
            planned_start=START,
            planned_end=None,
            plan_position=None,
            planned_travel_seconds=None,
        )
    count = await db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "planned")
    )
    assert count == 0
