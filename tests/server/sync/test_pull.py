"""Pull: the scope from the token, a cursor that never skips a late commit, acknowledgements
behind their effects, small idle pulls, tombstones and reset."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.config import Settings
from server.customers.models import Customer, Site
from server.parts import service as parts_service
from server.parts.schemas import MovementCreate, PartCreate, PartUpdate
from server.sync import retention
from server.tickets import service as tickets
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_customer, make_tenant, make_ticket
from tests.server.sync.helpers import SYNC, Phone, assigned, changes_of, new_id


async def _run(db: AsyncSession, t: Tenant, ticket: Ticket, who: str, *actions: Action) -> None:
    for action in actions:
        reason = "done" if action in (Action.CANCEL, Action.HOLD, Action.REOPEN) else None
        await tickets.apply_transition(
            db, t.actor(who), ticket_id=ticket.id, data=TransitionIn(action=action, reason=reason)
        )
    await db.flush()


async def test_the_snapshot_is_the_engineers_scope_and_nothing_else(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    other_org = await make_tenant(db, "Other")
    assert t.customer and t.site and t.asset
    # An earlier repair of the same asset, by a colleague, finished: the asset's history.
    earlier = await assigned(db, t, engineer=2)
    await _run(db, t, earlier, "engineer2", Action.ACCEPT, Action.ARRIVE, Action.RESOLVE)
    mine = await assigned(db, t)
    customer2, site2, asset2 = await make_customer(db, t.org)
    theirs = await make_ticket(
        db, t.actor("dispatcher"), customer2, site2, asset2, assign_to=t.engineers[1]
    )
    part = await parts_service.create_part(
        db, t.actor("admin"), data=PartCreate(sku="RLY-1", name="Relay")
    )
    foreign_part = await parts_service.create_part(
        db, other_org.actor("admin"), data=PartCreate(sku="RLY-1", name="Relay")
    )
    van = await parts_service.ensure_van(db, t.engineers[0])
    await parts_service.create_movement(
        db,
        t.actor("admin"),
        data=MovementCreate(
            kind="receive", part_id=part.id, quantity=Decimal(4), to_location_id=van.id
        ),
    )
    await db.flush()
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    pages = await phone.sync(limit=3)
    assert pages[0]["reset"] is True and not any(p["reset"] for p in pages[1:])
    assert len(pages) > 3  # the snapshot came in pages of at most 3 rows
    assert phone.ids("work_order") == {str(mine.id), str(earlier.id)}
    assert phone.get("work_order", mine.id)["number"].startswith("WO-")
    assert "search_text" not in phone.get("work_order", mine.id)
    assert phone.ids("customer") == {str(t.customer.id)}
    assert phone.ids("site") == {str(t.site.id)} and phone.ids("asset") == {str(t.asset.id)}
    assert phone.ids("part") == {str(part.id)}
    assert str(foreign_part.id) not in phone.ids("part")
    balance = phone.get("stock_balance", part.id)
    assert balance is not None and Decimal(balance["on_hand"]) == 4
    everything = {row_id for (_, row_id) in phone.rows}
    for hidden in (theirs.id, customer2.id, site2.id, asset2.id):
        assert str(hidden) not in everything


async def test_an_acknowledgement_never_arrives_before_its_effects(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    wo = str(ticket.id)
    note_id, visit_id = new_id(), new_id()
    response = await phone.push(
        phone.mutation("work_order.accept", work_order_id=wo),
        phone.mutation("note.add", work_order_id=wo, note_id=note_id, text="noisy fan"),
        phone.mutation("visit.check_in", work_order_id=wo, visit_id=visit_id),
    )
    assert response.status_code == 200, response.text
    phone.pages.clear()
    await phone.sync(limit=1)  # one feed row a page: the worst case for ordering
    seen = [(c["op"], c["entity"], c["id"]) for c in changes_of(phone.pages)]

    def first(op: str, entity: str, row_id: str) -> int:
        return seen.index((op, entity, row_id))

    assert first("put", "work_order", wo) < first("ack", "mutation", "1")
    assert first("put", "note", note_id) < first("ack", "mutation", "2")
    assert first("put", "visit", visit_id) < first("ack", "mutation", "3")
    assert phone.get("work_order", wo)["status"] == "on_site"
    assert phone.get("visit", visit_id)["check_in_device_at"] is not None
    assert [phone.acks[i]["outcome"] for i in (1, 2, 3)] == ["applied"] * 3


async def test_catalogue_changes_reach_every_engineer(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    part = await parts_service.create_part(
        db, t.actor("admin"), data=PartCreate(sku="FAN-1", name="Fan", price=Decimal(10))
    )
    await db.flush()
    phones = [Phone(client, t.headers(f"engineer{i}"), engine=engine) for i in (1, 2)]
    for phone in phones:
        await phone.register()
        await phone.sync()
        assert phone.get("part", part.id)["price"] == "10.00"
    await parts_service.update_part(
        db,
        t.actor("admin"),
        part_id=part.id,
        data=PartUpdate(price=Decimal(12)),
        expected_version=None,
    )
    await db.flush()
    for phone in phones:
        await phone.sync()
        assert phone.get("part", part.id)["price"] == "12.00"


async def test_garbage_and_foreign_cursors_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    first = Phone(client, t.headers("engineer1"), engine=engine)
    second = Phone(client, t.headers("engineer1"), engine=engine)
    for phone in (first, second):
        await phone.register()
        await phone.sync()
    assert first.cursor
    payload, mac = first.cursor.split(".")
    # A changed first character changes the signature's bytes; a changed last one might
    # not (its low bits are padding, which base64 decoding ignores: 1 run in ~256).
    forged = ("B" if mac[0] != "B" else "C") + mac[1:]
    for cursor in ("garbage", "a.b", f"{payload}.{forged}", f"{payload[:-2]}.{mac}"):
        response = await client.get(
            f"{SYNC}/pull",
            params={"client_id": first.client_id, "cursor": cursor},
            headers=first.headers,
        )
        assert response.status_code == 400, (cursor, response.text)
    stolen = await client.get(
        f"{SYNC}/pull",
        params={"client_id": second.client_id, "cursor": first.cursor},
        headers=second.headers,
    )
    assert stolen.status_code == 400, stolen.text


async def test_an_old_cursor_gets_a_reset_instead_of_missing_deletions(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    await _run(db, t, ticket, "dispatcher", Action.UNASSIGN)  # leaves the scope: a remove
    # The remove is pruned before the phone pulls again.
    pruned = await retention.prune(db, cutoff=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert pruned > 0
    pages = await phone.sync()
    assert pages[0]["reset"] is True
    assert phone.get("work_order", ticket.id) is None  # gone, not resurrected
    assert not (await phone.sync())[0]["reset"]  # a fresh cursor is past the horizon


def test_tombstones_are_kept_at_least_ninety_days() -> None:
    assert Settings().SYNC_TOMBSTONE_DAYS >= 90
    with pytest.raises(ValidationError):
        Settings(SYNC_TOMBSTONE_DAYS=30)


async def test_finished_work_leaves_the_phone_after_the_recent_window(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    old = await assigned(db, t)
    await _run(db, t, old, "engineer1", Action.ACCEPT, Action.ARRIVE, Action.RESOLVE)
    await _run(db, t, old, "dispatcher", Action.CLOSE)
    # Closed a moment less than the window ago (a bulk update the feed does not see).
    edge = dt.datetime.now(dt.UTC) - dt.timedelta(days=14) + dt.timedelta(seconds=2)
    await db.execute(update(Ticket).where(Ticket.id == old.id).values(updated_at=edge))
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    assert phone.get("work_order", old.id) is not None
    await asyncio.sleep(2.5)
    pages = await phone.sync()
    assert ("remove", "work_order", str(old.id)) in [
        (c["op"], c["entity"], c["id"]) for c in changes_of(pages)
    ]
    assert phone.get("work_order", old.id) is None


# --- the watermark, on real commits -----------------------------------------------------------


async def _committed_tenant(db: AsyncSession) -> tuple[Tenant, Ticket]:
    t = await make_tenant(db, "Sync pull")
    ticket = await assigned(db, t)
    await db.commit()
    return t, ticket


async def test_a_change_that_commits_late_is_not_skipped(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, app: Any
) -> None:
    t, _ticket = await _committed_tenant(committing_db)
    assert t.customer and t.site
    phone = Phone(committing_client, t.headers("engineer1"))
    await phone.register()
    await phone.sync()
    maker = app.state.sessionmaker
    async with maker() as early, maker() as late:
        # T1 takes its transaction id first and stays open...
        await early.execute(
            update(Customer).where(Customer.id == t.customer.id).values(name="Renamed early")
        )
        customer = await early.get(Customer, t.customer.id)
        assert customer is not None
        customer.notes = "changed in the early transaction"
        await early.flush()
        # ...T2 starts later, changes the site and commits first.
        site = await late.get(Site, t.site.id)
        assert site is not None
        site.address = "1 Late Road"
        await late.commit()
        # A pull now must not serve T2 and move its cursor past T1.
        await phone.sync()
        assert phone.get("site", t.site.id)["address"] != "1 Late Road"
        await early.commit()
    await phone.sync()
    assert phone.get("site", t.site.id)["address"] == "1 Late Road"
    assert phone.get("customer", t.customer.id)["notes"] == "changed in the early transaction"


async def test_an_idle_pull_costs_a_few_hundred_bytes(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession
) -> None:
    t, ticket = await _committed_tenant(committing_db)
    actor = t.actor("admin")
    van = await parts_service.ensure_van(committing_db, t.engineers[0])
    for n in range(30):
        part = await parts_service.create_part(
            committing_db, actor, data=PartCreate(sku=f"P-{n:03d}", name=f"Part {n}")
        )
        await parts_service.create_movement(
            committing_db,
            actor,
            data=MovementCreate(
                kind="receive", part_id=part.id, quantity=Decimal(2), to_location_id=van.id
            ),
        )
    await committing_db.commit()
    phone = Phone(committing_client, t.headers("engineer1"))
    await phone.register()
    await phone.sync()
    assert len(phone.ids("part")) == 30 and len(phone.ids("stock_balance")) == 30
    for _ in range(3):
        page = await phone.pull_once()
        assert page["changes"] == [] and page["has_more"] is False
        assert phone.last_bytes < 1024, phone.last_bytes
    # A change costs about its own size, not the scope's.
    await phone.push(phone.mutation("work_order.accept", work_order_id=str(ticket.id)))
    page = await phone.pull_once()
    assert {(c["op"], c["entity"]) for c in page["changes"]} == {
        ("put", "work_order"),
        ("ack", "mutation"),
    }


async def test_van_stock_follows_the_parts_used(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession
) -> None:
    t, ticket = await _committed_tenant(committing_db)
    actor = t.actor("admin")
    van = await parts_service.ensure_van(committing_db, t.engineers[0])
    parts = []
    for sku in ("VAL-1", "VAL-2"):
        part = await parts_service.create_part(
            committing_db, actor, data=PartCreate(sku=f"{sku}-{uuid.uuid4().hex[:6]}", name=sku)
        )
        await parts_service.create_movement(
            committing_db,
            actor,
            data=MovementCreate(
                kind="receive", part_id=part.id, quantity=Decimal(5), to_location_id=van.id
            ),
        )
        parts.append(part)
    await committing_db.commit()
    phone = Phone(committing_client, t.headers("engineer1"))
    await phone.register()
    await phone.sync()
    wo = str(ticket.id)
    pushed = await phone.push(
        phone.mutation("work_order.accept", work_order_id=wo),
        phone.mutation("visit.check_in", work_order_id=wo, visit_id=new_id()),
        phone.mutation(
            "part.use", work_order_id=wo, line_id=new_id(), part_id=str(parts[0].id), quantity="2"
        ),
    )
    assert [r["outcome"] for r in pushed.json()["results"]] == ["applied"] * 3, pushed.text
    page = await phone.pull_once()
    balances = [c for c in page["changes"] if c["entity"] == "stock_balance"]
    assert [c["id"] for c in balances] == [str(parts[0].id)]  # only what changed
    assert Decimal(balances[0]["data"]["on_hand"]) == 3
    lines = [c for c in page["changes"] if c["entity"] == "part_line"]
    assert len(lines) == 1 and lines[0]["data"]["direction"] == "use"
    # Written by the back office too (a transfer into the van), not only by the phone.
    await parts_service.create_movement(
        committing_db,
        actor,
        data=MovementCreate(
            kind="receive", part_id=parts[1].id, quantity=Decimal(1), to_location_id=van.id
        ),
    )
    await committing_db.commit()
    page = await phone.pull_once()
    assert [(c["entity"], c["id"]) for c in page["changes"]] == [
        ("stock_balance", str(parts[1].id))
    ]
    assert Decimal(phone.get("stock_balance", parts[1].id)["on_hand"]) == 6
    assert (await phone.pull_once())["changes"] == []


async def test_the_feed_is_written_in_the_same_transaction_as_the_change(
    committing_db: AsyncSession, app: Any
) -> None:
    t, _ticket = await _committed_tenant(committing_db)
    assert t.customer
    maker = app.state.sessionmaker
    async with maker() as session:
        customer = await session.get(Customer, t.customer.id)
        assert customer is not None
        customer.name = "Rolled back"
        await session.flush()
        await session.rollback()
    count = await committing_db.scalar(
        text("SELECT count(*) FROM sync_changes WHERE entity_id = :id"), {"id": str(t.customer.id)}
    )
    assert count == 0
    async with maker() as session:
        customer = await session.get(Customer, t.customer.id)
        assert customer is not None
        customer.name = "Committed"
        await session.commit()
    rows = (
        await committing_db.execute(
            text("SELECT scope, op FROM sync_changes WHERE entity_id = :id"),
            {"id": str(t.customer.id)},
        )
    ).all()
    assert [tuple(r) for r in rows] == [(f"engineer:{t.engineers[0].id}", "put")]
