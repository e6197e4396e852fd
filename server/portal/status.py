"""What the status page shows, and only that (docs/customer-pages.md).

Shown: the number, the title, the status in words, a timeline of customer-safe steps, the
engineer's first name, the appointment window and the ETA (``dispatch.eta``), in the
organisation's time zone. Never read into the view: internal notes, reasons staff typed
(a cancel or hold reason), who did what (actors), costs, parts, labour, positions. The
timeline keeps only the steps below; an event of any other kind is left out. A hold says
what it waits for (parts, the customer) from the hold's kind, never from its reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import dispatch, timezones
from server.engineers import Engineer
from server.links import AccessLink, LinkNotFound
from server.orgs import Organisation
from server.portal.links import AFTER_END, ended_at
from server.text import engineer_name_for_customers
from server.tickets import Ticket, TicketEvent, format_number, status_links

# action of a transition -> the step's message key (portal.step.<key>)
_STEPS = {
    "assign": "assigned",
    "accept": "accepted",
    "start_travel": "on_the_way",
    "arrive": "arrived",
    "resume": "working",
    "resolve": "resolved",
    "reopen": "reopened",
    "close": "closed",
    "cancel": "cancelled",
    "unassign": "finding_engineer",
    "reject": "finding_engineer",
}
_HOLDS = {"waiting_parts": "waiting_parts", "waiting_customer": "waiting_you"}


@dataclass(frozen=True)
class Step:
    key: str  # portal.step.<key>
    at: dt.datetime  # in the organisation's zone


@dataclass(frozen=True)
class StatusView:
    number: str
    title: str
    status: str  # portal.status.<status>
    ended: bool
    steps: list[Step]
    engineer: str | None
    window: tuple[dt.datetime, dt.datetime] | None
    eta: dt.datetime | None
    zone: str


def first_name(display_name: str) -> str:
    """The engineer's name as customers are told it (server/text.py, the one rule the
    messages follow too)."""
    return engineer_name_for_customers(display_name)


def step_of(event: TicketEvent) -> str | None:
    if event.kind == "created":
        return "received"
    if event.kind == "customer_update":
        return "you_added"
    if event.kind != "transition" or event.action is None:
        return None
    if event.action == "hold":
        return _HOLDS.get(str((event.changes or {}).get("hold_kind")), "paused")
    return _STEPS.get(event.action)


async def ticket_of(session: AsyncSession, link: AccessLink, now: dt.datetime) -> Ticket:
    """The link's work order; refused like a bad link once it ended ``AFTER_END`` ago."""
    ticket = await session.get(Ticket, link.subject_id)
    if ticket is None or ticket.org_id != link.org_id:
        raise LinkNotFound("this link is not valid: ask for a new one")
    end = ended_at(ticket)
    if end is not None and end + AFTER_END <= now:
        raise LinkNotFound("this link is not valid: ask for a new one")
    return ticket


async def _steps(session: AsyncSession, ticket: Ticket, zone: ZoneInfo) -> list[Step]:
    rows = await session.scalars(
        select(TicketEvent)
        .where(TicketEvent.org_id == ticket.org_id, TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    steps = []
    for event in rows:
        key = step_of(event)
        if key is not None:
            steps.append(Step(key, event.created_at.astimezone(zone)))
    return steps


async def view(
    session: AsyncSession, ticket: Ticket, *, now: dt.datetime | None = None
) -> StatusView:
    now = now or dt.datetime.now(dt.UTC)
    org = await session.get(Organisation, ticket.org_id)
    zone_name = await timezones.usable(session, org.timezone if org else None)
    zone = ZoneInfo(zone_name)
    engineer = await session.get(Engineer, ticket.assignee_id) if ticket.assignee_id else None
    ended = ended_at(ticket) is not None or ticket.status == "resolved"
    eta = None if ended else await dispatch.eta(session, ticket, now=now)
    window = None
    told = status_links.appointment(ticket)
    if told is not None and told[1] is not None:
        window = (told[0].astimezone(zone), told[1].astimezone(zone))
    return StatusView(
        number=format_number(ticket.number),
        title=ticket.title,
        status=ticket.status,
        ended=ended,
        steps=await _steps(session, ticket, zone),
        engineer=first_name(engineer.display_name) if engineer else None,
        window=window,
        eta=eta.at.astimezone(zone) if eta else None,
        zone=zone_name,
    )
