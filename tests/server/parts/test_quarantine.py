"""Defective returns are quarantined: counted and valued, never usable, until their RMA ends
(repaired: back into stock; scrapped or kept by the vendor: off the books)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts
from server.parts.ledger import service as ledger
from server.parts.locations import ensure_quarantine
from server.parts.models import StockBalance, StockLocation, StockMovement, StockUnit
from server.parts.schemas import LocationCreate, PartCreate
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_tenant, make_ticket

MOVES = "/api/v1/stock-movements"
RMA = "/api/v1/part-returns"


@dataclass
class Scene:
    t: Tenant
    part: uuid.UUID
    store: StockLocation
    van: StockLocation
    ticket: Ticket


async def _scene(db: AsyncSession, *, serialised: bool = False) -> Scene:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    admin = t.actor("admin")
    part = await parts.create_part(
        db, admin, data=PartCreate(sku="PMP-1", name="Pump", serialised=serialised)
    )
    store = await parts.create_location(db, admin, data=LocationCreate(kind="warehouse", name="W"))
    van = await parts.ensure_van(db, t.engineers[0])
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await db.flush()
    return Scene(t, part.id, store, van, ticket)


async def _on_hand(db: AsyncSession, location: StockLocation, part: uuid.UUID) -> Decimal:
    value = await db.scalar(
        select(StockBalance.on_hand).where(
            StockBalance.location_id == location.id, StockBalance.part_id == part
        )
    )
    return value if value is not None else Decimal(0)


async def _defective_return(client: httpx.AsyncClient, s: Scene, **extra: object) -> dict:
    body = {
        "kind": "return",
        "part_id": str(s.part),
        "quantity": "2",
        "to_location_id": str(s.van.id),
        "ticket_id": str(s.ticket.id),
        "condition": "defective",
        **extra,
    }
    response = await client.post(MOVES, json=body, headers=s.t.headers("engineer1"))
    assert response.status_code == 201, response.text
    line: dict = response.json()
    return line


async def _rma_for(client: httpx.AsyncClient, s: Scene, movement_id: str) -> str:
    items = (await client.get(RMA, headers=s.t.headers("admin"))).json()["items"]
    (rma,) = [r for r in items if r["movement_id"] == movement_id]
    return str(rma["id"])


async def test_a_defective_return_is_counted_in_quarantine_not_in_the_van(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _scene(db)
    line = await _defective_return(client, s)
    quarantine = await ensure_quarantine(db, s.t.org.id)
    assert line["to_location_id"] == str(quarantine.id)
    assert await _on_hand(db, s.van, s.part) == 0
    assert await _on_hand(db, quarantine, s.part) == 2
    # The engineer who recorded it still sees the line (it is on their work order).
    listed = await client.get(MOVES, headers=s.t.headers("engineer1"))
    assert [m["id"] for m in listed.json()["items"]] == [line["id"]]
    assert (await client.get(MOVES, headers=s.t.headers("engineer2"))).json()["items"] == []
    # Good returns still go into the van.
    good = await _defective_return(client, s, condition="good", quantity="1")
    assert good["to_location_id"] == str(s.van.id)
    assert await _on_hand(db, s.van, s.part) == 1
    assert await ledger.check(db, s.t.org.id) == []


async def test_quarantined_parts_cannot_be_used_or_reserved(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _scene(db)
    await _defective_return(client, s)
    quarantine = await ensure_quarantine(db, s.t.org.id)
    admin = s.t.headers("admin")
    for kind in ("consume", "reserve"):
        body = {
            "kind": kind,
            "part_id": str(s.part),
            "quantity": "1",
            "from_location_id": str(quarantine.id),
            "ticket_id": str(s.ticket.id),
        }
        refused = await client.post(MOVES, json=body, headers=admin)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "from_location_id"
    # Engineers do not see the quarantine at all.
    body = {
        "kind": "consume",
        "part_id": str(s.part),
        "quantity": "1",
        "from_location_id": str(quarantine.id),
        "ticket_id": str(s.ticket.id),
    }
    hidden = await client.post(MOVES, json=body, headers=s.t.headers("engineer1"))
    assert hidden.status_code == 404
    assert await _on_hand(db, quarantine, s.part) == 2


async def test_a_repaired_return_goes_back_into_the_named_stock_location(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _scene(db)
    line = await _defective_return(client, s)
    url = f"{RMA}/{await _rma_for(client, s, line['id'])}/transitions"
    admin = s.t.headers("admin")
    for status in ("received", "under_repair"):
        assert (await client.post(url, json={"status": status}, headers=admin)).status_code == 200
    missing = await client.post(url, json={"status": "repaired"}, headers=admin)
    assert missing.status_code == 422 and missing.json()["field"] == "to_location_id"
    quarantine = await ensure_quarantine(db, s.t.org.id)
    for wrong in (quarantine.id, uuid.uuid4()):
        body = {"status": "repaired", "to_location_id": str(wrong)}
        assert (await client.post(url, json=body, headers=admin)).status_code == 422
    body = {"status": "repaired", "to_location_id": str(s.store.id)}
    done = await client.post(url, json=body, headers=admin)
    assert done.status_code == 200, done.text
    assert await _on_hand(db, quarantine, s.part) == 0
    assert await _on_hand(db, s.store, s.part) == 2
    transfer = await db.scalar(
        select(StockMovement).where(
            StockMovement.org_id == s.t.org.id, StockMovement.kind == "transfer"
        )
    )
    assert transfer is not None and transfer.from_location_id == quarantine.id
    assert transfer.reason == "RMA-000001 repaired"
    assert await ledger.check(db, s.t.org.id) == []


async def test_scrapping_or_a_vendor_credit_takes_the_part_off_the_books_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _scene(db)
    admin = s.t.headers("admin")
    quarantine = await ensure_quarantine(db, s.t.org.id)
    first = await _defective_return(client, s)
    second = await _defective_return(client, s, quantity="1")
    assert await _on_hand(db, quarantine, s.part) == 3
    # Scrapped, then credited: one scrap line.
    url = f"{RMA}/{await _rma_for(client, s, first['id'])}/transitions"
    for status in ("scrapped", "credited"):
        assert (await client.post(url, json={"status": status}, headers=admin)).status_code == 200
    assert await _on_hand(db, quarantine, s.part) == 1
    # Received, then credited (the vendor keeps it): one scrap line.
    url = f"{RMA}/{await _rma_for(client, s, second['id'])}/transitions"
    for status in ("received", "credited"):
        assert (await client.post(url, json={"status": status}, headers=admin)).status_code == 200
    assert await _on_hand(db, quarantine, s.part) == 0
    scraps = await db.scalars(
        select(StockMovement.reason)
        .where(StockMovement.org_id == s.t.org.id, StockMovement.kind == "scrap")
        .order_by(StockMovement.id)
    )
    assert list(scraps) == [
        "RMA-000001 scrapped",
        "RMA-000002 credited: the vendor keeps it",
    ]
    # to_location_id belongs to repaired only.
    third = await _defective_return(client, s, quantity="1")
    url = f"{RMA}/{await _rma_for(client, s, third['id'])}/transitions"
    body = {"status": "scrapped", "to_location_id": str(s.store.id)}
    assert (await client.post(url, json=body, headers=admin)).status_code == 422
    assert await ledger.check(db, s.t.org.id) == []


async def test_a_removed_defective_unit_waits_in_quarantine_and_is_good_again_once_repaired(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    s = await _scene(db, serialised=True)
    admin = s.t.headers("admin")
    receive = {
        "kind": "receive",
        "part_id": str(s.part),
        "quantity": "1",
        "to_location_id": str(s.van.id),
        "serial_numbers": ["NEW-1"],
    }
    assert (await client.post(MOVES, json=receive, headers=admin)).status_code == 201
    consume = {
        "kind": "consume",
        "part_id": str(s.part),
        "quantity": "1",
        "from_location_id": str(s.van.id),
        "ticket_id": str(s.ticket.id),
        "serial_numbers": ["NEW-1"],
        "removed_serial_numbers": ["OLD-1"],
    }
    done = await client.post(MOVES, json=consume, headers=s.t.headers("engineer1"))
    assert done.status_code == 201, done.text
    quarantine = await ensure_quarantine(db, s.t.org.id)
    old = await db.scalar(select(StockUnit).where(StockUnit.serial_number == "OLD-1"))
    assert old is not None
    assert (old.location_id, old.status) == (quarantine.id, "returned")
    # A defective unit is not fitted again, even by the back office from the quarantine.
    again = {
        **consume,
        "from_location_id": str(quarantine.id),
        "serial_numbers": ["OLD-1"],
        "removed_serial_numbers": None,
    }
    assert (await client.post(MOVES, json=again, headers=admin)).status_code == 422
    return_line = await db.scalar(
        select(StockMovement.id).where(
            StockMovement.serial_number == "OLD-1", StockMovement.kind == "return"
        )
    )
    url = f"{RMA}/{await _rma_for(client, s, str(return_line))}/transitions"
    for status in ("received", "under_repair"):
        assert (await client.post(url, json={"status": status}, headers=admin)).status_code == 200
    body = {"status": "repaired", "to_location_id": str(s.store.id)}
    assert (await client.post(url, json=body, headers=admin)).status_code == 200
    await db.refresh(old)
    assert (old.location_id, old.status) == (s.store.id, "in_stock")
    assert await _on_hand(db, s.store, s.part) == 1
    assert await _on_hand(db, quarantine, s.part) == 0
    assert await ledger.check(db, s.t.org.id) == []
