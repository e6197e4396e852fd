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
from server.tickets import TicketEvent
from server.tickets import service as tickets
from server.tickets.schemas import TransitionIn
from shared.ids import uuid7
from tests.fixtures.factories import Tenant, make_customer, make_tenant, make_ticket
from tests.server.field.helpers import on_site

DAY = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


async def fact(db: AsyncSession, ticket_id: uuid.UUID) -> WorkOrderFact:
    row = await db.scalar(
        select(WorkOrderFact)
        .where(WorkOrderFact.ticket_id == ticket_id)
        .execution_options(populate_existing=True)
    )
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


async def backdate(db: AsyncSession, ticket_id: uuid.UUID, **instants: dt.datetime) -> None:
    """Move a work order's instants (the services stamp the clock; a case needs days)."""
    sets = ", ".join(f"{name} = :{name}" for name in instants)
    await db.execute(
        text(f"UPDATE tickets SET {sets} WHERE id = :id"),
        {"id": ticket_id, **instants},
    )


async def test_repeats_and_the_next_work_order_on_the_asset(db: AsyncSession) -> None:
    """Looking forward from a resolved repair: what came back, and when. A cancelled work
    order and planned maintenance are no follow-up; a repeat counts on the original."""
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    who = t.actor("dispatcher")
    on_asset = (t.customer, t.site, t.asset)
    first = await make_ticket(db, who, *on_asset, fault_code="E1", type="repair")
    service = await make_ticket(db, who, *on_asset, type="maintenance")
    cancelled = await make_ticket(db, who, *on_asset, fault_code="E1", type="repair")
    again = await make_ticket(
        db, who, *on_asset, fault_code="E1", type="repair", repeat_of_id=first.id
    )
    other_fault = await make_ticket(db, who, *on_asset, fault_code="E2", type="repair")
    await step(db, t, "dispatcher", cancelled.id, action="cancel", reason="duplicate")
    await backdate(db, first.id, created_at=DAY, status="closed", resolved_at=DAY + H)
    await backdate(db, service.id, created_at=DAY + 2 * H)
    await backdate(db, cancelled.id, created_at=DAY + 3 * H)
    await backdate(db, again.id, created_at=DAY + 5 * H)
    await backdate(db, other_fault.id, created_at=DAY + 10 * H)

    ids = [first.id, service.id, cancelled.id, again.id, other_fault.id]
    assert await refresh.refresh_work_orders(db, t.org.id, ids) == 5
    row = await fact(db, first.id)
    assert row.marked_repeat_at == DAY + 5 * H  # 'again' says it repeats the first
    assert row.same_fault_next_at == DAY + 5 * H  # the cancelled one is no repeat
    assert row.next_on_asset_at == DAY + 5 * H  # nor is the maintenance a follow-up
    # Work orders not resolved look forward at nothing.
    for open_one in (again.id, other_fault.id, service.id):
        f = await fact(db, open_one)
        assert (f.marked_repeat_at, f.same_fault_next_at, f.next_on_asset_at) == (None,) * 3
    assert (await fact(db, again.id)).repeat_of_id == first.id  # the call-back's own mark

    # Opened while the first was still open: marked a repeat (the desk said so), but no
    # detected repeat and no follow-up; the next repair after the resolution is then E2's.
    await backdate(db, again.id, created_at=DAY + H / 2)
    await refresh.refresh_work_orders(db, t.org.id, [again.id])  # the first is a neighbour
    row = await fact(db, first.id)
    assert row.marked_repeat_at == DAY + H / 2
    assert row.same_fault_next_at is None
    assert row.next_on_asset_at == DAY + 10 * H


