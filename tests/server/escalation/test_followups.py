"""Follow-up tasks from survey detractors (``survey.detractor``): one task for a service
manager per response, however often the event is delivered."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.escalation import followups
from server.escalation.models import FollowupTask
from server.events import service as events
from server.events.models import OutboxEvent
from tests.fixtures.factories import headers_for
from tests.server.escalation.helpers import p1_ticket, world


def _detractor(ticket_id: uuid.UUID, response_id: uuid.UUID) -> dict[str, object]:
    return {
        "invitation_id": str(uuid.uuid4()),
        "response_id": str(response_id),
        "ticket_id": str(ticket_id),
        "ticket_number": "WO-000001",
        "customer_id": str(uuid.uuid4()),
        "engineer_id": None,
        "csat": 2,
        "nps": 3,
        "comment": "Nobody told us when the engineer would come",
    }


async def test_a_detractor_opens_one_task_for_the_service_manager(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)
    response_id = uuid.uuid4()
    event = events.emit(
        db,
        org_id=w.t.org.id,
        topic="survey.detractor",
        aggregate_id=ticket.id,
        payload=_detractor(ticket.id, response_id),
    )
    await db.flush()
    await events.deliver_pending(db)
    await followups.on_detractor(db, event)  # delivered again
    tasks = list(await db.scalars(select(FollowupTask).where(FollowupTask.ticket_id == ticket.id)))
    assert [(x.kind, x.assignee_user_id) for x in tasks] == [("detractor", w.manager.id)]
    assert "NPS 3" in tasks[0].note and "Nobody told us" in tasks[0].note
    created = await db.scalars(
        select(OutboxEvent).where(
            OutboxEvent.topic == "followup.created", OutboxEvent.aggregate_id == tasks[0].id
        )
    )
    assert len(list(created)) == 1

    listed = await client.get("/api/v1/followups?mine=true", headers=headers_for(w.manager))
    assert [x["kind"] for x in listed.json()["items"]] == ["detractor"]
    assert (await client.get("/api/v1/followups", headers=w.t.headers("engineer1"))).json()[
        "items"
    ] == []


async def test_without_a_service_manager_an_admin_gets_it(db: AsyncSession) -> None:
    w = await world(db)
    w.manager.duties = []
    ticket = await p1_ticket(db, w)
    event = OutboxEvent(
        org_id=w.t.org.id,
        topic="survey.detractor",
        aggregate_id=ticket.id,
        payload=_detractor(ticket.id, uuid.uuid4()),
    )
    db.add(event)
    await db.flush()
    await followups.on_detractor(db, event)
    task = await db.scalar(select(FollowupTask).where(FollowupTask.ticket_id == ticket.id))
    assert task is not None and task.assignee_user_id == w.t.users["admin"].id


async def test_a_detractor_of_another_organisations_work_order_opens_nothing(
    db: AsyncSession,
) -> None:
    w, other = await world(db), await world(db)
    ticket = await p1_ticket(db, other)
    event = OutboxEvent(
        org_id=w.t.org.id,
        topic="survey.detractor",
        aggregate_id=ticket.id,
        payload=_detractor(ticket.id, uuid.uuid4()),
    )
    db.add(event)
    await db.flush()
    await followups.on_detractor(db, event)
    assert await db.scalar(select(FollowupTask).where(FollowupTask.ticket_id == ticket.id)) is None


async def test_followups_page_by_due_time(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(db)
    for _ in range(3):
        ticket = await p1_ticket(db, w)
        event = OutboxEvent(
            org_id=w.t.org.id,
            topic="survey.detractor",
            aggregate_id=ticket.id,
            payload=_detractor(ticket.id, uuid.uuid4()),
        )
        db.add(event)
        await db.flush()
        await followups.on_detractor(db, event)
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/api/v1/followups?{query}", headers=w.t.headers("admin"))).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3
