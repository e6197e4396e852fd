"""Two sweeps and two deliveries of the SLA event at once, in real concurrent committing
transactions: the work order takes its next step exactly once (engine.py locks the work
order first; the sweep skips one another worker holds)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import session_scope
from server.escalation import engine
from server.escalation.models import TicketEscalation
from server.events import OutboxEvent
from server.tickets import TicketEvent
from tests.server.escalation.helpers import p1_ticket, world


async def test_concurrent_sweeps_and_handlers_take_one_step(
    app: Any, committing_db: AsyncSession
) -> None:
    w = await world(committing_db)
    ticket = await p1_ticket(committing_db, w)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    committing_db.add(
        TicketEscalation(
            org_id=w.t.org.id,
            ticket_id=ticket.id,
            level=1,
            trigger="at_risk",
            action="notify",
            owner="agent",
            owner_user_id=w.t.users["agent"].id,
            reason="SLA at risk",
            reached_at=past,
            due_at=past + dt.timedelta(minutes=30),
            next_check_at=past + dt.timedelta(minutes=30),
        )
    )
    await committing_db.commit()
    maker = app.state.sessionmaker
    event = OutboxEvent(org_id=w.t.org.id, topic="ticket.sla_at_risk", aggregate_id=ticket.id)

    async def sweep() -> None:
        async with session_scope(maker) as session:
            await engine.sweep(session, now=dt.datetime.now(dt.UTC))

    async def deliver() -> None:
        async with session_scope(maker) as session:
            await engine.on_sla_event(session, event)

    await asyncio.gather(sweep(), deliver(), sweep(), deliver())
    levels = await committing_db.scalars(
        select(TicketEscalation.level)
        .where(TicketEscalation.ticket_id == ticket.id)
        .order_by(TicketEscalation.level)
    )
    assert list(levels) == [1, 2]
    escalated = await committing_db.scalar(
        select(func.count()).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "escalated"
        )
    )
    assert escalated == 1
