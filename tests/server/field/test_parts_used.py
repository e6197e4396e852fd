"""Parts used and returned on a work order: ledger movements, idempotent by the phone's
line id (the ledger is append-only, so a retry must be recognised by id, not content)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import service as field
from server.parts import service as parts
from server.parts.models import StockBalance, StockMovement
from shared.ids import uuid7
from tests.fixtures.factories import Tenant, make_part, make_tenant, move
from tests.server.field.helpers import get, on_site, post


async def _stocked_van(db: AsyncSession, t: Tenant, quantity: int = 5) -> tuple[Any, Any]:
    part = await make_part(db, t.actor("admin"))
    van = await parts.ensure_van(db, t.engineers[0])
    await move(
        db,
        t.actor("admin"),
        kind="receive",
        part_id=part.id,
        quantity=quantity,
        to_location_id=van.id,
    )
    return part, van


async def _on_hand(db: AsyncSession, location_id: Any, part_id: Any) -> Decimal:
    value = await db.scalar(
        select(StockBalance.on_hand).where(
            StockBalance.location_id == location_id, StockBalance.part_id == part_id
        )
    )
    return Decimal(value or 0)


async def test_a_line_reported_twice_moves_stock_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    part, van = await _stocked_van(db, t)
    ticket, visit = await on_site(db, t)
    url = f"/api/v1/tickets/{ticket.id}/parts-used"
    body = {
        "line_id": str(uuid7()),
        "action": "use",
        "part_id": str(part.id),
        "quantity": "2",
        "visit_id": str(visit.id),
    }
    first = await post(client, t, "engineer1", url, body)
    assert first.status_code == 201, first.text
    again = await post(client, t, "engineer1", url, body)
    assert again.status_code == 201 and again.json() == first.json()
    assert await _on_hand(db, van.id, part.id) == 3
    moved = await db.scalar(
        select(func.count())
        .select_from(StockMovement)
        .where(StockMovement.ticket_id == ticket.id, StockMovement.kind == "consume")
    )
    assert moved == 1
    line = await db.get(StockMovement, first.json()["movement_id"])
    assert line is not None and line.visit_id == visit.id and line.from_field is True
    # Same content, new id: a second real use (the ledger never dedupes by content).
    second = await post(client, t, "engineer1", url, {**body, "line_id": str(uuid7())})
    assert second.status_code == 201
    assert await _on_hand(db, van.id, part.id) == 1
    clash = await post(client, t, "engineer1", url, {**body, "quantity": "3"})
    assert clash.status_code == 409 and clash.json()["fields"] == ["quantity"]
    lines = await get(client, t, "viewer", url)
    assert [x["quantity"] for x in lines] == ["2.000", "2.000"]


async def test_field_use_is_never_refused_for_lack_of_stock(db: AsyncSession) -> None:
    t = await make_tenant(db)
    part, van = await _stocked_van(db, t, quantity=1)
    ticket, _ = await on_site(db, t)
    line = await field.use_part(
        db,
        t.actor("engineer1"),
        ticket_id=ticket.id,
        line_id=uuid7(),
        part_id=part.id,
        quantity="3",
    )
    assert line.quantity == 3
    assert await _on_hand(db, van.id, part.id) == -2


async def test_a_defective_return_goes_to_quarantine(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    part, van = await _stocked_van(db, t)
    ticket, _ = await on_site(db, t)
    url = f"/api/v1/tickets/{ticket.id}/parts-used"
    body = {
        "line_id": str(uuid7()),
        "action": "return",
        "part_id": str(part.id),
        "quantity": "1",
        "condition": "defective",
    }
    response = await post(client, t, "engineer1", url, body)
    assert response.status_code == 201, response.text
    line = await db.get(StockMovement, response.json()["movement_id"])
    assert line is not None and line.kind == "return" and line.condition == "defective"
    assert line.to_location_id != van.id
    missing = await post(
        client, t, "engineer1", url, {**body, "line_id": str(uuid7()), "condition": None}
    )
    assert missing.status_code == 422


async def test_parts_used_follow_the_work_orders_scope(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    part, _ = await _stocked_van(db, t)
    ticket, _ = await on_site(db, t)
    url = f"/api/v1/tickets/{ticket.id}/parts-used"
    body = {"line_id": str(uuid7()), "action": "use", "part_id": str(part.id), "quantity": "1"}
    assert (await post(client, t, "engineer2", url, body)).status_code == 404
    assert (await post(client, t, "agent", url, body)).status_code == 403
    other = await make_tenant(db)
    assert (await post(client, other, "engineer1", url, body)).status_code == 404
    # The back office records from the engineer's van.
    by_office = await post(client, t, "dispatcher", url, body)
    assert by_office.status_code == 201, by_office.text
