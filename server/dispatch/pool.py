"""The claim pool an engineer sees: work orders open for claim that they qualify for.

Fills ``server.sync.claim_pool`` (the phone's ``claimable`` entity). A work order is open
for claim when ``open_for_claim`` is set, its status is ``new`` and nobody is assigned;
the engineer qualifies when ``server.dispatch.eligibility.reasons`` finds nothing against
them (skills with levels, territory, a shift with room on the job's date, not declined, a
known location), on the engineer's day of the job's date (``eligibility.job_date``), as
the claim endpoint decides.

Best first: priority, then the SLA deadline, then the window, then the number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.customers import Customer, Site
from server.dispatch import eligibility, snapshot
from server.dispatch.snapshot import EngineerDay, Job
from server.tickets import Ticket, format_number

_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)
DESCRIPTION_MAX = 1_000


def _order(job: Job) -> tuple[int, dt.datetime, dt.datetime, int]:
    rank = int(job.priority[1:]) if job.priority[1:].isdigit() else 9
    return (rank, job.sla_deadline or _FAR, job.window_start or _FAR, job.number)


async def eligible_jobs(session: AsyncSession, actor: Actor) -> list[Job]:
    """The open work orders the calling engineer qualifies for, best first."""
    if actor.engineer_id is None:
        return []
    jobs = await snapshot.claimable_jobs(session, actor.org_id)
    if not jobs:
        return []
    tz = await snapshot.zone(session, actor.org_id)
    now = dt.datetime.now(dt.UTC)
    days: dict[dt.date, EngineerDay | None] = {}
    out = []
    for job in jobs:
        date = eligibility.job_date(job, tz, now)
        if date not in days:
            found = await snapshot.engineer_days(
                session, actor.org_id, date, engineer_ids=[actor.engineer_id]
            )
            days[date] = found[0] if found else None  # None: inactive, or not theirs
        day = days[date]
        if day is not None and not eligibility.reasons(day, job):
            out.append(job)
    return sorted(out, key=_order)


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
    out: list[Mapping[str, Any]] = []
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
