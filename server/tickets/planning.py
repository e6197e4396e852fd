"""A work order's planned slot: when its engineer is expected to start and finish it, its
place in their day and the travel before it (written by dispatch's day plans).

``set_slot`` is the one way to write those columns: it bumps the version (a phone's
If-Match and a stale day plan notice), records one ``planned`` event with its outbox twin
(tickets/audit.py), and goes through the ORM, so the sync capture writes the change-feed
row that carries the new slot to the engineer's phone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.tickets import audit
from server.tickets.models import Ticket
from server.tickets.service import get

SLOT_FIELDS = ("planned_start", "planned_end", "plan_position", "planned_travel_seconds")


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


async def set_slot(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    planned_start: dt.datetime | None,
    planned_end: dt.datetime | None,
    plan_position: int | None,
    planned_travel_seconds: int | None,
    reason: str | None = None,
) -> Ticket:
    """Write the planned slot (all four together; None clears). No change, no event."""
    actor.require_manager("plan work orders")
    ticket = await get(session, actor, ticket_id=ticket_id, for_update=True)
    wanted = {
        "planned_start": planned_start,
        "planned_end": planned_end,
        "plan_position": plan_position,
        "planned_travel_seconds": planned_travel_seconds,
    }
    changes = {
        name: [_shown(getattr(ticket, name)), _shown(value)]
        for name, value in wanted.items()
        if getattr(ticket, name) != value
    }
    if not changes:
        return ticket
    for name in changes:
        setattr(ticket, name, wanted[name])
    ticket.version += 1
    ticket.updated_at = dt.datetime.now(dt.UTC)
    audit.record(session, ticket, kind="planned", actor=actor.label, reason=reason, changes=changes)
    return ticket
