"""The claim pool on the phone: fills ``server.sync.claim_pool`` (the ``claimable``
entity) with what ``GET /claims`` lists (server/dispatch/claims/service.py: the open work
orders the engineer qualifies for by ``dispatch.eligibility``, most urgent first), as rows
with what the phone needs to decide: no other engineer, no note."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.customers import Customer, Site
from server.dispatch.claims import service as claims
from server.errors import Forbidden
from server.tickets import Ticket, format_number

DESCRIPTION_MAX = 1_000


async def claim_pool(session: AsyncSession, actor: Actor) -> list[Mapping[str, Any]]:
    """``sync.claim_pool``: the rows the phone's pool shows (server/sync/claimables.py
    sends only its ``FIELDS``)."""
    try:
        jobs = await claims.pool(session, actor)
    except Forbidden:  # not an engineer, or an inactive one: no pool, and the pull goes on
        return []
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
