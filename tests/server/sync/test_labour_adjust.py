"""``labour.adjust``: the engineer corrects a time entry offline. As
``POST /tickets/{id}/labour/{entry_id}/adjust``: a new entry (the phone's own id) replaces
the original, which stays, marked replaced; created once however often it is retried; an
entry that is voided, already replaced, approved or a colleague's is refused with the
service's reason; the phone's pull brings the new entry and the original's new state."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.field import service as field
from server.field.models import LabourEntry
from server.sync.models import SyncFlag
from server.tickets import service as tickets
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import make_tenant
from tests.server.field.helpers import travelling
from tests.server.sync.helpers import Phone, new_id, registered_phone

START, END = "2026-11-24T09:00:00+08:00", "2026-11-24T11:00:00+08:00"


def _add(phone: Phone, ticket: Ticket, entry_id: str) -> dict[str, Any]:
    return phone.mutation(
        "labour.add",
        work_order_id=str(ticket.id),
        entry_id=entry_id,
        kind="work",
        started_at=START,
        ended_at=END,
        note="compressor",
    )


def _adjust(phone: Phone, ticket: Ticket, entry_id: str, **args: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "work_order_id": str(ticket.id),
        "entry_id": entry_id,
        "adjustment_id": new_id(),
        "started_at": START,
        "ended_at": "2026-11-24T10:15:00+08:00",
        "reason": "stopped the clock late",
        **args,
    }
    return phone.mutation("labour.adjust", **values)


async def _entries(db: AsyncSession, ticket: Ticket) -> list[LabourEntry]:
    rows = await db.scalars(
        select(LabourEntry)
        .where(LabourEntry.ticket_id == ticket.id)
        .order_by(LabourEntry.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _results(phone: Phone, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
    pushed = await phone.push(*mutations)
    assert pushed.status_code == 200, pushed.text
    results: list[dict[str, Any]] = pushed.json()["results"]
    return results


async def test_an_adjustment_replaces_the_entry_once_and_reaches_the_phone(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    phone = await registered_phone(client, t, engine=engine)
    entry_id = new_id()
    await _results(phone, _add(phone, ticket, entry_id))
    await phone.sync()
    assert phone.get("labour_entry", entry_id)["replaced_by"] is None

    adjust = _adjust(phone, ticket, entry_id, kind="travel")
    [result] = await _results(phone, adjust)
    adjustment_id = adjust["args"]["adjustment_id"]
    assert result["outcome"] == "applied", result
    assert result["data"] == {"adjustment_id": adjustment_id, "entry_id": entry_id}

    original, new = await _entries(db, ticket)
    assert (str(original.id), str(new.id)) == (entry_id, adjustment_id)
    assert new.replaces_id == original.id and new.reason == "stopped the clock late"
    assert (new.kind, new.visit_id, new.engineer_id) == ("travel", None, original.engineer_id)
    assert new.note is None  # as over REST: the adjustment's note is what it says

    # The phone hears of both: the new entry and the original, now replaced by it.
    await phone.sync()
    assert phone.get("labour_entry", entry_id)["replaced_by"] == adjustment_id
    pulled = phone.get("labour_entry", adjustment_id)
    assert pulled is not None and pulled["replaces_id"] == entry_id
    assert phone.acks[adjust["seq"]]["outcome"] == "applied"

    # Retried (the answer was lost): answered from what was stored, created once.
    again = await phone.push(adjust)
    assert again.json()["results"] == [result]
    assert len(await _entries(db, ticket)) == 2
    summary = await field.field_summary(db, t.actor("engineer1"), ticket_id=ticket.id)
    assert summary.labour.entries == 1 and summary.labour.by_kind["travel"] == 75 * 60


async def test_an_adjustment_id_reused_for_other_content_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    phone = await registered_phone(client, t)
    entry_id = new_id()
    add = _add(phone, ticket, entry_id)
    first = _adjust(phone, ticket, entry_id)
    same = {**first["args"]}
    other = {**first["args"], "ended_at": "2026-11-24T10:45:00+08:00"}
    results = await _results(
        phone,
        add,
        first,
        phone.mutation("labour.adjust", **same),  # a new mutation, the same record
        phone.mutation("labour.adjust", **other),
        _adjust(phone, ticket, entry_id, adjustment_id=entry_id),  # the original's own id
    )
    outcomes = [r["outcome"] for r in results]
    assert outcomes == ["applied", "applied", "applied", "rejected", "rejected"]
    assert results[4]["error"]["code"] == "client_id_reused"
    assert results[2]["data"] == results[1]["data"]
    error = results[3]["error"]
    assert (error["status"], error["code"], error["fields"]) == (
        409,
        "client_id_reused",
        ["ended_at"],
    )
    assert len(await _entries(db, ticket)) == 2


async def test_an_entry_that_is_no_longer_correctable_is_refused_with_the_reason(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Voided, already replaced (correct the newer record), approved (the back office
    corrects it now) or a colleague's (engineers correct their own time only)."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    phone = await registered_phone(client, t)
    voided, replaced, approved = new_id(), new_id(), new_id()
    colleagues = new_id()
    await _results(phone, *(_add(phone, ticket, e) for e in (voided, replaced, approved)))
    await field.add_labour(
        db,
        t.actor("dispatcher"),
        ticket_id=ticket.id,
        entry_id=uuid.UUID(colleagues),
        kind="work",
        started_at=START,
        ended_at=END,
        engineer_id=t.engineers[1].id,
    )
    await field.approve_labour(db, t.actor("dispatcher"), entry_ids=[uuid.UUID(approved)])
    await db.flush()
    results = await _results(
        phone,
        phone.mutation("labour.void", entry_id=voided, void_id=new_id(), reason="duplicate"),
        _adjust(phone, ticket, replaced),
        _adjust(phone, ticket, voided),
        _adjust(phone, ticket, replaced),
        _adjust(phone, ticket, approved),
        _adjust(phone, ticket, colleagues),
    )
    assert [r["outcome"] for r in results] == ["applied", "applied"] + ["rejected"] * 4
    refusals = [(r["error"]["status"], r["error"]["code"]) for r in results[2:]]
    assert refusals == [
        (409, "labour_not_active"),
        (409, "labour_not_active"),
        (409, "labour_approved"),
        (403, "forbidden"),
    ]
    assert results[2]["error"]["state"] == "voided"
    assert results[3]["error"]["state"] == "replaced"
    assert len(await _entries(db, ticket)) == 5  # four entries and one adjustment


async def test_an_adjustment_names_the_entrys_own_work_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    other = await travelling(db, t)
    phone = await registered_phone(client, t)
    entry_id = new_id()
    results = await _results(phone, _add(phone, ticket, entry_id), _adjust(phone, other, entry_id))
    assert results[1]["outcome"] == "rejected" and results[1]["error"]["status"] == 404
    assert len(await _entries(db, ticket)) == 1


async def test_an_adjustment_after_the_job_went_to_a_colleague_is_flagged(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Field evidence on a job the office took away: 404, kept in the rejected list, and
    the evidence-after-reassignment flag names it, as for the other labour mutations."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    phone = await registered_phone(client, t)
    entry_id = new_id()
    await _results(phone, _add(phone, ticket, entry_id))
    dispatcher = t.actor("dispatcher")
    await tickets.apply_transition(
        db, dispatcher, ticket_id=ticket.id, data=TransitionIn(action=Action.UNASSIGN)
    )
    await tickets.apply_transition(
        db,
        dispatcher,
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.ASSIGN, engineer_id=t.engineers[1].id),
    )
    await db.flush()
    [result] = await _results(phone, _adjust(phone, ticket, entry_id))
    assert result["outcome"] == "rejected" and result["error"]["status"] == 404
    flag = await db.scalar(select(SyncFlag).where(SyncFlag.work_order_id == ticket.id))
    assert flag is not None and result["error"]["flag_id"] == str(flag.id)
    assert flag.payload["mutations"][0]["mutation"] == "labour.adjust"
    count = await db.scalar(
        select(func.count()).select_from(LabourEntry).where(LabourEntry.ticket_id == ticket.id)
    )
    assert count == 1


async def test_an_adjustment_over_rest_reaches_the_engineers_phone(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    """The back office corrects the engineer's time: the phone's copy of the original
    shows it replaced (before, only the new entry was sent and the original stayed
    active on the phone, counted twice)."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    phone = await registered_phone(client, t, engine=engine)
    entry_id = new_id()
    await _results(phone, _add(phone, ticket, entry_id))
    await phone.sync()
    adjusted = await client.post(
        f"/api/v1/tickets/{ticket.id}/labour/{entry_id}/adjust",
        json={
            "adjustment_id": new_id(),
            "started_at": START,
            "ended_at": "2026-11-24T10:00:00+08:00",
            "reason": "customer signed for one hour",
        },
        headers=t.headers("dispatcher"),
    )
    assert adjusted.status_code == 201, adjusted.text
    await phone.sync()
    assert phone.get("labour_entry", entry_id)["replaced_by"] == adjusted.json()["id"]
    assert phone.get("labour_entry", adjusted.json()["id"]) is not None
