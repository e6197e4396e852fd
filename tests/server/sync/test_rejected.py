"""Nothing the engineer did disappears: every rejected mutation is listed for the back office
(``GET /api/v1/sync/rejected``), and field evidence that arrives after the office gave the
work order to a colleague raises a flag on it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.field.models import LabourEntry
from server.sync.models import SyncFlag, SyncMutation
from server.tickets import service as tickets
from server.tickets.models import Ticket, TicketEvent
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.field.helpers import on_site, travelling
from tests.server.sync.helpers import SYNC, Phone, new_id, registered_phone

REJECTED = f"{SYNC}/rejected"


async def _reassign(db: AsyncSession, t: Tenant, ticket: Ticket, to: int = 2) -> None:
    dispatcher = t.actor("dispatcher")
    await tickets.apply_transition(
        db, dispatcher, ticket_id=ticket.id, data=TransitionIn(action=Action.UNASSIGN)
    )
    await tickets.apply_transition(
        db,
        dispatcher,
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.ASSIGN, engineer_id=t.engineers[to - 1].id),
    )
    await db.flush()


def _labour(phone: Phone, ticket: Ticket, entry_id: str) -> dict[str, Any]:
    return phone.mutation(
        "labour.add",
        work_order_id=str(ticket.id),
        entry_id=entry_id,
        kind="travel",
        started_at="2026-11-24T08:00:00+00:00",
        ended_at="2026-11-24T09:10:00+00:00",
    )


async def _flags(db: AsyncSession, ticket: Ticket) -> list[SyncFlag]:
    rows = await db.scalars(
        select(SyncFlag)
        .where(SyncFlag.work_order_id == ticket.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_labour_pushed_after_a_reassignment_is_flagged_and_listed_for_the_back_office(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The engineer drove to the job offline; meanwhile the office gave it to a colleague.
    The travel time (a wage) cannot be recorded on a work order that is not theirs any
    more (404), but it used to be visible to nobody: now a flag names it, with an event on
    the work order, and the rejected list holds it with its arguments."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    phone = await registered_phone(client, t)
    await _reassign(db, t, ticket)
    entry_id = new_id()
    pushed = await phone.push(_labour(phone, ticket, entry_id))
    assert pushed.status_code == 200, pushed.text
    result = pushed.json()["results"][0]
    assert result["outcome"] == "rejected" and result["error"]["status"] == 404
    assert await db.get(LabourEntry, uuid.UUID(entry_id)) is None
    [flag] = await _flags(db, ticket)
    assert flag.kind == "evidence_after_reassignment" and flag.status == "open"
    assert flag.engineer_id == t.engineers[0].id
    assert result["error"]["flag_id"] == str(flag.id)
    assert flag.payload["count"] == 1
    assert flag.payload["mutations"][0]["mutation"] == "labour.add"
    events = await db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "field_conflict")
    )
    assert events == 1
    listed = await client.get(
        REJECTED, params={"work_order_id": str(ticket.id)}, headers=t.headers("dispatcher")
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["name"] == "labour.add"
    assert item["args"]["entry_id"] == entry_id
    assert item["args"]["started_at"] == "2026-11-24T08:00:00+00:00"
    assert item["engineer_id"] == str(t.engineers[0].id)
    assert item["error"]["flag_id"] == str(flag.id)
    assert item["device_time"] and item["received_at"]


async def test_later_evidence_joins_the_open_flag_and_names_its_work_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A day's work after the reassignment is one flag, not one per mutation; a labour void
    (which names only its entry) is traced to its work order for the flag and the list."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    phone = await registered_phone(client, t)
    entry_id = new_id()
    online = await phone.push(_labour(phone, ticket, entry_id))
    assert online.json()["results"][0]["outcome"] == "applied", online.text
    await _reassign(db, t, ticket)
    pushed = await phone.push(
        _labour(phone, ticket, new_id()),
        phone.mutation("labour.void", entry_id=entry_id, void_id=new_id(), reason="typo"),
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="done"),
    )
    assert pushed.status_code == 200, pushed.text
    results = pushed.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected"] * 3
    [flag] = await _flags(db, ticket)
    assert {r["error"]["flag_id"] for r in results} == {str(flag.id)}
    assert flag.payload["count"] == 3
    assert [m["mutation"] for m in flag.payload["mutations"]] == [
        "labour.add",
        "labour.void",
        "note.add",
    ]
    void = await db.scalar(
        select(SyncMutation).where(
            SyncMutation.client_id == uuid.UUID(phone.client_id), SyncMutation.seq == 3
        )
    )
    assert void is not None and void.work_order_id == ticket.id


async def test_no_flag_for_a_work_order_the_engineer_never_held(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Naming a colleague's work order is a plain 404: no flag (and no event on their
    work order) for a work order the engineer never had."""
    t = await make_tenant(db)
    theirs = await travelling(db, t, engineer=2)
    phone = await registered_phone(client, t)
    pushed = await phone.push(
        phone.mutation("note.add", work_order_id=str(theirs.id), note_id=new_id(), text="hi")
    )
    result = pushed.json()["results"][0]
    assert result["outcome"] == "rejected" and result["error"]["status"] == 404
    assert "flag_id" not in result["error"]
    assert await _flags(db, theirs) == []


async def test_the_rejected_list_filters_pages_and_stays_in_the_organisation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    other = await make_tenant(db, "Other")
    mine, _ = await on_site(db, t)
    theirs, _ = await on_site(db, t, engineer=2)
    foreign, _ = await on_site(db, other)
    one, two = await registered_phone(client, t), await registered_phone(client, t, "engineer2")
    stranger = await registered_phone(client, other)
    for phone, ticket in ((one, mine), (one, mine), (two, theirs), (stranger, foreign)):
        bad = phone.mutation("work_order.teleport", work_order_id=str(ticket.id))
        good = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="")
        response = await phone.push(bad, good)
        assert response.status_code == 200, response.text
    headers = t.headers("dispatcher")

    async def names(**params: Any) -> list[tuple[str, int]]:
        response = await client.get(REJECTED, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [(i["client_id"], i["seq"]) for i in response.json()["items"]]

    everything = await names()
    # Rejected only (the empty note is refused too), this organisation only, in order.
    assert everything == [
        (one.client_id, 1),
        (one.client_id, 2),
        (one.client_id, 3),
        (one.client_id, 4),
        (two.client_id, 1),
        (two.client_id, 2),
    ]
    assert await names(engineer_id=str(t.engineers[1].id)) == everything[4:]
    assert await names(work_order_id=str(mine.id)) == everything[:4]
    assert await names(work_order_id=str(foreign.id)) == []
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert await names(since=future) == []
    paged, cursor = [], None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(REJECTED, params=params, headers=headers)).json()
        paged += [(i["client_id"], i["seq"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == everything
    naive = await client.get(REJECTED, params={"since": "2026-11-24T10:00:00"}, headers=headers)
    assert naive.status_code == 422 and naive.json()["field"] == "since"
    bad_cursor = await client.get(REJECTED, params={"cursor": "nope"}, headers=headers)
    assert bad_cursor.status_code == 400
    refused = await client.get(REJECTED, headers=t.headers("engineer1"))
    assert refused.status_code == 403
