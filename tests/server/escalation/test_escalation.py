"""The escalation chain end to end on PostgreSQL (server/escalation/engine.py): at risk ->
the service desk is told; breached -> the second line owns it; the second line's due time
passes -> the service manager; every step on the audit trail, none twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.escalation import engine
from server.escalation.models import TicketEscalation
from server.events import service as events
from tests.fixtures.api import events as audit_events
from tests.server.escalation.helpers import World, outbox, p1_ticket, sla_at, world

LATER = dt.timedelta(minutes=61)


async def _escalation(
    client: httpx.AsyncClient, w: World, ticket: Any, who: str = "dispatcher"
) -> Any:
    resp = await client.get(f"/api/v1/tickets/{ticket.id}/escalation", headers=w.t.headers(who))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _levels(db: AsyncSession, ticket: Any) -> int:
    count = await db.scalar(select(func.count()).where(TicketEscalation.ticket_id == ticket.id))
    return int(count or 0)


async def test_the_chain_at_risk_breached_then_past_due(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)
    assert (await _escalation(client, w, ticket))["level"] == 0

    await sla_at(db, ticket, 0.9 * 480)
    await events.deliver_pending(db)
    one = await _escalation(client, w, ticket)
    assert (one["level"], one["owner_user_id"]) == (1, str(w.t.users["agent"].id))
    assert one["steps"][0]["action"] == "notify" and one["next_step"]["owner"] == "second_line"
    for event in await outbox(db, "ticket.sla_at_risk", ticket.id):  # delivered again
        await engine.on_sla_event(db, event)
    assert await _levels(db, ticket) == 1

    await sla_at(db, ticket, 481)
    await events.deliver_pending(db)
    two = await _escalation(client, w, ticket)
    assert (two["level"], two["owner_user_id"]) == (2, str(w.second.id))
    assert two["steps"][1]["reason"] == "SLA breached"
    for event in await outbox(db, "ticket.sla_breached", ticket.id):
        await engine.on_sla_event(db, event)
    assert await _levels(db, ticket) == 2

    now = dt.datetime.now(dt.UTC)
    assert await engine.sweep(db, now=now) == 0  # the second line still has time
    assert await engine.sweep(db, now=now + LATER) >= 1
    assert await engine.sweep(db, now=now + LATER) == 0  # swept again: nothing twice
    three = await _escalation(client, w, ticket)
    assert (three["level"], three["owner_user_id"]) == (3, str(w.manager.id))
    assert three["steps"][2]["reason"] == "level 2 not resolved by its due time"
    assert three["next_step"] is None

    trail = [e for e in await audit_events(client, w.t, str(ticket.id)) if e["kind"] == "escalated"]
    assert [e["changes"]["level"] for e in trail] == [1, 2, 3]
    owners = [w.t.users["agent"].id, w.second.id, w.manager.id]
    assert [e["changes"]["owner_user_id"] for e in trail] == [str(u) for u in owners]
    assert [e["changes"]["step_action"] for e in trail] == ["notify", "reassign", "reassign"]
    assert all(e["changes"]["due_at"] and e["actor"] == "system:escalation" for e in trail)
    assert len(await outbox(db, "ticket.escalated", ticket.id)) == 3


async def test_a_breach_without_at_risk_takes_both_steps_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)
    await sla_at(db, ticket, 500)
    await events.deliver_pending(db)
    got = await _escalation(client, w, ticket)
    assert [s["level"] for s in got["steps"]] == [1, 2]
    assert got["owner_user_id"] == str(w.second.id)


async def test_cancel_stops_and_the_sweep_takes_nothing_more(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)
    await sla_at(db, ticket, 0.9 * 480)
    await events.deliver_pending(db)
    resp = await client.post(
        f"/api/v1/tickets/{ticket.id}/transitions",
        json={"action": "cancel", "reason": "duplicate"},
        headers=w.t.headers("dispatcher"),
    )
    assert resp.status_code == 200, resp.text
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    await engine.sweep(db, now=later)
    got = await _escalation(client, w, ticket)
    assert (got["level"], got["active"], got["next_step"]) == (1, False, None)
    cancel = [e for e in await audit_events(client, w.t, str(ticket.id)) if e["action"] == "cancel"]
    assert cancel[0]["changes"]["escalation_stopped"] == 1


async def test_acknowledged_step_holds_until_its_due_time(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)
    await sla_at(db, ticket, 0.9 * 480)
    await events.deliver_pending(db)
    url = f"/api/v1/tickets/{ticket.id}/escalation/acknowledge"
    refused = await client.post(url, headers=w.t.headers("dispatcher"))
    assert refused.status_code == 403, refused.text
    for _ in range(2):  # again: no change
        acked = await client.post(url, headers=w.t.headers("agent"))
        assert acked.status_code == 200, acked.text
        assert acked.json()["acknowledged"] is True
    await sla_at(db, ticket, 481)
    await events.deliver_pending(db)
    assert await _levels(db, ticket) == 1  # the breach waits for the agent's due time
    assert await engine.sweep(db, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)) >= 1
    got = await _escalation(client, w, ticket)
    assert (got["level"], got["owner_user_id"]) == (2, str(w.second.id))
    kinds = [e["kind"] for e in await audit_events(client, w.t, str(ticket.id))]
    assert kinds.count("escalation_acknowledged") == 1


async def test_acknowledging_what_is_not_escalated_is_409(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)
    resp = await client.post(
        f"/api/v1/tickets/{ticket.id}/escalation/acknowledge", headers=w.t.headers("admin")
    )
    assert resp.status_code == 409 and resp.json()["code"] == "no_active_escalation"


async def test_mine_lists_what_the_caller_owns(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(db)
    ticket = await p1_ticket(db, w)
    await sla_at(db, ticket, 500)
    await events.deliver_pending(db)
    mine = await client.get("/api/v1/escalation/mine", headers=w.t.headers("agent"))
    assert mine.status_code == 200 and mine.json()["items"] == []  # the second line has it
    from tests.fixtures.factories import headers_for

    second = await client.get("/api/v1/escalation/mine", headers=headers_for(w.second))
    items = second.json()["items"]
    assert [(i["ticket_id"], i["level"]) for i in items] == [(str(ticket.id), 2)]


async def test_other_organisations_escalation_is_404(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w, other = await world(db), await world(db)
    ticket = await p1_ticket(db, other)
    resp = await client.get(f"/api/v1/tickets/{ticket.id}/escalation", headers=w.t.headers("admin"))
    assert resp.status_code == 404


async def test_resolve_stops_and_reopen_resumes_at_the_same_level(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    from server.tickets import TransitionIn
    from server.tickets import service as tickets
    from shared.lifecycle import Action
    from tests.server.escalation.helpers import resolve

    w = await world(db)
    ticket = await p1_ticket(db, w)
    await sla_at(db, ticket, 0.9 * 480)
    await events.deliver_pending(db)
    await resolve(db, w.t, ticket)
    stopped = await _escalation(client, w, ticket)
    assert (stopped["level"], stopped["active"]) == (1, False)
    reopen = TransitionIn(action=Action.REOPEN, reason="still noisy")
    await tickets.apply_transition(db, w.t.actor("dispatcher"), ticket_id=ticket.id, data=reopen)
    await db.flush()
    resumed = await _escalation(client, w, ticket)
    assert (resumed["level"], resumed["active"], resumed["acknowledged"]) == (1, True, False)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)
    assert await engine.sweep(db, now=later) >= 1
    assert (await _escalation(client, w, ticket))["level"] == 2
