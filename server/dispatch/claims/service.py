"""The claim pool (抢单): open, list, claim.

- **Open / close** (admins, dispatchers, integration keys): only a ``new`` work order is
  opened (409 ``ticket_not_new``); each change is an ``updated`` event with
  ``open_for_claim`` in its changes (and its outbox twin). Opening an open one, or closing
  a closed one, changes nothing and writes nothing.
- **List** (engineers): the open work orders the caller qualifies for
  (``eligibility.reasons`` empty on the job's date), the most urgent first, at most
  ``POOL_LIMIT``.
- **Claim** (engineers): exactly one winner. The work order's row is locked while it is
  still open (``SELECT ... WHERE open_for_claim AND status = 'new' FOR UPDATE``) and
  eligibility is checked under the lock, so concurrent claimers wait for the lock holder
  and see its commit: the first finds it open and takes it; the others find it no longer
  matching (not locked, so they do not queue behind each other) and answer 409
  ``already_claimed`` ("another engineer claimed WO-000123 first", never who). Taking it
  runs the tickets service's own transitions, ``assign`` (to the claimer, in the
  claimer's name, reason "claimed from the pool") then ``accept`` by the claimer: two
  events, two outbox rows. The assign leaves the pool and pins the work order
  (server/dispatch/declines.py): the day planner never moves a claimed job.

Refusals: a work order of another organisation or none at all is 404; one not open (never
opened, closed again, assigned by a dispatcher, cancelled) 409 ``not_open_for_claim``; an
engineer who does not qualify 409 ``not_eligible`` with ``reasons`` (the codes of
eligibility.py, the vocabulary the recommendation shares) and ``explanations`` (each
code with its ``text`` in the caller's language: recommend/explain.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.auth import service as auth_service
from server.dispatch import declines, eligibility, snapshot
from server.dispatch.errors import WindowPassed
from server.dispatch.recommend import Reason, explain
from server.errors import Conflict, Forbidden, NotFound
from server.tickets import Ticket, TicketEvent, TransitionIn, audit, format_number
from server.tickets import service as tickets
from shared.lifecycle import Action, Status

POOL_LIMIT = 100
# The pool's work orders read to find POOL_LIMIT the caller qualifies for.
POOL_SCAN = 1000
CLAIM_REASON = "claimed from the pool"


class TicketNotNew(Conflict):
    code, title = "ticket_not_new", "Only a new work order can be opened for claim"


class NotOpenForClaim(Conflict):
    code, title = "not_open_for_claim", "The work order is not open for claim"


class AlreadyClaimed(Conflict):
    code, title = "already_claimed", "The work order was claimed first by someone else"


class NotEligible(Conflict):
    code, title = "not_eligible", "You do not qualify for this work order"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _set_open(session: AsyncSession, actor: Actor, ticket: Ticket, value: bool) -> Ticket:
    if ticket.open_for_claim == value:
        return ticket
    ticket.open_for_claim = value
    ticket.version += 1
    ticket.updated_at = _now()
    audit.record(
        session,
        ticket,
        kind="updated",
        actor=actor.label,
        changes={"open_for_claim": [not value, value]},
    )
    return ticket


async def open_for_claim(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Ticket:
    actor.require_manager("open work orders for claim")
    ticket = await tickets.get(session, actor, ticket_id=ticket_id, for_update=True)
    if ticket.status != Status.NEW.value:
        raise TicketNotNew(
            f"{format_number(ticket.number)} is {ticket.status}; only a new work order "
            "can be opened for claim",
            current_status=ticket.status,
        )
    if ticket.window_end is not None and ticket.window_end <= _now():
        raise WindowPassed(
            f"{format_number(ticket.number)}'s appointment window ended at "
            f"{ticket.window_end.isoformat()}: nobody could claim it; give it a new window "
            "first",
            window_end=ticket.window_end.isoformat(),
        )
    return await _set_open(session, actor, ticket, True)


async def close_claim(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Ticket:
    actor.require_manager("take work orders out of the claim pool")
    ticket = await tickets.get(session, actor, ticket_id=ticket_id, for_update=True)
    return await _set_open(session, actor, ticket, False)


def _engineer(actor: Actor, what: str) -> uuid.UUID:
    if not actor.is_engineer or actor.engineer_id is None:
        raise Forbidden(f"only engineers {what}")
    return actor.engineer_id


async def _day(
    session: AsyncSession, actor: Actor, engineer_id: uuid.UUID, date: dt.date, tz: ZoneInfo
) -> snapshot.EngineerDay:
    days = await snapshot.engineer_days(
        session, actor.org_id, date, engineer_ids=[engineer_id], tz=tz
    )
    if not days:
        raise Forbidden("your engineer profile is inactive")
    return days[0]


async def pool(session: AsyncSession, actor: Actor) -> list[snapshot.Job]:
    """The open work orders the calling engineer qualifies for."""
    engineer_id = _engineer(actor, "have a claim pool")
    jobs = await snapshot.pool_jobs(session, actor.org_id, limit=POOL_SCAN)
    if not jobs:
        return []
    tz, now = await snapshot.zone(session, actor.org_id), _now()
    days: dict[dt.date, snapshot.EngineerDay] = {}
    out = []
    for job in jobs:
        date = eligibility.job_date(job, tz, now)
        if date not in days:
            days[date] = await _day(session, actor, engineer_id, date, tz)
        if not eligibility.reasons(days[date], job):
            out.append(job)
            if len(out) == POOL_LIMIT:
                break
    return out


async def _lock_open(session: AsyncSession, actor: Actor, ticket_id: uuid.UUID) -> Ticket | None:
    """The work order, locked, if it is open for claim; else None, without waiting for more
    than the current lock holder: PostgreSQL re-checks the condition on the row as the
    holder left it and skips a row that no longer matches without locking it, so the losers
    of a race do not queue behind one another, only behind the winner."""
    # Not tickets.get: a pool's work order is nobody's yet, so an engineer's usual rule
    # (only their own work) would hide it. The organisation still bounds it.
    return await session.scalar(
        select(Ticket)
        .where(
            Ticket.id == ticket_id,
            Ticket.org_id == actor.org_id,
            Ticket.open_for_claim.is_(True),
            Ticket.status == Status.NEW.value,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _claimed_last() -> Any:
    """Whether the work order's latest assign was a claim (for a row of ``Ticket``)."""
    return (
        select(TicketEvent.changes.has_key("claimed"))
        .where(
            TicketEvent.org_id == Ticket.org_id,
            TicketEvent.ticket_id == Ticket.id,
            TicketEvent.action == Action.ASSIGN.value,
        )
        .order_by(TicketEvent.created_at.desc(), TicketEvent.id.desc())
        .limit(1)
        .correlate(Ticket)
        .scalar_subquery()
    )


