"""A tenant with the people escalation needs: a second-line expert and a service manager."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Role, User
from server.events import OutboxEvent
from server.tickets import Ticket, TransitionIn
from server.tickets import service as tickets
from server.tickets.sla import sweep as sla_sweep
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_policy, make_tenant, make_ticket, make_user


@dataclass
class World:
    t: Tenant
    second: User
    manager: User


async def world(db: AsyncSession) -> World:
    t = await make_tenant(db, "Escalating")
    second = await make_user(db, t.org, Role.DISPATCHER)
    second.duties = ["second_line"]
    manager = await make_user(db, t.org, Role.DISPATCHER)
    manager.duties = ["service_manager"]
    await make_policy(db, t.org, "P1", response_minutes=480, resolution_minutes=480)
    await db.flush()
    return World(t, second, manager)


async def p1_ticket(db: AsyncSession, w: World, **fields: Any) -> Ticket:
    t = w.t
    assert t.customer is not None
    return await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, priority="P1", **fields)


async def sla_at(db: AsyncSession, ticket: Ticket, minutes: float) -> None:
    """Run the SLA sweep as if ``minutes`` had passed since the work order was made."""
    now = ticket.created_at + dt.timedelta(minutes=minutes)
    await sla_sweep(db, now=now, at_risk_fraction=0.8)


async def outbox(db: AsyncSession, topic: str, aggregate_id: Any) -> list[OutboxEvent]:
    rows = await db.scalars(
        select(OutboxEvent).where(
            OutboxEvent.topic == topic, OutboxEvent.aggregate_id == aggregate_id
        )
    )
    return list(rows)


async def run(db: AsyncSession, t: Tenant, ticket: Ticket, who: str, *actions: Action) -> None:
    for action in actions:
        await tickets.apply_transition(
            db, t.actor(who), ticket_id=ticket.id, data=TransitionIn(action=action)
        )


async def resolve(db: AsyncSession, t: Tenant, ticket: Ticket) -> None:
    """Assign to engineer1 and take the work order to resolved."""
    await tickets.apply_transition(
        db,
        t.actor("dispatcher"),
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.ASSIGN, engineer_id=t.engineers[0].id),
    )
    steps = (Action.ACCEPT, Action.START_TRAVEL, Action.ARRIVE, Action.RESOLVE)
    await run(db, t, ticket, "engineer1", *steps)
    await db.flush()  # the HTTP requests of the test read through their own session
