"""Complaints (server/escalation/complaints.py, followups.py): resolving one opens a
call-back task for the service desk; closing one needs its root cause, on every path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import tickets
from server.errors import Conflict
from server.escalation.models import FollowupTask
from server.tickets import TransitionIn
from server.tickets import service as tickets_service
from shared.lifecycle import Action
from tests.fixtures.api import events as audit_events
from tests.fixtures.api import read
from tests.fixtures.factories import Tenant
from tests.server.escalation.helpers import outbox, p1_ticket, resolve, world


async def _close(client: httpx.AsyncClient, t: Tenant, ticket: Any) -> httpx.Response:
    return await client.post(
        f"/api/v1/tickets/{ticket.id}/transitions",
        json={"action": "close"},
        headers=t.headers("dispatcher"),
    )


async def test_a_resolved_complaint_gets_a_callback_for_the_service_desk(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    t = w.t
    ticket = await p1_ticket(db, w, type="complaint")
    await resolve(db, t, ticket)
    tasks = list(await db.scalars(select(FollowupTask).where(FollowupTask.ticket_id == ticket.id)))
    assert [(x.kind, x.assignee_user_id, x.status) for x in tasks] == [
        ("complaint_callback", t.users["agent"].id, "open")
    ]
    hours = (tasks[0].due_at - tasks[0].created_at).total_seconds() / 3600
    assert 23.9 < hours < 24.1
    [created] = await outbox(db, "followup.created", tasks[0].id)
    assert set(created.payload) == {
        "task_id",
        "ticket_id",
        "ticket_number",
        "kind",
        "assignee_user_id",
        "due_at",
        "note",
    }
    assert created.payload["ticket_number"].startswith("WO-")
    trail = [
        e for e in await audit_events(client, t, str(ticket.id)) if e["kind"] == "followup_created"
    ]
    assert trail[0]["changes"]["task_id"] == str(tasks[0].id)

    mine = await client.get("/api/v1/followups?mine=true&status=open", headers=t.headers("agent"))
    assert [x["id"] for x in mine.json()["items"]] == [str(tasks[0].id)]
    url = f"/api/v1/followups/{tasks[0].id}"
    assert (await client.get(url, headers=t.headers("engineer1"))).status_code == 404
    viewer = await client.post(
        f"{url}/complete", json={"outcome": "ok"}, headers=t.headers("viewer")
    )
    assert viewer.status_code == 403
    done = await client.post(
        f"{url}/complete", json={"outcome": "Customer confirmed"}, headers=t.headers("agent")
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["outcome"]) == ("done", "Customer confirmed")
    again = await client.post(f"{url}/complete", json={"outcome": "x"}, headers=t.headers("agent"))
    assert again.status_code == 409 and again.json()["code"] == "followup_not_open"
    empty = await client.post(f"{url}/complete", json={"outcome": ""}, headers=t.headers("agent"))
    assert empty.status_code == 422


async def test_other_work_orders_get_no_callback(db: AsyncSession) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)  # a repair
    await resolve(db, w.t, ticket)
    found = await db.scalar(select(FollowupTask).where(FollowupTask.ticket_id == ticket.id))
    assert found is None


async def test_a_complaint_closes_only_with_its_root_cause(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    t = w.t
    ticket = await p1_ticket(db, w, type="complaint")
    await resolve(db, t, ticket)
    refused = await _close(client, t, ticket)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "root_cause_required", refused.text
    assert problem["code"] == "root_cause_required" and "root_cause" in problem["detail"]
    assert (await read(client, t, str(ticket.id)))["status"] == "resolved"

    # The service path refuses too, and close never takes the light path past the guard.
    assert tickets.lifecycle.hooked(Action.CLOSE)
    with pytest.raises(Conflict):
        async with db.begin_nested():
            await tickets_service.apply_transition(
                db, t.actor("admin"), ticket_id=ticket.id, data=TransitionIn(action=Action.CLOSE)
            )

    current = await read(client, t, str(ticket.id))
    patched = await client.patch(
        f"/api/v1/tickets/{ticket.id}",
        json={"root_cause": "Wrong refrigerant charge at installation"},
        headers={**t.headers("dispatcher"), "If-Match": f'"v{current["version"]}"'},
    )
    assert patched.status_code == 200, patched.text
    closed = await _close(client, t, ticket)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"


async def test_a_blank_root_cause_is_no_root_cause(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w, type="complaint")
    await resolve(db, w.t, ticket)
    ticket.root_cause = "   "
    await db.flush()
    assert (await _close(client, w.t, ticket)).status_code == 409


async def test_repairs_close_without_a_root_cause(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)
    await resolve(db, w.t, ticket)
    assert (await _close(client, w.t, ticket)).status_code == 200


async def test_even_a_light_close_would_meet_the_guard(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were close ever made a light action, the light path would still hand it to the ORM
    path, where the guard runs: a hooked action never goes light."""
    monkeypatch.setattr(
        tickets_service, "LIGHT_ACTIONS", tickets_service.LIGHT_ACTIONS | {Action.CLOSE}
    )
    w = await world(db)
    ticket = await p1_ticket(db, w, type="complaint")
    await resolve(db, w.t, ticket)
    refused = await _close(client, w.t, ticket)
    assert refused.status_code == 409 and refused.json()["code"] == "root_cause_required"


async def test_without_agents_the_callback_goes_to_the_escalation_owner(
    db: AsyncSession,
) -> None:
    from server.events import service as events
    from tests.server.escalation.helpers import sla_at

    w = await world(db)
    w.t.users["agent"].is_active = False
    ticket = await p1_ticket(db, w, type="complaint")
    await sla_at(db, ticket, 500)  # breached: the second line owns it
    await events.deliver_pending(db)
    await resolve(db, w.t, ticket)
    task = await db.scalar(select(FollowupTask).where(FollowupTask.ticket_id == ticket.id))
    assert task is not None and task.assignee_user_id == w.second.id


async def test_an_invisible_root_cause_is_no_root_cause(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A zero-width space or a direction mark passes ``strip()``: still nothing written."""
    w = await world(db)
    ticket = await p1_ticket(db, w, type="complaint")
    await resolve(db, w.t, ticket)
    ticket.root_cause = "\u200b \u200e\u2060\ufeff\n"
    await db.flush()
    assert (await _close(client, w.t, ticket)).status_code == 409


async def test_a_callback_is_not_done_with_an_invisible_outcome(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w, type="complaint")
    await resolve(db, w.t, ticket)
    task = await db.scalar(select(FollowupTask).where(FollowupTask.ticket_id == ticket.id))
    assert task is not None
    url = f"/api/v1/followups/{task.id}/complete"
    blank = await client.post(url, json={"outcome": "\u200b\u200e"}, headers=w.t.headers("agent"))
    assert blank.status_code == 422 and "write what the call found" in blank.text
    await db.refresh(task)
    assert task.status == "open"
