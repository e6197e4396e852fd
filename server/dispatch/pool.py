"""The claim pool an engineer sees: work orders open for claim that they qualify for.

Fills ``server.sync.claim_pool`` (the phone's ``claimable`` entity). An engineer qualifies
for an open work order (``open_for_claim``, status ``new``, nobody assigned) when they
are active, have every required skill at its level, work in its territory (when both
have one), have a shift on its day (the day its window starts, else today, in the
organisation's time zone) and have not declined it. The facts come from
``server.dispatch.snapshot``, as for the recommendation and the planner.

Best first: priority, then the SLA deadline, then the window, then the number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.customers import Customer, Site
from server.dispatch import snapshot
from server.dispatch.snapshot import Job
from server.engineers import Engineer, TimeOff, shifts
from server.tickets import Ticket, format_number

_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)
DESCRIPTION_MAX = 1_000


def qualifies(
    job: Job, engineer: Engineer, working: set[dt.date], tz: ZoneInfo, today: dt.date
) -> bool:
    """Whether ``engineer`` may claim ``job``; ``working``: the dates they have a shift."""
    if not engineer.active or engineer.id in job.declined:
        return False
    have = engineer.skills or {}
    if any(int(have.get(name, 0)) < level for name, level in job.skills.items()):
        return False
    if job.territory and engineer.territory and job.territory != engineer.territory:
        return False
    day = job.window_start.astimezone(tz).date() if job.window_start else today
    return day in working


async def _working_days(
    session: AsyncSession, engineer: Engineer, dates: set[dt.date], tz: ZoneInfo
) -> set[dt.date]:
    first, last = min(dates), max(dates)
    start, end = shifts.day_bounds(first, tz)[0], shifts.day_bounds(last, tz)[1]
    off = list(
        await session.scalars(
            select(TimeOff).where(
                TimeOff.engineer_id == engineer.id, TimeOff.ends_at > start, TimeOff.starts_at < end
            )
        )
    )
    hours = engineer.working_hours or {}
    return {d for d in dates if shifts.on_date(d, hours, off, tz)}


def _order(job: Job) -> tuple[int, dt.datetime, dt.datetime, int]:
    rank = int(job.priority[1:]) if job.priority[1:].isdigit() else 9
    return (rank, job.sla_deadline or _FAR, job.window_start or _FAR, job.number)


async def eligible_jobs(session: AsyncSession, actor: Actor) -> list[Job]:
    """The open work orders the calling engineer qualifies for, best first."""
    if actor.engineer_id is None:
        return []
    engineer = await session.get(Engineer, actor.engineer_id)
    if engineer is None or engineer.org_id != actor.org_id:
        return []
    jobs = await snapshot.claimable_jobs(session, actor.org_id)
    if not jobs:
        return []
    tz = await snapshot.zone(session, actor.org_id)
    today = dt.datetime.now(tz).date()
    dates = {j.window_start.astimezone(tz).date() if j.window_start else today for j in jobs}
    working = await _working_days(session, engineer, dates, tz)
    return sorted((j for j in jobs if qualifies(j, engineer, working, tz, today)), key=_order)


async def claim_pool(session: AsyncSession, actor: Actor) -> list[Mapping[str, Any]]:
    """``sync.claim_pool``: the rows the phone's pool shows (server/sync/claimables.py
    sends only its ``FIELDS``)."""
    jobs = await eligible_jobs(session, actor)
    if not jobs:
        return []
    rows = await session.execute(
        select(Ticket, Customer.name, Site.name, Site.address)
        .join(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Site, Site.id == Ticket.site_id)
        .where(Ticket.org_id == actor.org_id, Ticket.id.in_([j.ticket_id for j in jobs]))
    )
    found: dict[uuid.UUID, Any] = {row[0].id: row for row in rows}
    out = []
    for job in jobs:
        if job.ticket_id not in found:
            continue
        ticket, customer, site, address = found[job.ticket_id]
        out.append(
            {
                "id": ticket.id,
                "number": format_number(ticket.number),
                "title": ticket.title,
                "description": (ticket.description or "")[:DESCRIPTION_MAX],
                "priority": ticket.priority,
                "customer_name": customer,
                "site_name": site,
                "site_address": address,
                "lat": job.location.lat if job.location else None,
                "lon": job.location.lon if job.location else None,
                "window_start": ticket.window_start,
                "window_end": ticket.window_end,
                "required_skills": [
                    {"name": name, "level": level} for name, level in sorted(job.skills.items())
                ],
                "estimated_minutes": ticket.estimated_minutes,
                "sla_due_at": ticket.resolution_due_at,
            }
        )
    return out
