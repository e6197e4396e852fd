"""Complaints (ticket type ``complaint``): their root cause is required before closing.

The guard runs before every ``close``, whatever path asks for it (the API, a demo, any
later caller of ``tickets.service.apply_transition``): close is not a light action, and an
action with a guard never takes the light path (server/tickets/hooks.py).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.errors import Conflict
from server.text import visible
from server.tickets import Ticket, TicketType, TransitionIn, format_number


class RootCauseRequired(Conflict):
    code, title = "root_cause_required", "Set the complaint's root cause first"


async def require_root_cause(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> None:
    """The guard of ``close``: 409 ``root_cause_required`` for a complaint without one."""
    if ticket.type != TicketType.COMPLAINT.value or visible(ticket.root_cause or ""):
        return
    raise RootCauseRequired(
        f"{format_number(ticket.number)} is a complaint: set its root_cause before closing "
        f"it (PATCH /api/v1/tickets/{ticket.id} with root_cause)",
        field="root_cause",
    )
