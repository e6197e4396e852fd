"""How the parts domain plugs in (server/domains.py): every new engineer gets a stocked van;
a service site gets its warehouse; a cancelled or closed work order gives back what it
still has reserved."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server import customers, engineers, tickets
from server.auth import Actor
from server.parts.ledger import reservations
from server.parts.locations import ensure_van, service_site_stock
from shared.lifecycle import Action


async def release_reservations(
    session: AsyncSession, actor: Actor, ticket: tickets.Ticket, data: tickets.TransitionIn
) -> dict[str, Any] | None:
    """A finished job needs no more parts: give back what it still has reserved."""
    released = await reservations.release_for_ticket(
        session, actor, ticket_id=ticket.id, reason=f"work order {data.action.value}d"
    )
    return {"reservations_released": len(released)} if released else None


def install() -> None:
    engineers.created.add(ensure_van)
    customers.site_stock.fill(service_site_stock)
    tickets.lifecycle.listener(Action.CANCEL, Action.CLOSE)(release_reservations)
