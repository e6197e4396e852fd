"""A work order's escalation as callers see it: read it, acknowledge it, list one's own.

Anyone who may see the work order may read its escalation (an engineer: their own work
orders). The current step's owner, or an admin, acknowledges it (engine.py: the next step
then waits for the due time). ``mine`` lists the open escalations whose current step the
caller owns, soonest due first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.auth import Actor
from server.crud import keyset_page
from server.errors import Conflict, Forbidden
from server.escalation import engine, policies
from server.escalation.models import TicketEscalation
from server.pagination import Page
from server.tickets import Ticket, audit, format_number, visible_tickets
from server.tickets import service as tickets


class NoActiveEscalation(Conflict):
    code, title = "no_active_escalation", "The work order is not escalated"


@dataclass
class Escalation:
    ticket: Ticket
    steps: list[TicketEscalation]
    policy_steps: list[dict[str, Any]]

    @property
    def current(self) -> TicketEscalation | None:
        return self.steps[-1] if self.steps else None

    @property
    def next_step(self) -> dict[str, Any] | None:
        level = len(self.steps)
        active = self.current is None or self.current.ended_at is None
        if not active or level >= len(self.policy_steps) or self.ticket.status in engine.DONE:
            return None
        return self.policy_steps[level]


async def read(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Escalation:
    ticket = await tickets.get(session, actor, ticket_id=ticket_id)
    return await _escalation(session, ticket)


async def _escalation(session: AsyncSession, ticket: Ticket) -> Escalation:
    steps = await engine.steps_reached(session, ticket)
    policy = await policies.steps_for(session, ticket.org_id, ticket.priority)
    return Escalation(ticket, steps, policy)


async def acknowledge(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Escalation:
    """The owner takes the current step on: further steps wait for its due time. Again: no
    change."""
    ticket = await tickets.get(session, actor, ticket_id=ticket_id, for_update=True)
    cur = await engine.current(session, ticket)
    if cur is None or cur.ended_at is not None or ticket.status in engine.DONE:
        raise NoActiveEscalation(f"{format_number(ticket.number)} is not escalated")
    if actor.user_id is None or (actor.user_id != cur.owner_user_id and not actor.is_admin):
        raise Forbidden("only the current step's owner (or an admin) can acknowledge it")
    if cur.acknowledged_at is None:
        cur.acknowledged_at = dt.datetime.now(dt.UTC)
        cur.acknowledged_by = actor.user_id
        policy = await policies.steps_for(session, ticket.org_id, ticket.priority)
        cur.next_check_at = engine.next_check(cur, policy, ticket)
        audit.record(
            session,
            ticket,
            kind="escalation_acknowledged",
            actor=actor.label,
            changes={"level": cur.level, "due_at": cur.due_at.isoformat()},
        )
    return await _escalation(session, ticket)


async def mine(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None
) -> tuple[Page[TicketEscalation], dict[uuid.UUID, Ticket]]:
    """The caller's open escalations (the current step of an open work order), with their
    work orders."""
    if actor.user_id is None:
        return Page(items=[], next_cursor=None), {}
    later = aliased(TicketEscalation)
    query = (
        select(TicketEscalation)
        .join(Ticket, Ticket.id == TicketEscalation.ticket_id)
        .where(
            TicketEscalation.org_id == actor.org_id,
            TicketEscalation.owner_user_id == actor.user_id,
            TicketEscalation.ended_at.is_(None),
            Ticket.status.not_in(engine.DONE),
            visible_tickets(actor),
            ~exists().where(
                and_(
                    later.ticket_id == TicketEscalation.ticket_id,
                    later.level > TicketEscalation.level,
                )
            ),
        )
    )
    page: Page[TicketEscalation] = await keyset_page(
        session,
        query,
        sort_column=TicketEscalation.due_at,
        id_column=TicketEscalation.id,
        limit=limit,
        cursor=cursor,
    )
    ids = [row.ticket_id for row in page.items]
    found = list(await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))) if ids else []
    return page, {t.id: t for t in found}
