"""Reassignment: the work order leaves the old engineer's phone on its next pull and
arrives on the new engineer's with its customer, site, asset and history, although none of
those rows changed."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.customers.models import Asset, Site
from server.field.models import TicketNote
from server.tickets import service as tickets
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.ids import uuid7
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.server.sync.helpers import Phone, changes_of, new_id


async def test_reassignment_moves_the_work_order_with_its_context(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    dispatcher = t.actor("dispatcher")
    one, two = t.engineers
    # Last year's repair of the asset, long finished (the asset's service history).
    earlier = await make_ticket(db, dispatcher, t.customer, t.site, t.asset, assign_to=one)
    for action in (Action.ACCEPT, Action.ARRIVE, Action.RESOLVE):
        await tickets.apply_transition(
            db, t.actor("engineer1"), ticket_id=earlier.id, data=TransitionIn(action=action)
        )
    await tickets.apply_transition(
        db, dispatcher, ticket_id=earlier.id, data=TransitionIn(action=Action.CLOSE)
    )
    ticket = await make_ticket(db, dispatcher, t.customer, t.site, t.asset, assign_to=one)
    await db.flush()
    # Old rows: nothing about them changes from here on.
    year_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
    await db.execute(update(Ticket).where(Ticket.id == earlier.id).values(updated_at=year_ago))
    old_phone = Phone(client, t.headers("engineer1"), engine=engine)
    new_phone = Phone(client, t.headers("engineer2"), engine=engine)
    for phone in (old_phone, new_phone):
        await phone.register()
        await phone.sync()
    note_id = new_id()
    await old_phone.push(
        old_phone.mutation(
            "note.add", work_order_id=str(ticket.id), note_id=note_id, text="gate code 1234"
        )
    )
    await old_phone.sync()
    assert old_phone.get("work_order", ticket.id) is not None
    assert old_phone.get("note", note_id) is not None
    assert new_phone.get("work_order", ticket.id) is None
    assert new_phone.get("customer", t.customer.id) is None

    await tickets.apply_transition(
        db,
        dispatcher,
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.ASSIGN, engineer_id=two.id),
    )
    await db.flush()

    old_pages = await old_phone.sync()
    removed = {(c["entity"], c["id"]) for c in changes_of(old_pages) if c["op"] == "remove"}
    assert ("work_order", str(ticket.id)) in removed
    assert ("note", note_id) in removed
    assert old_phone.get("work_order", ticket.id) is None
    # Engineer 1 has no other work there: the customer, site and asset go too.
    for entity, row_id in (
        ("customer", t.customer.id),
        ("site", t.site.id),
        ("asset", t.asset.id),
    ):
        assert (entity, str(row_id)) in removed
        assert old_phone.get(entity, row_id) is None

    await new_phone.sync()
    arrived = new_phone.get("work_order", ticket.id)
    assert arrived is not None and arrived["assignee_id"] == str(two.id)
    assert new_phone.get("customer", t.customer.id)["name"] == t.customer.name
    assert new_phone.get("site", t.site.id) is not None
    assert new_phone.get("asset", t.asset.id)["serial_number"] == t.asset.serial_number
    history = new_phone.get("work_order", earlier.id)
    assert history is not None and history["status"] == "closed"
    assert new_phone.get("note", note_id)["text"] == "gate code 1234"
    notes = await db.get(TicketNote, note_id)
    assert notes is not None  # the old engineer's record stays; only the phone let go


async def test_unassigned_work_leaves_the_phone_but_a_colleagues_work_keeps_the_customer(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    dispatcher = t.actor("dispatcher")
    first = await make_ticket(db, dispatcher, t.customer, t.site, t.asset, assign_to=t.engineers[0])
    second = await make_ticket(db, dispatcher, t.customer, t.site, assign_to=t.engineers[0])
    await db.flush()
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    await tickets.apply_transition(
        db, dispatcher, ticket_id=first.id, data=TransitionIn(action=Action.UNASSIGN)
    )
    await db.flush()
    await phone.sync()
    assert phone.get("work_order", first.id) is None
    assert phone.get("work_order", second.id) is not None
    # Still needed by the second work order:
    assert phone.get("customer", t.customer.id) is not None
    assert phone.get("site", t.site.id) is not None
    # Only the first work order had the asset:
    assert phone.get("asset", t.asset.id) is None


async def _site_and_asset(db: AsyncSession, t: Tenant) -> tuple[Site, Asset]:
    assert t.customer
    site = Site(
        org_id=t.org.id,
        customer_id=t.customer.id,
        name="Warehouse B",
        address="9 Other Road",
        lat=31.0,
        lon=121.0,
        version=1,
    )
    db.add(site)
    await db.flush()
    asset = Asset(
        org_id=t.org.id,
        site_id=site.id,
        customer_id=t.customer.id,
        product_model="CH-300",
        serial_number=f"SN-{uuid7()}",
        version=1,
    )
    db.add(asset)
    await db.flush()
    return site, asset


async def _repoint(
    client: httpx.AsyncClient, t: Tenant, ticket: Ticket, site: Site, asset: Asset
) -> None:
    changed = await client.patch(
        f"/api/v1/tickets/{ticket.id}",
        json={"site_id": str(site.id), "asset_id": str(asset.id)},
        headers={**t.headers("dispatcher"), "If-Match": f'"v{ticket.version}"'},
    )
    assert changed.status_code == 200, changed.text


async def test_a_site_and_asset_the_work_order_no_longer_references_leave_the_phone(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    """The office corrects the work order's site and asset. The new ones arrive; the old
    site (an address), the old asset and the asset's service history used to stay on the
    phone for ever (the capture noted only the work order, and the pull resolved only its
    current references)."""
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    dispatcher = t.actor("dispatcher")
    earlier = await make_ticket(db, dispatcher, t.customer, t.site, t.asset)
    await tickets.apply_transition(
        db, dispatcher, ticket_id=earlier.id, data=TransitionIn(action=Action.CANCEL, reason="x")
    )
    ticket = await make_ticket(
        db, dispatcher, t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    site, asset = await _site_and_asset(db, t)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    assert phone.get("site", t.site.id) is not None
    assert phone.get("work_order", earlier.id) is not None  # the asset's history
    await _repoint(client, t, ticket, site, asset)
    await phone.sync()
    assert phone.get("site", site.id) is not None and phone.get("asset", asset.id) is not None
    assert phone.get("site", t.site.id) is None
    assert phone.get("asset", t.asset.id) is None
    assert phone.get("work_order", earlier.id) is None
    assert phone.get("customer", t.customer.id) is not None  # still referenced


async def test_an_old_site_other_work_still_references_stays_on_the_phone(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    dispatcher = t.actor("dispatcher")
    ticket = await make_ticket(
        db, dispatcher, t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await make_ticket(db, dispatcher, t.customer, t.site, assign_to=t.engineers[0])
    site, asset = await _site_and_asset(db, t)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    colleague = Phone(client, t.headers("engineer2"), engine=engine)
    for each in (phone, colleague):
        await each.register()
        await each.sync()
    await _repoint(client, t, ticket, site, asset)
    await phone.sync()
    assert phone.get("site", t.site.id) is not None  # the other work order is there
    assert phone.get("asset", t.asset.id) is None
    # Nothing of it reaches an engineer who never held the work order.
    pages = await colleague.sync()
    assert changes_of(pages) == []
