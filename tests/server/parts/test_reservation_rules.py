"""Reservations follow the work order's life: none for finished work, none left behind."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts.ledger import service as ledger
from server.parts.models import StockBalance
from tests.fixtures.factories import make_location, make_part, make_tenant, make_ticket, move

MOVES = "/api/v1/stock-movements"


async def _walk(
    client: httpx.AsyncClient, headers: dict[str, str], ticket_id: str, *bodies: dict
) -> None:
    for body in bodies:
        response = await client.post(
            f"/api/v1/tickets/{ticket_id}/transitions", json=body, headers=headers
        )
        assert response.status_code == 200, response.text


async def test_closing_a_work_order_releases_what_it_still_had_reserved(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await make_part(db, admin)
    warehouse = await make_location(db, admin)
    await move(db, admin, kind="receive", part_id=part.id, quantity=10, to_location_id=warehouse.id)
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, t.asset)
    await move(
        db,
        admin,
        kind="reserve",
        part_id=part.id,
        quantity=3,
        from_location_id=warehouse.id,
        ticket_id=ticket.id,
    )
    await db.flush()
    headers = t.headers("dispatcher")
    await _walk(
        client,
        headers,
        str(ticket.id),
        {"action": "assign", "engineer_id": str(t.engineers[0].id)},
        {"action": "accept"},
        {"action": "arrive"},
        {"action": "resolve"},
        {"action": "close"},
    )
    reserved = await db.scalar(
        select(StockBalance.reserved).where(
            StockBalance.location_id == warehouse.id, StockBalance.part_id == part.id
        )
    )
    assert reserved == 0
    assert await ledger.check(db, t.org.id) == []
    events = (await client.get(f"/api/v1/tickets/{ticket.id}/events", headers=headers)).json()
    assert events[-1]["changes"]["reservations_released"] == 1


async def test_no_reservations_for_finished_work_orders(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await make_part(db, admin)
    warehouse = await make_location(db, admin)
    await move(db, admin, kind="receive", part_id=part.id, quantity=10, to_location_id=warehouse.id)
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, t.asset)
    await db.flush()
    headers = t.headers("dispatcher")
    await _walk(client, headers, str(ticket.id), {"action": "cancel", "reason": "duplicate"})
    response = await client.post(
        MOVES,
        json={
            "kind": "reserve",
            "part_id": str(part.id),
            "quantity": "2",
            "from_location_id": str(warehouse.id),
            "ticket_id": str(ticket.id),
        },
        headers=t.headers("admin"),
    )
    assert response.status_code == 422
    assert "cancelled" in response.json()["detail"]
