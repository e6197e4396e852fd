"""Quarantine, RMA and serial-unit rules found by the review of the ledger rewrite: each test
states the defect it guards against."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.parts import service as parts
from server.parts.ledger import service as ledger
from server.parts.locations import ensure_quarantine
from server.parts.models import StockBalance, StockUnit
from server.parts.schemas import PartUpdate
from tests.fixtures.factories import make_location, make_part, make_tenant, make_ticket
from tests.server.parts.test_stock_concurrency import _waiting_on

MOVES = "/api/v1/stock-movements"
RMA = "/api/v1/part-returns"


async def _scene(db: AsyncSession, serialised: bool = True) -> Any:
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await make_part(db, admin, serialised=serialised)
    store = await make_location(db, admin)
    vendor = await make_location(db, admin, kind="vendor", name="Vendor")
    van = await parts.ensure_van(db, t.engineers[0])
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await db.flush()
    return t, part, store, vendor, van, ticket


async def _post(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post(
        MOVES,
        json={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in body.items()},
        headers=headers,
    )


async def _rma_id(client: httpx.AsyncClient, t: Any, movement_id: str) -> str:
    items = (await client.get(RMA, headers=t.headers("admin"))).json()["items"]
    (rma,) = [r for r in items if r["movement_id"] == movement_id]
    return str(rma["id"])


async def _unit(db: AsyncSession, serial: str) -> StockUnit:
    unit = await db.scalar(
        select(StockUnit)
        .where(StockUnit.serial_number == serial)
        .execution_options(populate_existing=True)
    )
    assert unit is not None
    return unit


async def _defective_field_return(
    client: httpx.AsyncClient, t: Any, part: Any, van: Any, ticket: Any, serial: str
) -> str:
    r = await _post(
        client,
        t.headers("engineer1"),
        kind="return",
        part_id=part.id,
        quantity="1",
        to_location_id=van.id,
        ticket_id=ticket.id,
        condition="defective",
        serial_numbers=[serial],
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_quarantine_is_left_and_entered_only_through_returns(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A transfer out of quarantine used to be allowed, after which the field-opened RMA
    could never be closed (every closing transition moved the unit out of quarantine again).
    Now quarantine changes only through returns, and the RMA closes."""
    t, part, _store, vendor, van, ticket = await _scene(db)
    admin = t.headers("admin")
    line_id = await _defective_field_return(client, t, part, van, ticket, "BAD-1")
    quarantine = await ensure_quarantine(db, t.org.id)
    out = {"from_location_id": quarantine.id, "to_location_id": vendor.id}
    back = {"from_location_id": vendor.id, "to_location_id": quarantine.id}
    for locations, field in ((out, "from_location_id"), (back, "to_location_id")):
        r = await _post(
            client,
            admin,
            kind="transfer",
            part_id=part.id,
            quantity="1",
            serial_numbers=["BAD-1"],
            **locations,
        )
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    url = f"{RMA}/{await _rma_id(client, t, line_id)}/transitions"
    assert (await client.post(url, json={"status": "received"}, headers=admin)).status_code == 200
    credited = await client.post(url, json={"status": "credited"}, headers=admin)
    assert credited.status_code == 200, credited.text
    assert (await _unit(db, "BAD-1")).status == "scrapped"
    assert await ledger.check(db, t.org.id) == []


