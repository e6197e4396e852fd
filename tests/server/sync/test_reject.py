"""``work_order.reject``: the engineer declines a job offline. Applied through the same
transition as ``POST /tickets/{id}/transitions {"action": "reject"}``; the job leaves the
phone on its next pull. A reject that can no longer apply when it arrives (the office gave
the job to a colleague, unassigned or cancelled it, the engineer accepted it meanwhile) is
rejected with its reason, kept for the back office, and changes nothing."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.field.models import LabourEntry
from server.sync.models import SyncFlag
from server.tickets import service as tickets
from server.tickets.models import Ticket, TicketEvent
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.sync.helpers import (
    SYNC,
    Phone,
    assigned,
    changes_of,
    new_id,
    registered_phone,
    stored_mutations,
)

REASON = "Van broke down, cannot reach the site today"


async def _fresh(db: AsyncSession, ticket: Ticket) -> Ticket:
    found = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def _rejects(db: AsyncSession, ticket: Ticket) -> list[TicketEvent]:
    rows = await db.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "reject"
        )
    )
    return list(rows)


async def _transition(db: AsyncSession, t: Tenant, ticket: Ticket, **data: object) -> None:
    await tickets.apply_transition(
        db, t.actor("dispatcher"), ticket_id=ticket.id, data=TransitionIn.model_validate(data)
    )
    await db.flush()


async def test_a_reject_sends_the_job_back_and_it_leaves_the_phone(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    assert t.customer and t.site and t.asset
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    assert phone.get("work_order", ticket.id)["status"] == "assigned"

    reject = phone.mutation("work_order.reject", work_order_id=str(ticket.id), reason=REASON)
    pushed = await phone.push(reject)
    assert pushed.status_code == 200, pushed.text
    [result] = pushed.json()["results"]
    assert result["outcome"] == "applied", result
    assert result["data"]["status"] == "new"

    stored = await _fresh(db, ticket)
    assert (stored.status, stored.assignee_id) == ("new", None)
    [event] = await _rejects(db, ticket)
    assert (event.from_status, event.to_status, event.reason) == ("assigned", "new", REASON)
    assert event.changes["assignee_id"] == [str(t.engineers[0].id), None]

    pages = await phone.sync()
    changes = changes_of(pages)
    removed = {(c["entity"], c["id"]) for c in changes if c["op"] == "remove"}
    assert ("work_order", str(ticket.id)) in removed
    # No other work of the engineer needs its customer, site and asset: they go too.
    for entity, row_id in (("customer", t.customer.id), ("site", t.site.id), ("asset", t.asset.id)):
        assert (entity, str(row_id)) in removed
        assert phone.get(entity, row_id) is None
    assert phone.get("work_order", ticket.id) is None
    # The acknowledgement comes after the removal it caused.
    keys = [(c["op"], c["entity"]) for c in changes]
    assert keys.index(("remove", "work_order")) < keys.index(("ack", "mutation"))
    assert phone.acks[reject["seq"]]["outcome"] == "applied"

    # The phone did not hear the answer: the same push is answered from what was stored.
    again = await phone.push(reject)
    assert again.json()["results"] == [result]
    assert len(await _rejects(db, ticket)) == 1


async def test_evidence_recorded_before_the_reject_is_kept(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Travel time and a note recorded while the job was still the engineer's apply in
    seq order before the reject: facts are kept, the job goes back."""
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    wo, entry_id = str(ticket.id), new_id()
    pushed = await phone.push(
        phone.mutation(
            "labour.add",
            work_order_id=wo,
            entry_id=entry_id,
            kind="travel",
            started_at="2026-11-24T08:00:00+00:00",
            ended_at="2026-11-24T08:40:00+00:00",
        ),
        phone.mutation("work_order.reject", work_order_id=wo, reason=REASON),
    )
    assert [r["outcome"] for r in pushed.json()["results"]] == ["applied", "applied"]
    entry = await db.get(LabourEntry, uuid.UUID(entry_id))
    assert entry is not None and entry.engineer_id == t.engineers[0].id
    assert (await _fresh(db, ticket)).status == "new"


