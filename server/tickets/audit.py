"""Writing a work order's audit event and its outbox twin, always together."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.events import service as events
from server.tickets.models import Ticket, TicketEvent


def record(
    session: AsyncSession,
    ticket: Ticket,
    *,
    kind: str,
    actor: str,
    action: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
) -> TicketEvent:
    event = TicketEvent(
        org_id=ticket.org_id,
        ticket_id=ticket.id,
        kind=kind,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        changes=changes or {},
        actor=actor,
    )
    session.add(event)
    events.emit(
        session,
        org_id=ticket.org_id,
        topic=f"ticket.{kind}",
        aggregate_id=ticket.id,
        payload=payload(
            ticket,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            changes=changes,
        ),
    )
    return event


def payload(
    ticket: Ticket,
    *,
    actor: str,
    action: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The outbox event's payload (what webhooks deliver) for an event of ``ticket``."""
    return {
        "ticket_id": str(ticket.id),
        "number": format_number(ticket.number),
        "status": ticket.status,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "changes": changes or {},
        "actor": actor,
    }


def format_number(number: int) -> str:
    return f"WO-{number:06d}"


def format_number_sql(column: str) -> str:
    """``format_number`` as a PostgreSQL expression, for the statement that takes the number
    and writes it in the same round trip (server/tickets/creation.py). Zero-padded to six
    digits, never cut: tests/server/tickets/test_creation.py checks both agree."""
    return f"('WO-' || lpad({column}::text, greatest(6, length({column}::text)), '0'))"
