"""Parts consumed and turnover from the stock ledger (real movements)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts
from server.parts.schemas import LocationCreate, MovementCreate, PartCreate
from server.reports import service
from server.reports.query import parse
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.reports.kpi_data import fact_of


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