async def test_a_reject_after_the_office_gave_the_job_to_a_colleague_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The late reject must never undo the colleague's assignment: it is rejected (404: the
    job is not the engineer's any more), listed for the back office with its reason, and
    raises no flag (there is no evidence to review)."""
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    await _transition(db, t, ticket, action="assign", engineer_id=str(t.engineers[1].id))

    reject = phone.mutation("work_order.reject", work_order_id=str(ticket.id), reason=REASON)
    later = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="x")
    pushed = await phone.push(reject, later)
    assert pushed.status_code == 200, pushed.text
    result = pushed.json()["results"][0]
    assert result["outcome"] == "rejected"
    assert (result["error"]["status"], result["error"]["code"]) == (404, "not_found")
    assert "flag_id" not in result["error"]
    stored = await _fresh(db, ticket)
    assert (stored.status, stored.assignee_id) == ("assigned", t.engineers[1].id)
    assert await _rejects(db, ticket) == []
    assert pushed.json()["last_seq"] == 2  # the queue moved on

    listed = await client.get(
        f"{SYNC}/rejected",
        params={"work_order_id": str(ticket.id)},
        headers=t.headers("dispatcher"),
    )
    assert listed.status_code == 200, listed.text
    item = listed.json()["items"][0]
    assert (item["name"], item["args"]["reason"]) == ("work_order.reject", REASON)
    assert item["error"]["code"] == "not_found"
    # The note after it is evidence on a job that went to a colleague: flagged as usual,
    # and the reject joined no flag.
    flags = list(await db.scalars(select(SyncFlag).where(SyncFlag.work_order_id == ticket.id)))
    assert [f.payload["count"] for f in flags] == [1]


async def test_a_reject_the_state_machine_no_longer_allows_is_rejected_with_the_status(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The office cancelled the job, or the engineer accepted it from another device:
    declining is no longer possible (reject is from ``assigned`` only), and the answer
    says what the job is now."""
    t = await make_tenant(db)
    cancelled = await assigned(db, t)
    await _transition(db, t, cancelled, action="cancel", reason="customer fixed it")
    accepted = await assigned(db, t)
    await tickets.apply_transition(
        db, t.actor("engineer1"), ticket_id=accepted.id, data=TransitionIn(action=Action.ACCEPT)
    )
    await db.flush()
    phone = await registered_phone(client, t)
    pushed = await phone.push(
        *(
            phone.mutation("work_order.reject", work_order_id=str(ticket.id), reason=REASON)
            for ticket in (cancelled, accepted)
        )
    )
    assert pushed.status_code == 200, pushed.text
    for result, status in zip(pushed.json()["results"], ("cancelled", "accepted"), strict=True):
        assert result["outcome"] == "rejected"
        error = result["error"]
        assert (error["status"], error["code"]) == (409, "invalid_transition")
        assert error["current_status"] == status
    for ticket, status in ((cancelled, "cancelled"), (accepted, "accepted")):
        stored = await _fresh(db, ticket)
        assert (stored.status, stored.assignee_id) == (status, t.engineers[0].id)
        assert await _rejects(db, ticket) == []


async def test_a_reject_after_the_office_unassigned_the_job_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    await _transition(db, t, ticket, action="unassign")
    phone = await registered_phone(client, t)
    pushed = await phone.push(
        phone.mutation("work_order.reject", work_order_id=str(ticket.id), reason=REASON)
    )
    [result] = pushed.json()["results"]
    assert (result["outcome"], result["error"]["status"]) == ("rejected", 404)
    assert await _rejects(db, ticket) == []
    [row] = await stored_mutations(db, phone)
    assert row.outcome == "rejected" and row.work_order_id == ticket.id


async def test_a_blank_reason_is_rejected_before_any_service_runs(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    pushed = await phone.push(
        phone.mutation("work_order.reject", work_order_id=str(ticket.id), reason="   "),
        phone.mutation("work_order.reject", work_order_id=str(ticket.id)),
    )
    results = pushed.json()["results"]
    fields = [r["error"]["field"] for r in results]
    assert fields == ["mutations[0].args.reason", "mutations[1].args.reason"]
    assert [r["error"]["status"] for r in results] == [422, 422]
    stored = await _fresh(db, ticket)
    assert (stored.status, stored.assignee_id) == ("assigned", t.engineers[0].id)
    assert await _rejects(db, ticket) == []
