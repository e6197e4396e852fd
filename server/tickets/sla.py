"""SLA deadlines on business-hours calendars, the pause while on hold, and the sweep.

- Deadlines: created_at + target (business time) + time paused so far.
- First response is the engineer accepting the work order (or arriving on site
  directly); resolution is the move to ``resolved``.
- Paused: only while on hold *waiting for the customer*.
- The sweep marks ``at_risk`` once 80 % (FIXFLOW_SLA_AT_RISK_FRACTION) of the
  wall-clock span from creation to the resolution deadline has passed, and
  ``breached`` past a deadline, writing one event per change.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Unprocessable
from server.tickets import audit
from server.tickets.models import BusinessCalendar as CalendarRow
from server.tickets.models import SlaPolicy, SlaState, Ticket
from server.tickets.policies.calendar import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
)
from shared.lifecycle import Status

_DONE = (Status.RESOLVED.value, Status.CLOSED.value, Status.CANCELLED.value)


async def find_policy(
    session: AsyncSession, *, org_id: uuid.UUID, customer_id: uuid.UUID, priority: str
) -> tuple[SlaPolicy, CalendarRow | None] | None:
    """The customer's own policy for the priority, else the organisation's default,
    with its calendar (None: the policy counts around the clock). One round trip."""
    row = (
        await session.execute(
            select(SlaPolicy, CalendarRow)
            .outerjoin(CalendarRow, CalendarRow.id == SlaPolicy.calendar_id)
            .where(
                SlaPolicy.org_id == org_id,
                SlaPolicy.priority == priority,
                or_(SlaPolicy.customer_id == customer_id, SlaPolicy.customer_id.is_(None)),
            )
            .order_by(SlaPolicy.customer_id.is_(None))
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def calendar_of(row: CalendarRow | None) -> BusinessCalendar:
    if row is None:
        return _ALWAYS_OPEN
    return _calendar(row.timezone, json.dumps(row.hours, sort_keys=True), tuple(row.holidays))


_ALWAYS_OPEN = BusinessCalendar.always_open()


@functools.lru_cache(maxsize=256)
def _calendar(timezone: str, hours: str, holidays: tuple[dt.date, ...]) -> BusinessCalendar:
    """Parsed once per distinct calendar (keyed by its content, so an edit is a new key):
    parsing and checking the hours took a tenth of the SLA step of every creation.
    A BusinessCalendar is immutable; a calendar that does not parse raises every time."""
    return BusinessCalendar.from_config(timezone, json.loads(hours), holidays)


def unusable(
    policy: SlaPolicy | None, calendar: CalendarRow | None, exc: ValueError
) -> Unprocessable:
    """A stored policy/calendar pair that cannot produce a deadline: the caller's request is
    fine, the SLA settings are not, so say which ones an admin must fix (422, not a 500)."""
    what = f"SLA policy {policy.priority} ({policy.id})" if policy else "the SLA policy"
    where = f"calendar {calendar.name!r} ({calendar.id})" if calendar else "around the clock"
    return Unprocessable(
        f"{what} on {where} cannot produce a deadline: {exc}; "
        "an admin must fix the policy's targets or its calendar",
        sla_policy_id=str(policy.id) if policy else None,
        calendar_id=str(calendar.id) if calendar else None,
    )


async def apply_deadlines(session: AsyncSession, ticket: Ticket) -> None:
    """(Re)compute the deadlines from the policy for the ticket's current priority."""
    found = await find_policy(
        session, org_id=ticket.org_id, customer_id=ticket.customer_id, priority=ticket.priority
    )
    set_deadlines(ticket, found)


def set_deadlines(ticket: Ticket, found: tuple[SlaPolicy, CalendarRow | None] | None) -> None:
    """The deadlines from ``found`` (what ``find_policy`` answers for the ticket; None: no
    policy applies). Also for the creation's hot path, which reads the policy itself."""
    if found is None:
        ticket.sla_policy_id = None
        ticket.response_due_at = ticket.resolution_due_at = None
        # A breach already happened and stays on the record (and in the KPIs).
        if ticket.sla_state != SlaState.BREACHED.value:
            ticket.sla_state = SlaState.NONE.value
        return
    policy, calendar = found
    ticket.sla_policy_id = policy.id
    paused = dt.timedelta(seconds=ticket.paused_seconds)
    start = ticket.created_at
    try:
        cal = calendar_of(calendar)
        response_due = add_business_time(cal, start, dt.timedelta(minutes=policy.response_minutes))
        resolution_due = add_business_time(
            cal, start, dt.timedelta(minutes=policy.resolution_minutes) + paused
        )
    except ValueError as exc:
        raise unusable(policy, calendar, exc) from exc
    ticket.response_due_at, ticket.resolution_due_at = response_due, resolution_due
    if ticket.sla_state == SlaState.NONE.value:
        ticket.sla_state = SlaState.OK.value