async def test_a_repeat_on_another_asset_still_reaches_the_work_order_it_repeats(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site
    customer_y, site_y, asset_y = await make_customer(db, t.org)
    who = t.actor("dispatcher")
    first = await make_ticket(db, who, t.customer, t.site)
    await backdate(db, first.id, created_at=DAY, status="closed", resolved_at=DAY + H)
    await refresh.refresh_work_orders(db, t.org.id, [first.id])
    assert (await fact(db, first.id)).marked_repeat_at is None
    again = await make_ticket(db, who, customer_y, site_y, asset_y, repeat_of_id=first.id)
    await refresh.refresh_work_orders(db, t.org.id, [again.id])
    assert (await fact(db, first.id)).marked_repeat_at == again.created_at


H = dt.timedelta(days=1)  # the repeat cases count in days


async def test_the_incremental_refresh_takes_what_changed_and_the_neighbours(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    customer_y, site_y, asset_y = await make_customer(db, t.org)
    who = t.actor("dispatcher")
    old = await make_ticket(db, who, t.customer, t.site, t.asset)
    elsewhere = await make_ticket(db, who, customer_y, site_y, asset_y)
    for ticket_id in (old.id, elsewhere.id):
        await backdate(db, ticket_id, created_at=DAY - 30 * H, updated_at=DAY - 30 * H)
    await backdate(db, old.id, status="closed", resolved_at=DAY - 29 * H)
    assert (await refresh.refresh_org(db, t.org.id, full=True))[0] == 2
    # Spoilt by hand: a recomputed row is right again, one left alone stays spoilt.
    await db.execute(
        text("UPDATE kpi_work_orders SET work_s = -1 WHERE org_id = :o"), {"o": t.org.id}
    )

    newer, _visit = await on_site(db, t)  # on the first asset: the old one's next
    assert await refresh.refresh_org(db, t.org.id) == (2, await days(db, t))
    assert (await fact(db, old.id)).next_on_asset_at == newer.created_at
    assert (await fact(db, old.id)).work_s == 0
    assert (await fact(db, elsewhere.id)).work_s == -1  # nothing of it changed
    assert (await fact(db, newer.id)).work_s == 0

    await labour(db, t, newer.id, "work", 0, 2)  # recorded later
    await refresh.refresh_org(db, t.org.id)
    assert (await fact(db, newer.id)).work_s == 7200
    day = await db.scalar(
        text("SELECT work_s FROM kpi_engineer_days WHERE engineer_id = :e AND day = :d"),
        {"e": t.engineers[0].id, "d": DAY.date()},
    )
    assert day == 7200  # and the engineer's day it fell on
    assert (await fact(db, elsewhere.id)).work_s == -1


async def days(db: AsyncSession, t: Tenant) -> int:
    count = await db.scalar(
        text("SELECT count(*) FROM kpi_engineer_days WHERE org_id = :o"), {"o": t.org.id}
    )
    return int(count or 0)


async def test_waiting_for_the_customer_is_read_from_the_hold_events(db: AsyncSession) -> None:
    """The events as the lifecycle writes them (hold with its kind in ``changes``, resume
    leaving ``on_hold``), at set times: within one test transaction the database clock
    stamps every event alike."""
    t = await make_tenant(db)
    assert t.customer
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    steps = [
        (1, "hold", "on_site", "on_hold", {"hold_kind": "waiting_customer", "sla_paused": True}),
        (3, "resume", "on_hold", "on_site", {}),
        (4, "hold", "on_site", "on_hold", {"hold_kind": "waiting_parts"}),
        (6, "resume", "on_hold", "on_site", {}),
        (7, "hold", "on_site", "on_hold", {"hold_kind": "waiting_customer"}),
        (7.5, "cancel", "on_hold", "cancelled", {}),
    ]
    for hours, action, source, target, changes in steps:
        db.add(
            TicketEvent(
                org_id=t.org.id,
                ticket_id=ticket.id,
                kind="transition",
                action=action,
                from_status=source,
                to_status=target,
                changes=changes,
                actor="user:test",
                created_at=DAY + dt.timedelta(hours=hours),
            )
        )
    await backdate(db, ticket.id, created_at=DAY, status="cancelled")
    await db.flush()
    await refresh.refresh_work_orders(db, t.org.id, [ticket.id])
    row = await fact(db, ticket.id)
    assert row.waiting_s == 2 * 3600 + 1800  # not the wait for parts
    assert row.cancelled_at == DAY + dt.timedelta(hours=7.5) == row.ended_at
    assert row.engineer_id == t.engineers[0].id and row.first_assigned_at is not None