async def test_a_defective_unit_is_good_stock_again_only_once_repaired(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A unit quarantined from a shelf by a hand-opened return cannot be fitted; its repair
    brings it back into stock, in_stock, and then it can."""
    t, part, store, _vendor, _van, ticket = await _scene(db)
    admin = t.headers("admin")
    r = await _post(
        client,
        admin,
        kind="receive",
        part_id=part.id,
        quantity="1",
        to_location_id=store.id,
        serial_numbers=["BAD-2"],
    )
    assert r.status_code == 201, r.text
    opened = await client.post(
        RMA,
        json={
            "part_id": str(part.id),
            "serial_number": "BAD-2",
            "from_location_id": str(store.id),
        },
        headers=admin,
    )
    assert opened.status_code == 201, opened.text
    quarantine = await ensure_quarantine(db, t.org.id)
    unit = await _unit(db, "BAD-2")
    assert (unit.location_id, unit.status) == (quarantine.id, "returned")
    consume = {
        "kind": "consume",
        "part_id": part.id,
        "quantity": "1",
        "from_location_id": store.id,
        "ticket_id": ticket.id,
        "serial_numbers": ["BAD-2"],
    }
    assert (await _post(client, admin, **consume)).status_code == 409
    url = f"{RMA}/{opened.json()['id']}/transitions"
    for status in ("received", "under_repair"):
        assert (await client.post(url, json={"status": status}, headers=admin)).status_code == 200
    body = {"status": "repaired", "to_location_id": str(store.id)}
    assert (await client.post(url, json=body, headers=admin)).status_code == 200
    unit = await _unit(db, "BAD-2")
    assert (unit.location_id, unit.status) == (store.id, "in_stock")
    assert (await _post(client, admin, **consume)).status_code == 201
    assert await ledger.check(db, t.org.id) == []


async def test_field_consume_of_a_quarantined_unit_leaves_no_unclosable_rma(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Defect: the defective unit stays physically in the van (docs); an engineer who fits
    it again gets a correcting transfer out of quarantine and an installed unit, while its
    RMA stays open and can no longer be scrapped (409 stock_unit_conflict)."""
    t, part, _store, _vendor, van, ticket = await _scene(db)
    admin = t.headers("admin")
    line_id = await _defective_field_return(client, t, part, van, ticket, "BAD-3")
    r = await _post(
        client,
        t.headers("engineer1"),
        kind="consume",
        part_id=part.id,
        quantity="1",
        from_location_id=van.id,
        ticket_id=ticket.id,
        serial_numbers=["BAD-3"],
    )
    assert r.status_code == 201, r.text
    url = f"{RMA}/{await _rma_id(client, t, line_id)}/transitions"
    scrapped = await client.post(url, json={"status": "scrapped"}, headers=admin)
    assert scrapped.status_code == 200, scrapped.text


async def test_a_correcting_adjustment_does_not_clear_the_reconciliation_flag(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Defect (low): _found_here writes its correction as an ADJUST through ledger.record,
    and _counted treats every adjust as a count: a van flagged needs_reconciliation (and
    never counted) is cleared by an engineer fitting a never-seen serial."""
    t, part, _store, _vendor, van, ticket = await _scene(db)
    admin, eng = t.headers("admin"), t.headers("engineer1")
    other = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await db.flush()
    r = await _post(
        client,
        admin,
        kind="receive",
        part_id=part.id,
        quantity="1",
        to_location_id=van.id,
        serial_numbers=["A-1"],
    )
    assert r.status_code == 201, r.text
    r = await _post(
        client,
        admin,
        kind="reserve",
        part_id=part.id,
        quantity="1",
        from_location_id=van.id,
        ticket_id=ticket.id,
    )
    assert r.status_code == 201, r.text
    # Used for another work order: on hand 0 < reserved 1, flagged.
    r = await _post(
        client,
        eng,
        kind="consume",
        part_id=part.id,
        quantity="1",
        from_location_id=van.id,
        ticket_id=other.id,
        serial_numbers=["A-1"],
    )
    assert r.status_code == 201, r.text
    r = await _post(
        client,
        admin,
        kind="receive",
        part_id=part.id,
        quantity="1",
        to_location_id=van.id,
        serial_numbers=["A-2"],
    )
    assert r.status_code == 201, r.text

    async def flagged() -> bool:
        value = await db.scalar(
            select(StockBalance.needs_reconciliation)
            .where(StockBalance.location_id == van.id, StockBalance.part_id == part.id)
            .execution_options(populate_existing=True)
        )
        return bool(value)

    assert await flagged()
    # The engineer fits a serial the books never had: no count happened.
    r = await _post(
        client,
        eng,
        kind="consume",
        part_id=part.id,
        quantity="1",
        from_location_id=van.id,
        ticket_id=other.id,
        serial_numbers=["NEVER-1"],
    )
    assert r.status_code == 201, r.text
    assert await flagged()


async def test_serialised_flag_cannot_change_while_a_concurrent_movement_adds_stock(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine, app: Any
) -> None:
    """Defect (race): PATCH serialised locks the part row and counts committed balances; a
    movement reads the part without a lock (_LOOKUP), so a receive that read the part before
    the PATCH committed waits only on the FK check (KEY SHARE) and then writes untracked stock
    of a now-serialised part: ledger.check reports a "units" problem."""
    db = committing_db
    t = await make_tenant(db, "flag race")
    admin = t.actor("admin")
    part = await make_part(db, admin)
    warehouse = await make_location(db, admin)
    await db.commit()
    org_id, part_id = t.org.id, part.id
    body = {
        "kind": "receive",
        "part_id": str(part_id),
        "quantity": "5",
        "to_location_id": str(warehouse.id),
    }
    async with app.state.sessionmaker() as patcher, engine.connect() as monitor:
        # The PATCH has locked the part and found no stock held; not yet committed.
        await parts.update_part(
            patcher,
            admin,
            part_id=part_id,
            data=PartUpdate(serialised=True),
            expected_version=None,
        )
        await patcher.flush()
        pid = int(await patcher.scalar(text("SELECT pg_backend_pid()")) or 0)
        task = asyncio.ensure_future(
            committing_client.post(MOVES, json=body, headers=t.headers("admin"))
        )
        for _ in range(250):
            if task.done() or await _waiting_on(monitor, pid) >= 1:
                break
            await asyncio.sleep(0.02)
        waited = await _waiting_on(monitor, pid)
        await patcher.commit()
        response = await task
    assert waited == 1, "the receive did not overlap the PATCH"
    await db.rollback()
    problems = await ledger.check(db, org_id)
    assert response.status_code != 201 or problems == [], (response.status_code, problems)