async def _refusal(
    session: AsyncSession, actor: Actor, engineer_id: uuid.UUID, ticket_id: uuid.UUID
) -> Exception:
    """Why a work order that is not open for claim cannot be claimed: one plain read (every
    loser of a race asks, right after the winner's commit)."""
    row = (
        await session.execute(
            select(Ticket.number, Ticket.status, Ticket.assignee_id, _claimed_last()).where(
                Ticket.id == ticket_id, Ticket.org_id == actor.org_id
            )
        )
    ).first()
    if row is None:
        return NotFound(f"work order {ticket_id} not found")
    number, status, assignee_id, claimed = row
    label = format_number(number)
    if status != Status.NEW.value and claimed:
        if assignee_id == engineer_id:
            return AlreadyClaimed(f"you already claimed {label}")
        return AlreadyClaimed(f"another engineer claimed {label} first")
    return NotOpenForClaim(f"{label} is not open for claim")


async def _reasons(
    session: AsyncSession, actor: Actor, engineer_id: uuid.UUID, ticket_id: uuid.UUID
) -> list[Reason]:
    job = await snapshot.job(session, actor.org_id, ticket_id)
    assert job is not None  # locked by the caller
    tz = await snapshot.zone(session, actor.org_id)
    date = eligibility.job_date(job, tz, _now())
    return eligibility.reasons(await _day(session, actor, engineer_id, date, tz), job)


async def _not_eligible(
    session: AsyncSession, actor: Actor, label: str, reasons: list[Reason]
) -> NotEligible:
    """The refusal, with every reason's code and its words in the caller's language."""
    language = await auth_service.language_of(session, actor, None)
    tz = await snapshot.zone(session, actor.org_id)
    return NotEligible(
        f"you do not qualify for {label}: {'; '.join(explain(r, 'en', tz) for r in reasons)}",
        reasons=eligibility.codes(reasons),
        explanations=[{"code": r.code, "text": explain(r, language, tz)} for r in reasons],
    )


async def claim(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Ticket:
    """Take a work order from the pool: assigned to and accepted by the caller, pinned."""
    engineer_id = _engineer(actor, "claim work orders")
    ticket = await _lock_open(session, actor, ticket_id)
    if ticket is None:
        raise await _refusal(session, actor, engineer_id, ticket_id)
    if reasons := await _reasons(session, actor, engineer_id, ticket.id):
        raise await _not_eligible(session, actor, format_number(ticket.number), reasons)
    # The engineer may not assign; the claim does it for them, in their name.
    on_behalf = dataclasses.replace(Actor.system(actor.org_id), label=actor.label)
    assign = TransitionIn(action=Action.ASSIGN, engineer_id=engineer_id, reason=CLAIM_REASON)
    token = declines.claiming.set(ticket.id)
    try:
        await tickets.apply_transition(session, on_behalf, ticket_id=ticket.id, data=assign)
    finally:
        declines.claiming.reset(token)
    accept = TransitionIn(action=Action.ACCEPT)
    return await tickets.apply_transition(session, actor, ticket_id=ticket.id, data=accept)
