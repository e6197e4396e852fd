"""A work order's status link for its customer (``/t/{token}``): one rule for everyone who
hands one out (the staff API and the pages in server/portal, the messages in server/notify).

- The live link is reused; otherwise a new one is minted.
- It expires ``AFTER_END`` after the work order was closed or cancelled, or ``WHILE_OPEN``
  after it was made while the work order is open; a link reused after the end is shortened
  to ``AFTER_END`` (the page also refuses a work order ended more than ``AFTER_END`` ago,
  whatever its link says).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.links import AccessLink, LinkKind
from server.links import service as links
from server.tickets.models import Ticket

WHILE_OPEN = dt.timedelta(days=90)
AFTER_END = dt.timedelta(days=30)
_ENDED = ("closed", "cancelled")


@dataclass(frozen=True)
class Issued:
    link: AccessLink
    url: str


def ended_at(ticket: Ticket) -> dt.datetime | None:
    """When a closed or cancelled work order ended (None while open)."""
    if ticket.status not in _ENDED:
        return None
    return ticket.closed_at or ticket.updated_at


def status_expiry(ticket: Ticket, now: dt.datetime) -> dt.datetime:
    end = ended_at(ticket)
    return now + WHILE_OPEN if end is None else end + AFTER_END


def url_of(link: AccessLink) -> str:
    return links.url(LinkKind(link.kind), links.token_for(link))


async def status_link_for(session: AsyncSession, ticket: Ticket) -> Issued:
    """The live status link of a work order, else a new one (no permission check: callers
    have decided the work order is theirs to link)."""
    expiry = status_expiry(ticket, dt.datetime.now(dt.UTC))
    live = await links.current(
        session, org_id=ticket.org_id, kind=LinkKind.STATUS, subject_id=ticket.id
    )
    if live is not None:
        if live.expires_at is None or live.expires_at > expiry:
            live.expires_at = expiry
        return Issued(live, url_of(live))
    link, token = links.issue(
        session, org_id=ticket.org_id, kind=LinkKind.STATUS, subject_id=ticket.id, expires_at=expiry
    )
    return Issued(link, links.url(LinkKind.STATUS, token))


def appointment(ticket: Ticket) -> tuple[dt.datetime, dt.datetime | None] | None:
    """The time a customer is told to expect the engineer, on the status page and in the
    messages alike: the appointment window agreed with them, else the planned slot (a day
    plan's or the dispatcher's), else nothing."""
    if ticket.window_start is not None:
        return ticket.window_start, ticket.window_end
    if ticket.planned_start is not None:
        return ticket.planned_start, ticket.planned_end
    return None
