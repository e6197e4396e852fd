"""What an engineer's phone holds (``engineer:<id>``), computed from the token, never sent by
the phone:

- **assigned work**: work orders assigned to them that are open, or finished (resolved,
  closed, cancelled) less than ``SYNC_RECENT_DAYS`` ago (by ``updated_at``);
- the **customers, sites and assets** those work orders reference;
- the **asset history**: finished work orders on those assets, whoever did them (the
  feed sends the latest ``SYNC_HISTORY_PER_ASSET`` per asset when an asset enters the scope);
- the **field records** of the assigned work (visits, labour, part lines, notes, checklist
  answers, attachments, signatures);
- their **van's stock** balances;
- and the organisation's **catalogue** (parts, checklist templates), the ``catalogue`` scope.

Membership is decided when the pull runs, on the rows as they are then.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.tickets import Ticket
from shared.lifecycle import Status

# Work orders past the engineer's part: kept on the phone as history, not as work.
FINISHED = (Status.RESOLVED.value, Status.CLOSED.value, Status.CANCELLED.value)


@dataclass(frozen=True)
class Engineer:
    """The scope of one pull: whose, for which installation, and the window's edge."""

    org_id: uuid.UUID
    engineer_id: uuid.UUID
    client_id: uuid.UUID
    since: dt.datetime  # finished work orders updated before this have left the scope
    history_per_asset: int


def assigned(scope: Engineer) -> ColumnElement[bool]:
    return (
        (Ticket.org_id == scope.org_id)
        & (Ticket.assignee_id == scope.engineer_id)
        & or_(Ticket.status.not_in(FINISHED), Ticket.updated_at >= scope.since)
    )


def assigned_ids(scope: Engineer) -> Any:
    return select(Ticket.id).where(assigned(scope))


@dataclass
class Assigned:
    ids: set[uuid.UUID] = field(default_factory=set)
    customers: set[uuid.UUID] = field(default_factory=set)
    sites: set[uuid.UUID] = field(default_factory=set)
    assets: set[uuid.UUID] = field(default_factory=set)

    def holds(self, reference: str, row_id: uuid.UUID) -> bool:
        return (
            row_id
            in {"customer": self.customers, "site": self.sites, "asset": self.assets}[reference]
        )

    def holds_work_order(self, ticket: Ticket) -> bool:
        """Assigned work, or a finished work order on an asset of it (history)."""
        if ticket.id in self.ids:
            return True
        return ticket.status in FINISHED and ticket.asset_id in self.assets


async def load_assigned(session: AsyncSession, scope: Engineer) -> Assigned:
    rows = await session.execute(
        select(Ticket.id, Ticket.customer_id, Ticket.site_id, Ticket.asset_id).where(
            assigned(scope)
        )
    )
    out = Assigned()
    for ticket_id, customer_id, site_id, asset_id in rows:
        out.ids.add(ticket_id)
        out.customers.add(customer_id)
        if site_id is not None:
            out.sites.add(site_id)
        if asset_id is not None:
            out.assets.add(asset_id)
    return out


def history_query(scope: Engineer, assets: Any) -> Any:
    """The latest finished work orders on ``assets`` (ids or a subquery), per asset."""
    ranked = (
        select(
            Ticket.id,
            func.row_number()
            .over(
                partition_by=Ticket.asset_id, order_by=(Ticket.created_at.desc(), Ticket.id.desc())
            )
            .label("n"),
        )
        .where(
            Ticket.org_id == scope.org_id,
            Ticket.asset_id.in_(assets),
            Ticket.status.in_(FINISHED),
        )
        .subquery()
    )
    return (
        select(Ticket)
        .join(ranked, ranked.c.id == Ticket.id)
        .where(ranked.c.n <= scope.history_per_asset)
    )
