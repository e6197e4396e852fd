"""A work order that leaves an engineer's phone says why (reassigned, unassigned,
cancelled, out of scope), with the number and title the phone held, and never who has it
now."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.tickets import format_number
from server.tickets import service as tickets
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.sync.helpers import Phone, assigned, changes_of


async def _phone(client: httpx.AsyncClient, t: Tenant, engine: AsyncEngine) -> Phone:
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    return phone


async def _act(db: AsyncSession, t: Tenant, ticket: Ticket, who: str, **body: Any) -> None:
    await tickets.apply_transition(db, t.actor(who), ticket_id=ticket.id, data=TransitionIn(**body))
    await db.flush()


def _removal(pages: list[dict[str, Any]], ticket: Ticket) -> dict[str, Any]:
    [change] = [
        c
        for c in changes_of(pages)
        if (c["op"], c["entity"], c["id"]) == ("remove", "work_order", str(ticket.id))
    ]
    data: dict[str, Any] = change["data"]
    return data


async def test_a_reassigned_work_order_says_so_without_naming_the_colleague(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await _phone(client, t, engine)

    await _act(db, t, ticket, "dispatcher", action=Action.ASSIGN, engineer_id=t.engineers[1].id)

    why = _removal(await phone.sync(), ticket)
    assert why == {
        "reason": "reassigned",
        "number": format_number(ticket.number),
        "title": ticket.title,
    }


async def test_an_unassigned_work_order_says_so(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await _phone(client, t, engine)

    await _act(db, t, ticket, "dispatcher", action=Action.UNASSIGN)

    assert _removal(await phone.sync(), ticket)["reason"] == "unassigned"


async def test_finished_work_leaving_the_window_says_cancelled_or_out_of_scope(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    """Cancelled (or finished) work stays on the phone for the recent window, then leaves:
    the reason says which."""
    t = await make_tenant(db)
    cancelled = await assigned(db, t)
    closed = await assigned(db, t)
    await _act(db, t, cancelled, "dispatcher", action=Action.CANCEL, reason="duplicate")
    for action in (Action.ACCEPT, Action.ARRIVE, Action.RESOLVE):
        await _act(db, t, closed, "engineer1", action=action)
    await _act(db, t, closed, "dispatcher", action=Action.CLOSE)
    edge = dt.datetime.now(dt.UTC) - dt.timedelta(days=14) + dt.timedelta(seconds=2)
    await db.execute(
        update(Ticket).where(Ticket.id.in_([cancelled.id, closed.id])).values(updated_at=edge)
    )
    phone = await _phone(client, t, engine)
    assert phone.get("work_order", cancelled.id)["status"] == "cancelled"
    await asyncio.sleep(2.5)

    pages = await phone.sync()

    assert _removal(pages, cancelled)["reason"] == "cancelled"
    assert _removal(pages, closed)["reason"] == "out_of_scope"
