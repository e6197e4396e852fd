"""The refresh writes each work order's fact from the real rows the services wrote."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import service as field
from server.reports import WorkOrderFact, refresh
from server.tickets import service as tickets
from server.tickets.schemas import TransitionIn
from shared.ids import uuid7
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.server.field.helpers import on_site

DAY = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


async def fact(db: AsyncSession, ticket_id: uuid.UUID) -> WorkOrderFact:
    db.expire_all()
    row = await db.scalar(select(WorkOrderFact).where(WorkOrderFact.ticket_id == ticket_id))
    assert row is not None
    return row


async def step(db: AsyncSession, t: Tenant, who: str, ticket_id: uuid.UUID, **data: Any) -> None:
    await tickets.apply_transition(
        db, t.actor(who), ticket_id=ticket_id, data=TransitionIn.model_validate(data)
    )
    await db.flush()


async def resolve(
    db: AsyncSession, t: Tenant, ticket_id: uuid.UUID, who: str = "engineer1"
) -> None:
    await field.resolve(
        db, t.actor(who), ticket_id=ticket_id, resolution_code="FIXED", summary="ok"
    )
    await db.flush()


async def labour(
    db: AsyncSession, t: Tenant, ticket_id: uuid.UUID, kind: str, start_h: float, hours: float
) -> uuid.UUID:
    start = DAY + dt.timedelta(hours=start_h)
    entry = await field.add_labour(
        db,
        t.actor("engineer1"),
        ticket_id=ticket_id,
        entry_id=uuid7(),
        kind=kind,
        started_at=start,
        ended_at=start + dt.timedelta(hours=hours),
    )
    await db.flush()
    return entry.id


async def test_a_reopened_work_order_counts_its_last_resolution(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.asset
    asset_id, engineer_id = t.asset.id, t.engineers[0].id
    t.engineers[0].team, t.engineers[0].hourly_cost = "North", Decimal("60.00")
    ticket, _visit = await on_site(db, t)
    await labour(db, t, ticket.id, "travel", 0, 0.5)
    work = await labour(db, t, ticket.id, "work", 0.5, 1)
    voided = await labour(db, t, ticket.id, "work", 2, 3)
    await field.void_labour(
        db, t.actor("engineer1"), entry_id=voided, void_id=uuid7(), reason="twice"
    )
    await field.adjust_labour(
        db,
        t.actor("engineer1"),
        entry_id=work,
        adjustment_id=uuid7(),
        started_at=DAY + dt.timedelta(hours=0.5),
        ended_at=DAY + dt.timedelta(hours=2),
        reason="forgot the test run",
    )
    await resolve(db, t, ticket.id)
    await step(db, t, "dispatcher", ticket.id, action="reopen", reason="still noisy")
    await resolve(db, t, ticket.id)

    assert await refresh.refresh_work_orders(db, t.org.id, [ticket.id]) == 1
    row = await fact(db, ticket.id)
    await db.refresh(ticket)
    assert row.status == "resolved" and row.reopened == 1 and row.visits == 1
    assert row.resolved_at == ticket.resolved_at and row.ended_at == ticket.resolved_at
    assert row.engineer_id == engineer_id and row.team == "North"
    assert row.product_model == "CH-200" and row.asset_id == asset_id
    assert (row.work_s, row.travel_s) == (5400, 1800)  # the adjustment, not the void
    assert row.labour_cost == Decimal("120.00")  # 2 h at 60
    assert row.first_assigned_at is not None and row.schedule_s is not None
    assert row.resolve_s == int((ticket.resolved_at - ticket.created_at).total_seconds())  # type: ignore[operator]


async def test_another_organisations_rows_are_never_touched(db: AsyncSession) -> None:
    mine, theirs = await make_tenant(db), await make_tenant(db)
    assert mine.customer and theirs.customer
    own = await make_ticket(db, mine.actor("dispatcher"), mine.customer)
    other = await make_ticket(db, theirs.actor("dispatcher"), theirs.customer)
    assert await refresh.refresh_work_orders(db, mine.org.id, [own.id, other.id]) == 1
    written = await db.scalars(
        text("SELECT ticket_id FROM kpi_work_orders WHERE org_id = :o"), {"o": theirs.org.id}
    )
    assert list(written) == []
