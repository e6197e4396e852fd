"""The escalation engine: which step a work order takes next, and taking it.

A work order's escalation is the steps it reached (``ticket_escalations``, one row per
level; the highest is the current one). The next step of its priority's policy is taken
when, and only while, the work order is open (not resolved, closed or cancelled):

- its trigger holds: ``at_risk`` (the SLA is at risk or breached), ``breached``, or
  ``<n>`` minutes have passed since the current step was reached; or
- the current step's due time passed and its owner did not resolve the work order.

An acknowledged step (its owner said "I am on it") holds the escalation until its due
time: triggers wait; at the due time the next step is taken as usual.

Every step taken is a row and an audit event ``escalated`` (outbox ``ticket.escalated``,
the owner is told). Everything here locks the work order first (the handlers of
``ticket.sla_at_risk``/``ticket.sla_breached``, the sweep, the lifecycle listeners), and
a level is unique per work order, so re-running any of them takes no step twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.escalation import owners, policies
from server.escalation.models import TicketEscalation
from server.events import OutboxEvent
from server.tickets import Ticket, TransitionIn, audit
from shared.lifecycle import Status

log = logging.getLogger("fixflow.escalation")

ACTOR = "system:escalation"
DONE = frozenset({Status.RESOLVED.value, Status.CLOSED.value, Status.CANCELLED.value})
_AT_RISK = frozenset({"at_risk", "breached"})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def steps_reached(session: AsyncSession, ticket: Ticket) -> list[TicketEscalation]:
    rows = await session.scalars(
        select(TicketEscalation)
        .where(TicketEscalation.org_id == ticket.org_id, TicketEscalation.ticket_id == ticket.id)
        .order_by(TicketEscalation.level)
    )
    return list(rows)


async def current(session: AsyncSession, ticket: Ticket) -> TicketEscalation | None:
    row: TicketEscalation | None = await session.scalar(
        select(TicketEscalation)
        .where(TicketEscalation.org_id == ticket.org_id, TicketEscalation.ticket_id == ticket.id)
        .order_by(TicketEscalation.level.desc())
        .limit(1)
    )
    return row


def _breached(ticket: Ticket) -> bool:
    return ticket.sla_state == "breached" or ticket.resolution_breached or ticket.response_breached


def _trigger_reason(
    step: dict[str, Any], ticket: Ticket, cur: TicketEscalation | None, now: dt.datetime
) -> str | None:
    trigger = step["trigger"]
    if trigger == "at_risk":
        return "SLA at risk" if ticket.sla_state in _AT_RISK or _breached(ticket) else None
    if trigger == "breached":
        return "SLA breached" if _breached(ticket) else None
    if cur is not None and now >= cur.reached_at + dt.timedelta(minutes=int(trigger)):
        return f"{trigger} minutes after level {cur.level}"
    return None


def _ready(
    step: dict[str, Any], ticket: Ticket, cur: TicketEscalation | None, now: dt.datetime
) -> str | None:
    """Why ``step`` is to be taken now (None: not yet)."""
    if cur is not None:
        if cur.ended_at is not None:
            return None
        if now >= cur.due_at:
            return f"level {cur.level} not resolved by its due time"
        if cur.acknowledged_at is not None:
            return None  # acknowledged: the next step waits for the due time
    return _trigger_reason(step, ticket, cur, now)


def next_check(
    cur: TicketEscalation, steps: list[dict[str, Any]], ticket: Ticket
) -> dt.datetime | None:
    """When the sweep must look at the current step again (None: never)."""
    if ticket.status in DONE:
        return None
    return _check_at(cur, steps)


def _check_at(cur: TicketEscalation, steps: list[dict[str, Any]]) -> dt.datetime | None:
    if cur.ended_at is not None or cur.level >= len(steps):
        return None
    trigger = steps[cur.level]["trigger"]
    if isinstance(trigger, int) and cur.acknowledged_at is None:
        return min(cur.due_at, cur.reached_at + dt.timedelta(minutes=trigger))
    return cur.due_at


async def advance(
    session: AsyncSession, ticket: Ticket, *, now: dt.datetime | None = None
) -> list[TicketEscalation]:
    """Take every step that is due for ``ticket`` (locked by the caller); returns them."""
    now = now or _now()
    steps = await policies.steps_for(session, ticket.org_id, ticket.priority)
    cur = await current(session, ticket)
    taken: list[TicketEscalation] = []
    while ticket.status not in DONE:
        level = cur.level if cur is not None else 0
        if level >= len(steps):
            break
        reason = _ready(steps[level], ticket, cur, now)
        if reason is None:
            break
        made = await _take(session, ticket, steps[level], level + 1, reason, now)
        if made is None:  # someone else took it (the unique level): read theirs
            cur = await current(session, ticket)
            break
        if cur is not None:
            cur.next_check_at = None
        cur = made
        taken.append(made)
    if cur is not None:
        cur.next_check_at = next_check(cur, steps, ticket)
    return taken


async def _take(
    session: AsyncSession,
    ticket: Ticket,
    step: dict[str, Any],
    level: int,
    reason: str,
    now: dt.datetime,
) -> TicketEscalation | None:
    owner_user_id = await owners.step_owner(session, ticket.org_id, step["owner"])
    due_at = now + dt.timedelta(minutes=int(step["due_minutes"]))
    made: TicketEscalation | None = await session.scalar(
        insert(TicketEscalation)
        .values(
            org_id=ticket.org_id,
            ticket_id=ticket.id,
            level=level,
            trigger=str(step["trigger"]),
            action=step["action"],
            owner=step["owner"],
            owner_user_id=owner_user_id,
            reason=reason,
            reached_at=now,
            due_at=due_at,
        )
        .on_conflict_do_nothing(index_elements=["ticket_id", "level"])
        .returning(TicketEscalation)
    )
    if made is None:
        return None
    changes = {
        "level": level,
        "owner_user_id": str(owner_user_id) if owner_user_id else None,
        "owner": step["owner"],
        "due_at": due_at.isoformat(),
        "step_action": step["action"],
        "reason": reason,
    }
    audit.record(session, ticket, kind="escalated", actor=ACTOR, changes=changes)
    return made


async def _locked_ticket(
    session: AsyncSession, org_id: uuid.UUID, ticket_id: uuid.UUID
) -> Ticket | None:
    ticket: Ticket | None = await session.scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id, Ticket.org_id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return ticket


async def on_sla_event(session: AsyncSession, event: OutboxEvent) -> None:
    """``ticket.sla_at_risk`` / ``ticket.sla_breached``: take what is due (idempotent)."""
    if event.aggregate_id is None:
        return
    ticket = await _locked_ticket(session, event.org_id, event.aggregate_id)
    if ticket is not None:
        await advance(session, ticket)


async def sweep(session: AsyncSession, *, now: dt.datetime, limit: int = 200) -> int:
    """Take the steps whose time came, across organisations; returns the steps taken.
    Work orders another worker holds are skipped (SKIP LOCKED); re-runs take nothing twice."""
    due = select(TicketEscalation.ticket_id).where(
        TicketEscalation.next_check_at.is_not(None), TicketEscalation.next_check_at <= now
    )
    tickets = await session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(due))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    taken = 0
    for ticket in list(tickets):
        taken += len(await advance(session, ticket, now=now))
    return taken


async def stop(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> dict[str, Any]:
    """Listener of resolve, close and cancel: no further steps."""
    cur = await current(session, ticket)
    if cur is None or cur.ended_at is not None:
        return {}
    cur.ended_at = _now()
    cur.next_check_at = None
    return {"escalation_stopped": cur.level}


async def resume(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> dict[str, Any]:
    """Listener of reopen: the current step runs again, its due time counted afresh."""
    cur = await current(session, ticket)
    if cur is None or cur.ended_at is None:
        return {}
    now = _now()
    cur.due_at = now + (cur.due_at - cur.reached_at)
    cur.reached_at, cur.ended_at, cur.acknowledged_at, cur.acknowledged_by = now, None, None, None
    steps = await policies.steps_for(session, ticket.org_id, ticket.priority)
    cur.next_check_at = _check_at(cur, steps)  # the work order is still resolved here
    return {"escalation_resumed": cur.level, "escalation_due_at": cur.due_at.isoformat()}
