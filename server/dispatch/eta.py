"""When the engineer will be there: the one ETA the customer's status page and the
"engineer on the way" message show.

- travelling: from the engineer's last known position (their latest check-in or -out with a
  position, else their day's start point: the start service site, else home) to the work
  order's site, by the organisation's travel provider, counted from when travel started;
  running late, the ETA is never in the past: at least ``LATE_MARGIN`` from now;
- assigned or accepted with a planned start (a day plan, or the dispatcher's): that start;
- on site, or no assignee, no site position, or a travel provider that cannot answer: none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import get_settings
from server.customers import ServiceSite, Site
from server.dispatch.travel import TravelProvider, TravelUnavailable, provider_from_settings
from server.engineers import Engineer
from server.field import Visit, VisitCheck
from server.tickets import Ticket, TicketEvent

LATE_MARGIN = dt.timedelta(minutes=5)
Basis = Literal["travel", "planned"]


@dataclass(frozen=True)
class Eta:
    at: dt.datetime
    basis: Basis  # "travel": live, from the engineer's position; "planned": the plan's start
    travel_seconds: int | None = None


def travel_provider() -> TravelProvider:
    settings = get_settings()
    return provider_from_settings(
        settings.ROUTING_URL, road_factor=settings.ROAD_FACTOR, speed_kmh=settings.AVERAGE_SPEED_KMH
    )


async def eta(
    session: AsyncSession,
    ticket: Ticket,
    *,
    now: dt.datetime | None = None,
    travel: TravelProvider | None = None,
) -> Eta | None:
    """The work order's ETA (see the module docstring), or None."""
    now = now or dt.datetime.now(dt.UTC)
    if ticket.status in ("assigned", "accepted"):
        if ticket.planned_start is None:
            return None
        return Eta(at=ticket.planned_start, basis="planned")
    if ticket.status != "travelling" or ticket.assignee_id is None or ticket.site_id is None:
        return None
    site = await session.get(Site, ticket.site_id)
    origin = await _last_position(session, ticket)
    if site is None or site.lat is None or site.lon is None or origin is None:
        return None
    try:
        matrix = await (travel or travel_provider()).matrix([origin, (site.lat, site.lon)])
    except TravelUnavailable:
        return None
    seconds = matrix.seconds[0][1]
    started = await session.scalar(
        select(TicketEvent.created_at)
        .where(
            TicketEvent.org_id == ticket.org_id,
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.to_status == "travelling",
        )
        .order_by(TicketEvent.created_at.desc())
        .limit(1)
    )
    arrival = (started or now) + dt.timedelta(seconds=seconds)
    return Eta(at=max(arrival, now + LATE_MARGIN), basis="travel", travel_seconds=seconds)


async def _last_position(session: AsyncSession, ticket: Ticket) -> tuple[float, float] | None:
    row = (
        await session.execute(
            select(VisitCheck.lat, VisitCheck.lon)
            .join(Visit, Visit.id == VisitCheck.visit_id)
            .where(
                VisitCheck.org_id == ticket.org_id,
                Visit.engineer_id == ticket.assignee_id,
                VisitCheck.lat.is_not(None),
                VisitCheck.lon.is_not(None),
            )
            .order_by(VisitCheck.device_time.desc())
            .limit(1)
        )
    ).first()
    if row is not None and row[0] is not None and row[1] is not None:
        return (row[0], row[1])
    engineer = await session.get(Engineer, ticket.assignee_id)
    if engineer is None:
        return None
    if engineer.start_site_id is not None:
        depot = await session.get(ServiceSite, engineer.start_site_id)
        if depot is not None and depot.lat is not None and depot.lon is not None:
            return (depot.lat, depot.lon)
    if engineer.home_lat is not None and engineer.home_lon is not None:
        return (engineer.home_lat, engineer.home_lon)
    return None
