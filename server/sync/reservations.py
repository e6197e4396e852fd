"""The office's reservations for an engineer's jobs, for the pull feed.

Reserve and release lines of the stock ledger are a ``Child`` entity (``reservation``,
server/sync/entities.py): the snapshot sends a job's lines, a work order that arrives on or
leaves a phone brings or takes its lines, like its visits. A line written later, though,
leaves no feed row: the ledger writes its lines with plain SQL (its hot path builds no ORM
object), which change capture does not see. So each pull asks, as it does for the van's
balances (server/sync/pull.py), which lines of the engineer's assigned work were written
by a transaction at or after the last pull's watermark: a ledger line is never updated, so
its ``xmin`` is the transaction that wrote it. The lines found go through the resolver as
feed rows would (``put``, with the line's current data), in the same page.

The look-up starts from the engineer's assigned work orders (the tickets' assignee index)
and reads each one's ledger lines by ``ix_stock_movements_ticket``: its cost follows the
engineer's work, not the ledger's size (a plain join let the planner scan the whole ledger
once the organisation had a few hundred thousand lines).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import MovementKind, StockMovement
from server.sync.scope import FINISHED, Engineer

RESERVATION = "reservation"
RESERVATION_KINDS = (MovementKind.RESERVE.value, MovementKind.RELEASE.value)
# Ledger columns the phone does not get: the other end, prices, who, unit details.
EXCLUDED = frozenset(
    {
        "from_location_id",
        "to_location_id",
        "unit_cost",
        "unit_price",
        "actor",
        "serial_number",
        "condition",
        "from_field",
    }
)


def lines() -> Any:
    """The ledger lines that are reservations (the entity's ``where``)."""
    return StockMovement.kind.in_(RESERVATION_KINDS)


async def location(session: AsyncSession, rows: list[Any]) -> dict[uuid.UUID, dict[str, Any]]:
    """Reserve and release both hold the location in ``from_location_id`` (the ledger)."""
    return {
        row.id: {"location_id": None if row.from_location_id is None else str(row.from_location_id)}
        for row in rows
    }


# age() compares 32-bit transaction ids; beyond this distance every line is sent again.
XID_HORIZON = 2**30
_KINDS = ", ".join(f"'{kind}'" for kind in RESERVATION_KINDS)
_FINISHED = ", ".join(f"'{status}'" for status in FINISHED)
# Ticket by ticket (LATERAL, and OFFSET 0 so the planner cannot flatten it into a hash join
# over the whole ledger): each assigned work order's lines by ix_stock_movements_ticket.
_CHANGED = text(
    f"""
    SELECT m.id
      FROM tickets t
     CROSS JOIN LATERAL (
           SELECT m.id FROM stock_movements m
            WHERE m.ticket_id = t.id AND m.org_id = :org AND m.kind IN ({_KINDS})
              AND (:everything OR age(m.xmin) <= age(CAST(CAST(:since AS text) AS xid)))
           OFFSET 0) m
     WHERE t.org_id = :org AND t.assignee_id = :engineer
       AND (t.status NOT IN ({_FINISHED}) OR t.updated_at >= :edge)
     ORDER BY m.id
    """  # noqa: S608 (module constants only)
)


async def changed(
    session: AsyncSession, scope: Engineer, *, since: int, now_txid: int
) -> list[tuple[str, str, str]]:
    """Reservation lines of the engineer's work written at or after txid ``since``, as
    feed notes (entity, id, op)."""
    params = {
        "org": scope.org_id,
        "engineer": scope.engineer_id,
        "edge": scope.since,
        "everything": now_txid - since > XID_HORIZON,
        "since": str(since % 2**32),
    }
    rows = await session.scalars(_CHANGED, params)
    return [(RESERVATION, str(line_id), "put") for line_id in rows]
