"""Assign and decline: what dispatch adds to the work-order lifecycle (``plug.py`` wires it).

- **reject** (an engineer declines, with a reason): the work order goes back to dispatch
  (status new, no engineer: the state machine's own step) and a ``dispatch_declines`` row
  remembers who declined and why, so neither the recommendation nor the claim pool offers
  it to them again. The event's ``changes`` say so: ``declined_by``,
  ``returned_to_dispatch`` (and ``pinned`` when a claimed work order is given back).
- **assign** of an engineer who declined the work order is refused, 409
  ``engineer_declined``, unless an admin or dispatcher sends ``force: true``; an assign or
  a cancel takes the work order out of the claim pool (``open_for_claim`` in the event's
  changes).
- **unassign** unpins: an engineer's claim no longer holds a work order back at dispatch.

Everything runs in the transition's transaction (server/tickets/hooks.py).
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.dispatch.models import Decline
from server.errors import Conflict
from server.tickets import Ticket, TransitionIn, format_number

# The work order a claim is assigning right now (claims/service.py sets it around its
# assign step): the assign listener pins only that one, and says it was claimed.
claiming: ContextVar[uuid.UUID | None] = ContextVar("dispatch_claiming", default=None)


class EngineerDeclined(Conflict):
    code, title = "engineer_declined", "The engineer declined this work order"


async def declined(
    session: AsyncSession, org_id: uuid.UUID, ticket_id: uuid.UUID, engineer_id: uuid.UUID
) -> Decline | None:
    return await session.scalar(
        select(Decline).where(
            Decline.org_id == org_id,
            Decline.ticket_id == ticket_id,
            Decline.engineer_id == engineer_id,
        )
    )


async def refuse_declined(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> None:
    """The guard of ``assign``: 409 ``engineer_declined`` for an engineer who declined the
    work order, unless a manager forces it."""
    if data.force:
        actor.require_manager("force an assignment")
        return
    if data.engineer_id is None:
        return  # the tickets service answers 422 for a missing engineer
    row = await declined(session, actor.org_id, ticket.id, data.engineer_id)
    if row is not None:
        raise EngineerDeclined(
            f"the engineer declined {format_number(ticket.number)}"
            + (f" ({row.reason})" if row.reason else "")
            + "; send force: true to assign them anyway",
            engineer_id=str(data.engineer_id),
        )


async def leave_pool(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> dict[str, Any]:
    """The listener of ``assign`` and ``cancel``: the work order leaves the claim pool; a
    claim pins it."""
    changes: dict[str, Any] = {}
    if ticket.open_for_claim:
        ticket.open_for_claim = False
        changes["open_for_claim"] = [True, False]
    if claiming.get() == ticket.id:
        changes["claimed"] = True
        if not ticket.pinned:
            ticket.pinned = True
            changes["pinned"] = [False, True]
    return changes


def _previous_assignee(ticket: Ticket) -> uuid.UUID | None:
    # The listener runs after the transition cleared the assignee (tickets' side effects),
    # before anything is flushed: the attribute's history still holds who it was.
    history = sa_inspect(ticket).attrs.assignee_id.history
    return history.deleted[0] if history.deleted else ticket.assignee_id


def _unpin(ticket: Ticket, changes: dict[str, Any]) -> dict[str, Any]:
    if ticket.pinned:
        ticket.pinned = False
        changes["pinned"] = [True, False]
    return changes


async def record_decline(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> dict[str, Any]:
    """The listener of ``reject``: remember who declined (their latest reason wins)."""
    engineer_id = _previous_assignee(ticket)
    if engineer_id is None:  # the state machine rejects only an assigned work order
        return {}
    reason = data.reason or ""
    await session.execute(
        insert(Decline)
        .values(org_id=ticket.org_id, ticket_id=ticket.id, engineer_id=engineer_id, reason=reason)
        .on_conflict_do_update(
            index_elements=[Decline.ticket_id, Decline.engineer_id],
            set_={"reason": reason, "created_at": func.now()},
        )
    )
    changes: dict[str, Any] = {"declined_by": str(engineer_id), "returned_to_dispatch": True}
    return _unpin(ticket, changes)


async def release_pin(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> dict[str, Any]:
    """The listener of ``unassign``."""
    return _unpin(ticket, {})