async def pause(ticket: Ticket, now: dt.datetime) -> None:
    ticket.on_hold_since = now


async def resume(session: AsyncSession, ticket: Ticket, now: dt.datetime) -> None:
    """End a pause: count the business time it lasted and push the deadline back."""
    if ticket.on_hold_since is None:
        return
    since, ticket.on_hold_since = ticket.on_hold_since, None
    if ticket.sla_policy_id is None or ticket.resolution_due_at is None:
        return
    policy = await session.get(SlaPolicy, ticket.sla_policy_id)
    calendar_id = policy.calendar_id if policy else None
    row = await session.get(CalendarRow, calendar_id) if calendar_id is not None else None
    try:
        cal = calendar_of(row)
        held = business_time_between(cal, since, now)
        due = add_business_time(cal, ticket.resolution_due_at, held)
    except ValueError as exc:
        raise unusable(policy, row, exc) from exc
    ticket.paused_seconds += int(held.total_seconds())
    ticket.resolution_due_at = due


def next_check(ticket: Ticket, at_risk_fraction: float) -> dt.datetime | None:
    """The next instant at which the ticket's SLA state can change by time alone."""
    if ticket.resolution_due_at is None or ticket.on_hold_since is not None:
        return None
    if ticket.status in _DONE or ticket.sla_state == SlaState.BREACHED.value:
        return None
    candidates = [ticket.resolution_due_at]
    if ticket.sla_state == SlaState.OK.value:
        span = ticket.resolution_due_at - ticket.created_at
        candidates.append(ticket.created_at + span * at_risk_fraction)
    if ticket.first_response_at is None and ticket.response_due_at is not None:
        candidates.append(ticket.response_due_at)
    return min(candidates)


def state_at(ticket: Ticket, now: dt.datetime, at_risk_fraction: float) -> SlaState:
    """The SLA state the ticket should be in at ``now`` (open tickets only)."""
    if ticket.resolution_due_at is None:
        return SlaState.NONE
    response_late = (
        ticket.first_response_at is None
        and ticket.response_due_at is not None
        and now > ticket.response_due_at
    )
    if now > ticket.resolution_due_at or response_late:
        return SlaState.BREACHED
    span = (ticket.resolution_due_at - ticket.created_at).total_seconds()
    if span > 0 and (now - ticket.created_at).total_seconds() >= at_risk_fraction * span:
        return SlaState.AT_RISK
    return SlaState.OK


def refresh_state(ticket: Ticket, now: dt.datetime, at_risk_fraction: float) -> SlaState | None:
    """Bring sla_state up to date; return the old state if it changed (caller records it)."""
    old = SlaState(ticket.sla_state)
    if ticket.status not in _DONE and ticket.on_hold_since is None:
        new = state_at(ticket, now, at_risk_fraction)
        if new is SlaState.BREACHED:
            if ticket.first_response_at is None and ticket.response_due_at is not None:
                ticket.response_breached = ticket.response_breached or now > ticket.response_due_at
            ticket.resolution_breached = now > (ticket.resolution_due_at or now)
        if old is SlaState.BREACHED and new is not SlaState.BREACHED:
            new = SlaState.BREACHED  # a breach is never undone
        ticket.sla_state = new.value
    ticket.sla_next_check_at = next_check(ticket, at_risk_fraction)
    return old if old.value != ticket.sla_state else None


async def sweep(
    session: AsyncSession, *, now: dt.datetime, at_risk_fraction: float, limit: int = 1000
) -> int:
    """Mark at-risk and breached work orders across all organisations; returns changes.

    Idempotent: each ticket carries the instant it must be looked at next, and a
    ticket already in the right state writes no event, so a re-run (arq retry,
    two workers) changes nothing."""
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.sla_next_check_at.is_not(None), Ticket.sla_next_check_at <= now)
        .order_by(Ticket.sla_next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    changed = 0
    for ticket in rows:
        old = refresh_state(ticket, now, at_risk_fraction)
        if old is None:
            continue
        audit.record(
            session,
            ticket,
            kind=f"sla_{ticket.sla_state}",
            actor="system:sla",
            changes={"sla_state": [old.value, ticket.sla_state]},
        )
        changed += 1
    return changed
