"""Managing SLA policies and business-hours calendars (admins; dispatchers read).

Changing a policy applies to work orders created (or re-prioritised) afterwards;
deadlines already promised to customers are not moved retroactively.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import timezones
from server.auth import Actor
from server.crud import check_version, get_scoped, patch, reject_nulls
from server.customers import Customer
from server.errors import Conflict, Forbidden, Unprocessable
from server.tickets.models import BusinessCalendar, SlaPolicy, Ticket
from server.tickets.policies.calendar import BusinessCalendar as CalendarMath
from server.tickets.policies.calendar import add_business_time
from server.tickets.policies.schemas import (
    CalendarCreate,
    CalendarUpdate,
    PolicyCreate,
    PolicyUpdate,
)
from shared.lifecycle import Status

# Work orders whose deadlines no longer move: deleting their policy only clears the link.
_FINISHED = (Status.RESOLVED.value, Status.CLOSED.value, Status.CANCELLED.value)


def _check_reachable(
    cal: CalendarMath, *, priority: str, policy_id: uuid.UUID | None, resolution_minutes: int
) -> None:
    """Refuse targets the calendar cannot meet (no open hours, or a deadline past the
    calendar arithmetic's horizon); otherwise every work order under them would fail."""
    try:
        add_business_time(cal, dt.datetime.now(dt.UTC), dt.timedelta(minutes=resolution_minutes))
    except ValueError as exc:
        name = f"SLA policy {priority}" + (f" ({policy_id})" if policy_id else "")
        raise Unprocessable(
            f"{name} cannot produce a deadline of {resolution_minutes} business minutes on "
            f"this calendar: {exc}; add open hours or shorten resolution_minutes",
            sla_policy_id=str(policy_id) if policy_id else None,
        ) from exc


async def _calendar_math(session: AsyncSession, calendar_id: uuid.UUID | None) -> CalendarMath:
    row = await session.get(BusinessCalendar, calendar_id) if calendar_id is not None else None
    if row is None:
        return CalendarMath.always_open()
    try:
        return CalendarMath.from_config(row.timezone, row.hours, row.holidays)
    except ValueError as exc:  # a row stored before the API checked calendars
        raise Unprocessable(f"calendar {row.id} is invalid: {exc}", field="calendar_id") from exc


def _admin(actor: Actor) -> None:
    actor.require_admin("change SLA policies and calendars")


def _reader(actor: Actor) -> None:
    # Integration keys (role None) read them too: an ERP shows customers their SLA.
    if actor.is_engineer:
        raise Forbidden("SLA settings are for the back office")


async def list_calendars(session: AsyncSession, actor: Actor) -> list[BusinessCalendar]:
    _reader(actor)
    rows = await session.scalars(
        select(BusinessCalendar)
        .where(BusinessCalendar.org_id == actor.org_id)
        .order_by(BusinessCalendar.created_at)
    )
    return list(rows)


async def create_calendar(
    session: AsyncSession, actor: Actor, *, data: CalendarCreate
) -> BusinessCalendar:
    _admin(actor)
    await timezones.check(session, data.timezone)
    row = BusinessCalendar(org_id=actor.org_id, **data.model_dump())
    session.add(row)
    await session.flush()
    return row


async def get_calendar(
    session: AsyncSession, actor: Actor, *, calendar_id: uuid.UUID
) -> BusinessCalendar:
    _reader(actor)
    return await get_scoped(session, actor, BusinessCalendar, calendar_id, label="calendar")


async def update_calendar(
    session: AsyncSession,
    actor: Actor,
    *,
    calendar_id: uuid.UUID,
    data: CalendarUpdate,
    expected_version: int | None,
) -> BusinessCalendar:
    _admin(actor)
    row = await get_scoped(
        session, actor, BusinessCalendar, calendar_id, label="calendar", for_update=True
    )
    check_version(row.version, expected_version, label="the calendar")
    changes = data.model_dump(exclude_unset=True)
    reject_nulls(row, changes)
    if "timezone" in changes:
        await timezones.check(session, changes["timezone"])
    merged = {
        "tz": changes.get("timezone", row.timezone),
        "hours": changes.get("hours", row.hours),
        "holidays": changes.get("holidays", row.holidays),
    }
    try:
        cal = CalendarMath.from_config(merged["tz"], merged["hours"], merged["holidays"])
    except ValueError as exc:
        raise Unprocessable(str(exc)) from exc
    if not cal.hours:
        # Same rule as on create: without it every deadline under this calendar would fail.
        raise Unprocessable("a calendar needs at least one open interval", field="hours")
    users = await session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.org_id == actor.org_id, SlaPolicy.calendar_id == row.id)
        .order_by(SlaPolicy.priority, SlaPolicy.created_at)
    )
    for policy in users:
        _check_reachable(
            cal,
            priority=policy.priority,
            policy_id=policy.id,
            resolution_minutes=policy.resolution_minutes,
        )
    patch(row, changes, expected_version=None)  # checked above, before the work
    return row


