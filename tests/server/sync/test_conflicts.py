"""The office cancels while the engineer completes offline: the evidence is kept, the
completion is refused with a reason, and a flag a dispatcher can see is raised, with an
event."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.attachments.models import Attachment
from server.events.models import OutboxEvent
from server.field.models import LabourEntry, TicketNote, VisitCheck
from server.tickets import service as tickets
from server.tickets.models import Ticket, TicketEvent
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.sync.helpers import SYNC, Phone, new_id

FLAGS = f"{SYNC}/flags"


async def test_completion_after_the_office_cancelled_keeps_the_evidence_and_raises_a_flag(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    assert t.customer and t.site and t.asset
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await db.flush()
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    wo, visit_id = str(ticket.id), new_id()
    online = await phone.push(
        phone.mutation("work_order.accept", work_order_id=wo),
        phone.mutation("visit.check_in", work_order_id=wo, visit_id=visit_id),
    )
    assert [r["outcome"] for r in online.json()["results"]] == ["applied", "applied"]
    await phone.sync()

    # The phone goes offline; the office cancels the job meanwhile.
    await tickets.apply_transition(
        db,
        t.actor("dispatcher"),
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.CANCEL, reason="customer called to cancel"),
    )
    await db.flush()

    entry_id, note_id, photo_id = new_id(), new_id(), new_id()
    offline = [
        phone.mutation(
            "labour.add",
            work_order_id=wo,
            entry_id=entry_id,
            visit_id=visit_id,
            kind="work",
            started_at="2026-11-24T09:00:00+00:00",
            ended_at="2026-11-24T10:30:00+00:00",
        ),
        phone.mutation("note.add", work_order_id=wo, note_id=note_id, text="replaced relay K2"),
        phone.mutation(
            "attachment.register",
            work_order_id=wo,
            attachment_id=photo_id,
            sha256="ab" * 32,
            size=2048,
            mime="image/jpeg",
            role="photo",
            visit_id=visit_id,
        ),
        phone.mutation("visit.check_out", visit_id=visit_id),
        phone.mutation(
            "work_order.resolve",
            work_order_id=wo,
            resolution_code="FIXED",
            fault_code="E31",
            summary="Replaced relay K2; unit runs",
        ),
    ]
    response = await phone.push(*offline)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["applied"] * 4 + ["rejected"]
    refusal = results[4]["error"]
    assert refusal["code"] == "work_order_cancelled" and refusal["status"] == 409
    assert "dispatcher" in refusal["detail"]

    # The evidence is on the server.
    assert await db.get(LabourEntry, entry_id) is not None
    assert await db.get(TicketNote, note_id) is not None
    assert await db.get(Attachment, photo_id) is not None
    assert await db.get(VisitCheck, (visit_id, "out")) is not None
    stored = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert stored is not None and stored.status == "cancelled"

    # The dispatcher sees the flag, with what the engineer reported.
    listed = await client.get(FLAGS, params={"status": "open"}, headers=t.headers("dispatcher"))
    assert listed.status_code == 200, listed.text
    (flag,) = listed.json()["items"]
    assert flag["id"] == refusal["flag_id"]
    assert flag["kind"] == "completed_after_cancel" and flag["work_order_id"] == wo
    assert flag["engineer_id"] == str(t.engineers[0].id)
    assert flag["payload"]["resolution"]["summary"] == "Replaced relay K2; unit runs"
    conflict_events = await db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "field_conflict")
    )
    assert conflict_events == 1
    outbox = await db.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.aggregate_id == ticket.id, OutboxEvent.topic == "ticket.field_conflict")
    )
    assert outbox == 1

    # The phone learns all of it through the feed.
    await phone.sync()
    assert phone.acks[results[4]["seq"]]["error"]["code"] == "work_order_cancelled"
    assert phone.get("work_order", wo)["status"] == "cancelled"
    assert phone.get("labour_entry", entry_id) is not None
    assert phone.get("note", note_id) is not None
    assert phone.get("attachment", photo_id) is not None

    # Only dispatchers and admins see and close flags.
    for role in ("engineer1", "agent", "viewer"):
        denied = await client.get(FLAGS, headers=t.headers(role))
        assert denied.status_code == 403, (role, denied.text)
    closed = await client.post(
        f"{FLAGS}/{flag['id']}/close",
        json={"outcome": "resolved", "note": "billed the visit"},
        headers=t.headers("dispatcher"),
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "resolved" and closed.json()["closed_by"]
    again = await client.post(
        f"{FLAGS}/{flag['id']}/close", json={"outcome": "dismissed"}, headers=t.headers("admin")
    )
    assert again.status_code == 409
    still_open = await client.get(FLAGS, params={"status": "open"}, headers=t.headers("admin"))
    assert still_open.json()["items"] == []


async def test_flags_of_another_organisation_are_invisible(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await make_tenant(db)
    b = await make_tenant(db, "Other")
    assert b.customer
    from server.sync import flags
    from server.sync.models import FlagKind

    ticket = await make_ticket(db, b.actor("dispatcher"), b.customer, assign_to=b.engineers[0])
    flag = await flags.raise_flag(
        db,
        b.actor("engineer1"),
        ticket=ticket,
        kind=FlagKind.COMPLETED_AFTER_CANCEL,
        detail="late",
        payload={},
    )
    await db.flush()
    listed = await client.get(FLAGS, headers=a.headers("dispatcher"))
    assert listed.status_code == 200 and listed.json()["items"] == []
    closed = await client.post(
        f"{FLAGS}/{flag.id}/close", json={"outcome": "dismissed"}, headers=a.headers("dispatcher")
    )
    assert closed.status_code == 404
