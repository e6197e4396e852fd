"""Pick lists per engineer and day; a cancelled work order gives its reservations back."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts
from server.parts.ledger import service as ledger
from server.parts.schemas import LocationCreate, MovementCreate, PartCreate
from server.tickets import service as tickets
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import make_tenant, make_ticket

TODAY = dt.date(2030, 5, 6)


async def test_pick_list_holds_the_days_outstanding_reservations_and_engineers_ask_for_themselves(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site
    admin, dispatcher = t.actor("admin"), t.actor("dispatcher")
    part = await parts.create_part(db, admin, data=PartCreate(sku="P-1", name="Pump"))
    store = await parts.create_location(db, admin, data=LocationCreate(kind="warehouse", name="W"))
    await parts.create_movement(
        db,
        admin,
        data=MovementCreate(kind="receive", part_id=part.id, quantity=10, to_location_id=store.id),
    )
    start = dt.datetime(2030, 5, 6, 9, tzinfo=dt.UTC)
    today = await make_ticket(
        db,
        dispatcher,
        t.customer,
        t.site,
        assign_to=t.engineers[0],
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
    )
    later = await make_ticket(
        db,
        dispatcher,
        t.customer,
        t.site,
        assign_to=t.engineers[0],
        window_start=start + dt.timedelta(days=3),
        window_end=start + dt.timedelta(days=3, hours=2),
    )
    for ticket, qty in ((today, 3), (later, 2)):
        await parts.create_movement(
            db,
            admin,
            data=MovementCreate(
                kind="reserve",
                part_id=part.id,
                quantity=qty,
                from_location_id=store.id,
                ticket_id=ticket.id,
            ),
        )
    await parts.create_movement(
        db,
        admin,
        data=MovementCreate(
            kind="release",
            part_id=part.id,
            quantity=1,
            from_location_id=store.id,
            ticket_id=today.id,
        ),
    )
    await db.flush()
    response = await client.get(
        "/api/v1/pick-lists", params={"date": TODAY.isoformat()}, headers=t.headers("engineer1")
    )
    assert response.status_code == 200, response.text
    lines = response.json()["lines"]
    assert [(x["ticket_id"], x["sku"], x["quantity"], x["location_id"]) for x in lines] == [
        (str(today.id), "P-1", "2.000", str(store.id))
    ]
    assert lines[0]["ticket_number"] == f"WO-{today.number:06d}"  # as the work order reads
    params = {"date": TODAY.isoformat(), "engineer_id": str(t.engineers[1].id)}
    assert (
        await client.get("/api/v1/pick-lists", params=params, headers=t.headers("engineer1"))
    ).status_code == 404
    assert (
        await client.get("/api/v1/pick-lists", params=params, headers=t.headers("dispatcher"))
    ).json()["lines"] == []
    other = await make_tenant(db, "Other")
    params["engineer_id"] = str(t.engineers[0].id)
    assert (
        await client.get("/api/v1/pick-lists", params=params, headers=other.headers("admin"))
    ).status_code == 404


async def test_cancelling_a_work_order_releases_its_outstanding_reservations(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site
    admin = t.actor("admin")
    part = await parts.create_part(db, admin, data=PartCreate(sku="P-2", name="Pump"))
    store = await parts.create_location(db, admin, data=LocationCreate(kind="warehouse", name="W"))
    await parts.create_movement(
        db,
        admin,
        data=MovementCreate(kind="receive", part_id=part.id, quantity=5, to_location_id=store.id),
    )
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    await parts.create_movement(
        db,
        admin,
        data=MovementCreate(
            kind="reserve",
            part_id=part.id,
            quantity=4,
            from_location_id=store.id,
            ticket_id=ticket.id,
        ),
    )
    (balance,) = await parts.balances(db, admin, location_id=store.id, limit=10, after_part_id=None)
    assert balance.reserved == 4
    await tickets.apply_transition(
        db,
        t.actor("agent"),
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.CANCEL, reason="customer fixed it"),
    )
    await db.flush()
    await db.refresh(balance)
    assert balance.reserved == 0
    held = await ledger.outstanding_reservation(
        db, location_id=store.id, part_id=part.id, ticket_id=ticket.id
    )
    assert held == 0
    assert await ledger.check(db, t.org.id) == []