async def _check_refs(
    session: AsyncSession,
    actor: Actor,
    *,
    calendar_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
) -> None:
    if calendar_id is not None and not await session.scalar(
        select(BusinessCalendar.id).where(
            BusinessCalendar.id == calendar_id, BusinessCalendar.org_id == actor.org_id
        )
    ):
        raise Unprocessable(f"calendar {calendar_id} not found", field="calendar_id")
    if customer_id is not None and not await session.scalar(
        select(Customer.id).where(Customer.id == customer_id, Customer.org_id == actor.org_id)
    ):
        raise Unprocessable(f"customer {customer_id} not found", field="customer_id")


async def list_policies(
    session: AsyncSession, actor: Actor, *, customer_id: uuid.UUID | None = None
) -> list[SlaPolicy]:
    _reader(actor)
    query = select(SlaPolicy).where(SlaPolicy.org_id == actor.org_id)
    if customer_id is not None:
        query = query.where(SlaPolicy.customer_id == customer_id)
    rows = await session.scalars(query.order_by(SlaPolicy.priority, SlaPolicy.created_at))
    return list(rows)


async def create_policy(session: AsyncSession, actor: Actor, *, data: PolicyCreate) -> SlaPolicy:
    _admin(actor)
    await _check_refs(session, actor, calendar_id=data.calendar_id, customer_id=data.customer_id)
    _check_reachable(
        await _calendar_math(session, data.calendar_id),
        priority=data.priority.value,
        policy_id=None,
        resolution_minutes=data.resolution_minutes,
    )
    row = SlaPolicy(org_id=actor.org_id, **data.model_dump())
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        scope = "this customer" if data.customer_id else "the organisation"
        raise Conflict(
            f"{scope} already has a {data.priority.value} policy; update it instead"
        ) from exc
    return row


async def get_policy(session: AsyncSession, actor: Actor, *, policy_id: uuid.UUID) -> SlaPolicy:
    _reader(actor)
    return await get_scoped(session, actor, SlaPolicy, policy_id, label="SLA policy")


async def update_policy(
    session: AsyncSession,
    actor: Actor,
    *,
    policy_id: uuid.UUID,
    data: PolicyUpdate,
    expected_version: int | None,
) -> SlaPolicy:
    _admin(actor)
    row = await get_scoped(
        session, actor, SlaPolicy, policy_id, label="SLA policy", for_update=True
    )
    check_version(row.version, expected_version, label="the SLA policy")
    changes = data.model_dump(exclude_unset=True)
    reject_nulls(row, changes)
    if "calendar_id" in changes:
        await _check_refs(session, actor, calendar_id=changes["calendar_id"], customer_id=None)
    response = changes.get("response_minutes", row.response_minutes)
    resolution = changes.get("resolution_minutes", row.resolution_minutes)
    if resolution < response:
        raise Unprocessable("resolution_minutes cannot be shorter than response_minutes")
    _check_reachable(
        await _calendar_math(session, changes.get("calendar_id", row.calendar_id)),
        priority=row.priority,
        policy_id=row.id,
        resolution_minutes=resolution,
    )
    patch(row, changes, expected_version=None)  # checked above, before the work
    return row


async def delete_policy(
    session: AsyncSession, actor: Actor, *, policy_id: uuid.UUID, expected_version: int | None
) -> None:
    """Refused while open work orders use the policy: their deadlines still move with it (a
    customer-wait pause pushes the deadline back through the policy's calendar). Finished
    work orders keep their computed deadlines; their policy link is cleared."""
    _admin(actor)
    # Locked so a concurrent delete of the same policy waits for this one.
    row = await get_scoped(
        session, actor, SlaPolicy, policy_id, label="SLA policy", for_update=True
    )
    check_version(row.version, expected_version, label="the SLA policy")
    in_use = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.org_id == actor.org_id,
            Ticket.sla_policy_id == row.id,
            Ticket.status.not_in(_FINISHED),
        )
    )
    if in_use:
        uses = "open work order uses" if in_use == 1 else "open work orders use"
        raise Conflict(
            f"{in_use} {uses} this policy; change its targets instead, "
            "or delete it when they are done",
            open_work_orders=in_use,
        )
    await session.execute(
        update(Ticket)
        .where(Ticket.org_id == actor.org_id, Ticket.sla_policy_id == row.id)
        .values(sla_policy_id=None)
    )
    await session.delete(row)
