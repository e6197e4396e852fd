"""Parts consumed and turnover from the stock ledger (real movements)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.parts import service as parts
from server.parts import stock_reports
from server.parts.schemas import LocationCreate, MovementCreate, PartCreate
from server.reports import service
from server.reports.query import local_midnight, parse
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.reports.kpi_data import fact_of

ONE_DAY = dt.timedelta(days=1)


async def test_parts_consumed_less_returned_and_the_turnover(db: AsyncSession) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await parts.create_part(
        db, admin, data=PartCreate(sku="FAN-1", name="Fan", cost=Decimal(10))
    )
    store = await parts.create_location(
        db, admin, data=LocationCreate(kind="warehouse", name="Main")
    )
    assert t.customer and t.site
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    db.add(fact_of(ticket, product_model="CH-200"))
    for kind, quantity, where in (
        ("receive", 10, {"to_location_id": store.id}),
        ("consume", 3, {"from_location_id": store.id, "ticket_id": ticket.id}),
        ("return", 1, {"to_location_id": store.id, "ticket_id": ticket.id, "condition": "good"}),
    ):
        data = MovementCreate(kind=kind, part_id=part.id, quantity=quantity, **where)
        await parts.create_movement(db, admin, data=data)
    await db.flush()
    query = parse(start=None, end=None, today=await service.today(db, admin), period="none")

    [row] = (await service.parts(db, admin, query)).rows
    assert (row.consumed_qty, row.consumed_cost) == (2.0, 20.0)
    # 30 consumed from stock / the average of 0 (before the delivery) and 80 (8 left).
    assert row.turnover == 0.75

    grouped = await service.parts(db, admin, parse(
        start=None, end=None, today=query.end, period="none", group_by="product_model"
    ))  # fmt: skip
    assert [(r.key, r.consumed_qty, r.turnover) for r in grouped.rows] == [("CH-200", 2.0, None)]
    mine = await service.parts(db, t.actor("engineer1"), query)
    assert [(r.consumed_qty, r.turnover) for r in mine.rows] == [(0.0, None)]  # not their work
    # A key that may read the KPIs but not the stock ledger gets no ledger numbers.
    key = Actor(org_id=t.org.id, role=None, scopes=frozenset({"kpis:read"}), label="key:k")
    [row] = (await service.compute(db, key, query)).rows
    assert (row.values["parts_consumed_qty"].value, row.values["parts_turnover"].value) == (0, None)


async def test_turnover_per_day_comes_from_one_ledger_scan_and_agrees_with_the_report(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await parts.create_part(db, admin, data=PartCreate(sku="F", name="F", cost=Decimal(4)))
    store = await parts.create_location(db, admin, data=LocationCreate(kind="warehouse", name="V"))
    assert t.customer and t.site
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    for kind, quantity, where in (
        ("receive", 5, {"to_location_id": store.id}),
        ("consume", 2, {"from_location_id": store.id, "ticket_id": ticket.id}),
    ):
        data = MovementCreate(kind=kind, part_id=part.id, quantity=quantity, **where)
        await parts.create_movement(db, admin, data=data)
    today = await service.today(db, admin)
    days = parse(
        start=today - dt.timedelta(days=2), end=today, today=today, period="day",
        metrics="parts_turnover",
    )  # fmt: skip
    rows = (await service.compute(db, admin, days)).rows
    turnover = [r.values["parts_turnover"] for r in rows]
    # 8 consumed today / the average of 0 (before the delivery) and 12 (3 left at 4)
    assert [v.value for v in turnover] == [None, None, round(8 / 6, 4)]
    zone = (await service.compute(db, admin, days)).time_zone
    report = await stock_reports.turnover(
        db, admin, start=local_midnight(today, zone), end=local_midnight(today + ONE_DAY, zone)
    )
    assert sum(loc.consumed_cost for loc in report.locations) == Decimal(turnover[2].numerator)


async def test_the_turnover_series_agrees_with_the_turnover_report_of_each_period(
    db: AsyncSession,
) -> None:
    """The series (one scan for every period, the KPIs' turnover) and the per-location
    report are two statements of one rule: over a generated year with receipts, transfers,
    consumes and returns, each period's consumed cost and stock values are the report's
    summed over the stock locations."""
    from sqlalchemy import select

    from server.auth import User
    from server.reports.history import Options, generate

    summary = await generate(
        db, Options(500, 10, 4, 17, "turnover-series"), password="turnover-password"
    )
    boss = await db.scalar(
        select(User).where(User.org_id == summary.org_id, User.role == "dispatcher")
    )
    assert boss is not None and summary.last_day is not None
    from tests.fixtures.factories import actor_for

    actor = actor_for(boss)
    last = local_midnight(summary.last_day, "UTC")
    bounds = [last - dt.timedelta(days=30 * n) for n in range(4, -1, -1)]
    series = await stock_reports.turnover_series(db, actor, bounds=bounds)
    assert any(p.consumed_cost for p in series)
    for period in series:
        report = await stock_reports.turnover(db, actor, start=period.start, end=period.end)
        locations = report.locations
        assert period.consumed_cost == sum(loc.consumed_cost for loc in locations)
        assert period.start_value == sum(loc.start_value for loc in locations)
        assert period.end_value == sum(loc.end_value for loc in locations)
