"""The work-order lifecycle through the HTTP API: every allowed and every forbidden
transition, who may run which action, and the audit trail (events + outbox) it leaves."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import OutboxEvent
from server.tickets.models import TicketEvent
from shared.lifecycle import (
    TRANSITIONS,
    Action,
    Status,
    Transition,
    allowed_actions,
)
from tests.fixtures.api import events, read
from tests.fixtures.factories import Tenant, make_engineer, make_tenant

PROBLEM = "application/problem+json"

# How the dispatcher walks a fresh work order to each status.
WALK: dict[Status, tuple[Action, ...]] = {
    Status.NEW: (),
    Status.ASSIGNED: (Action.ASSIGN,),
    Status.ACCEPTED: (Action.ASSIGN, Action.ACCEPT),
    Status.TRAVELLING: (Action.ASSIGN, Action.ACCEPT, Action.START_TRAVEL),
    Status.ON_SITE: (Action.ASSIGN, Action.ACCEPT, Action.START_TRAVEL, Action.ARRIVE),
    Status.ON_HOLD: (
        Action.ASSIGN,
        Action.ACCEPT,
        Action.START_TRAVEL,
        Action.ARRIVE,
        Action.HOLD,
    ),
    Status.RESOLVED: (
        Action.ASSIGN,
        Action.ACCEPT,
        Action.START_TRAVEL,
        Action.ARRIVE,
        Action.RESOLVE,
    ),
    Status.CLOSED: (
        Action.ASSIGN,
        Action.ACCEPT,
        Action.START_TRAVEL,
        Action.ARRIVE,
        Action.RESOLVE,
        Action.CLOSE,
    ),
    Status.CANCELLED: (Action.CANCEL,),
}
REASON_ACTIONS = frozenset({Action.REJECT, Action.HOLD, Action.REOPEN, Action.CANCEL})
FIELD_ACTIONS = (
    (Status.ASSIGNED, Action.ACCEPT),
    (Status.ASSIGNED, Action.REJECT),
    (Status.ACCEPTED, Action.START_TRAVEL),
    (Status.TRAVELLING, Action.ARRIVE),
    (Status.ON_SITE, Action.HOLD),
    (Status.ON_HOLD, Action.RESUME),
    (Status.ON_SITE, Action.RESOLVE),
)
ALLOWED = {(t.source, t.action) for t in TRANSITIONS}
FORBIDDEN = [pair for pair in itertools.product(Status, Action) if pair not in ALLOWED]


def _transition_id(t: Transition) -> str:
    return f"{t.source.value}-{t.action.value}"


def _pair_id(pair: tuple[Status, Action]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def body_for(
    t: Tenant, action: Action, *, engineer_index: int = 0, reason: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action.value}
    if action is Action.ASSIGN:
        body["engineer_id"] = str(t.engineers[engineer_index].id)
    if reason is not None:
        body["reason"] = reason
    elif action in REASON_ACTIONS:
        body["reason"] = f"because {action.value}"
    return body


async def post_transition(
    client: httpx.AsyncClient,
    t: Tenant,
    ticket_id: str,
    body: dict[str, Any],
    *,
    who: str = "dispatcher",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/tickets/{ticket_id}/transitions",
        json=body,
        headers={**t.headers(who), **(headers or {})},
    )


async def new_ticket(client: httpx.AsyncClient, t: Tenant) -> dict[str, Any]:
    assert t.customer is not None
    resp = await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "title": "Boiler lockout"},
        headers=t.headers("dispatcher"),
    )
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


async def ticket_at(client: httpx.AsyncClient, t: Tenant, status: Status) -> dict[str, Any]:
    """A fresh work order walked by the dispatcher to ``status`` (assigned to engineer 1)."""
    ticket = await new_ticket(client, t)
    for action in WALK[status]:
        resp = await post_transition(client, t, ticket["id"], body_for(t, action))
        assert resp.status_code == 200, (action, resp.text)
        ticket = resp.json()
    assert ticket["status"] == status.value
    return ticket


async def outbox_rows(db: AsyncSession, ticket_id: str) -> list[OutboxEvent]:
    rows = await db.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.aggregate_id == uuid.UUID(ticket_id))
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def assert_unchanged(
    client: httpx.AsyncClient,
    db: AsyncSession,
    t: Tenant,
    before: dict[str, Any],
    events_before: list[dict[str, Any]],
    outbox_before: int,
) -> None:
    after = await read(client, t, before["id"])
    assert after["version"] == before["version"]
    assert after["status"] == before["status"]
    assert after["assignee_id"] == before["assignee_id"]
    assert await events(client, t, before["id"]) == events_before
    assert len(await outbox_rows(db, before["id"])) == outbox_before


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"]
    return body


# --- every allowed transition --------------------------------------------------------------


@pytest.mark.parametrize("step", TRANSITIONS, ids=_transition_id)
async def test_allowed_transition_moves_status_and_writes_one_event_and_outbox_row(
    client: httpx.AsyncClient, db: AsyncSession, step: Transition
) -> None:
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, step.source)
    events_before = await events(client, t, ticket["id"])
    outbox_before = await outbox_rows(db, ticket["id"])
    assert len(outbox_before) == len(events_before)

    reason = f"reason for {step.action.value}" if step.needs_reason else None
    # Re-assigning must name someone else, so the assignee visibly changes.
    engineer_index = 1 if step.source is Status.ASSIGNED else 0
    body = body_for(t, step.action, engineer_index=engineer_index, reason=reason)
    resp = await post_transition(client, t, ticket["id"], body)

    assert resp.status_code == 200, resp.text
    moved = resp.json()
    assert moved["status"] == step.target.value
    assert moved["version"] == ticket["version"] + 1
    assert resp.headers["etag"] == f'"v{moved["version"]}"'
    assert moved["allowed_actions"] == [a.value for a in allowed_actions(step.target)]
    if step.action is Action.ASSIGN:
        assert moved["assignee_id"] == str(t.engineers[engineer_index].id)
    elif step.action in (Action.UNASSIGN, Action.REJECT):
        assert moved["assignee_id"] is None
    else:
        assert moved["assignee_id"] == ticket["assignee_id"]
    assert (await read(client, t, ticket["id"]))["status"] == step.target.value

    events_after = await events(client, t, ticket["id"])
    old_ids = {e["id"] for e in events_before}
    new = [e for e in events_after if e["id"] not in old_ids]
    assert len(events_after) == len(events_before) + 1
    assert len(new) == 1
    event = new[0]
    assert event["kind"] == "transition"
    assert event["action"] == step.action.value
    assert event["from_status"] == step.source.value
    assert event["to_status"] == step.target.value
    assert event["actor"] == f"user:{t.users['dispatcher'].email}"
    assert event["reason"] == reason
    assert event["ticket_id"] == ticket["id"]

    outbox_after = await outbox_rows(db, ticket["id"])
    assert len(outbox_after) == len(events_after)
    fresh = [o for o in outbox_after if o.id not in {b.id for b in outbox_before}]
    assert len(fresh) == 1
    assert fresh[0].topic == "ticket.transition"
    assert fresh[0].org_id == t.org.id
    assert fresh[0].delivered_at is None
    assert fresh[0].payload["action"] == step.action.value
    assert fresh[0].payload["from_status"] == step.source.value
    assert fresh[0].payload["to_status"] == step.target.value
    assert fresh[0].payload["status"] == step.target.value


# --- every forbidden (status, action) pair ---------------------------------------------------


@pytest.mark.parametrize("pair", FORBIDDEN, ids=_pair_id)
async def test_forbidden_transition_answers_409_with_allowed_actions_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, pair: tuple[Status, Action]
) -> None:
    status, action = pair
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, status)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    # A complete body, so only the state machine can refuse it.
    resp = await post_transition(client, t, ticket["id"], body_for(t, action, engineer_index=1))

    problem = assert_problem(resp, 409, "invalid_transition")
    assert problem["allowed_actions"] == [a.value for a in allowed_actions(status)]
    assert problem["current_status"] == status.value
    assert action.value in problem["detail"]
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)


# --- who may run which action ----------------------------------------------------------------


@pytest.mark.parametrize("pair", FIELD_ACTIONS, ids=lambda p: f"{p[0].value}-{p[1].value}")
async def test_engineer_runs_field_action_only_on_own_ticket(
    client: httpx.AsyncClient, db: AsyncSession, pair: tuple[Status, Action]
) -> None:
    status, action = pair
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, status)
    assert ticket["assignee_id"] == str(t.engineers[0].id)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    other = await post_transition(client, t, ticket["id"], body_for(t, action), who="engineer2")
    assert_problem(other, 404, "not_found")
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)

    own = await post_transition(client, t, ticket["id"], body_for(t, action), who="engineer1")
    assert own.status_code == 200, own.text
    assert own.json()["status"] == transition_target(status, action).value
    new = (await events(client, t, ticket["id"]))[len(events_before) :]
    assert [(e["action"], e["actor"]) for e in new] == [
        (action.value, f"user:{t.users['engineer1'].email}")
    ]


def transition_target(status: Status, action: Action) -> Status:
    return next(x.target for x in TRANSITIONS if (x.source, x.action) == (status, action))


async def test_engineer_cannot_see_or_act_on_unassigned_ticket(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, Status.NEW)
    resp = await post_transition(
        client, t, ticket["id"], body_for(t, Action.CANCEL), who="engineer1"
    )
    assert_problem(resp, 404, "not_found")
    listed = await client.get(
        f"/api/v1/tickets/{ticket['id']}/events", headers=t.headers("engineer1")
    )
    assert_problem(listed, 404, "not_found")


@pytest.mark.parametrize(
    "pair",
    [
        (Status.ASSIGNED, Action.ASSIGN),
        (Status.ASSIGNED, Action.UNASSIGN),
        (Status.ASSIGNED, Action.CANCEL),
        (Status.RESOLVED, Action.CLOSE),
        (Status.RESOLVED, Action.REOPEN),
    ],
    ids=lambda p: f"{p[0].value}-{p[1].value}",
)
async def test_engineer_cannot_run_back_office_action_on_own_ticket(
    client: httpx.AsyncClient, db: AsyncSession, pair: tuple[Status, Action]
) -> None:
    status, action = pair
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, status)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    resp = await post_transition(
        client, t, ticket["id"], body_for(t, action, engineer_index=0), who="engineer1"
    )

    assert_problem(resp, 403, "forbidden")
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)


@pytest.mark.parametrize(
    "pair",
    [
        (Status.NEW, Action.ASSIGN),
        (Status.ASSIGNED, Action.ASSIGN),
        (Status.ASSIGNED, Action.UNASSIGN),
    ],
    ids=lambda p: f"{p[0].value}-{p[1].value}",
)
async def test_agent_cannot_assign_or_unassign(
    client: httpx.AsyncClient, db: AsyncSession, pair: tuple[Status, Action]
) -> None:
    status, action = pair
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, status)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    resp = await post_transition(
        client, t, ticket["id"], body_for(t, action, engineer_index=1), who="agent"
    )

    assert_problem(resp, 403, "forbidden")
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)


async def test_agent_may_cancel(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, Status.NEW)
    resp = await post_transition(client, t, ticket["id"], body_for(t, Action.CANCEL), who="agent")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == Status.CANCELLED.value


@pytest.mark.parametrize(
    "pair",
    [(Status.NEW, Action.ASSIGN), (Status.NEW, Action.CANCEL), (Status.ASSIGNED, Action.ACCEPT)],
    ids=lambda p: f"{p[0].value}-{p[1].value}",
)
async def test_viewer_cannot_transition(
    client: httpx.AsyncClient, db: AsyncSession, pair: tuple[Status, Action]
) -> None:
    status, action = pair
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, status)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    resp = await post_transition(client, t, ticket["id"], body_for(t, action), who="viewer")

    assert_problem(resp, 403, "forbidden")
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)


# --- assignment targets ----------------------------------------------------------------------


async def test_assigning_inactive_engineer_is_422(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    _, inactive = await make_engineer(db, t.org, active=False)
    ticket = await ticket_at(client, t, Status.NEW)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    resp = await post_transition(
        client, t, ticket["id"], {"action": "assign", "engineer_id": str(inactive.id)}
    )

    problem = assert_problem(resp, 422, "unprocessable")
    assert problem["field"] == "engineer_id"
    assert "inactive" in problem["detail"]
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)


async def test_assigning_another_orgs_engineer_is_422(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    other = await make_tenant(db, "Other")
    ticket = await ticket_at(client, t, Status.NEW)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    resp = await post_transition(
        client, t, ticket["id"], {"action": "assign", "engineer_id": str(other.engineers[0].id)}
    )

    problem = assert_problem(resp, 422, "unprocessable")
    assert problem["field"] == "engineer_id"
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)


async def test_assign_without_engineer_id_is_422(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, Status.NEW)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    resp = await post_transition(client, t, ticket["id"], {"action": "assign"})

    problem = assert_problem(resp, 422, "unprocessable")
    assert problem["field"] == "engineer_id"
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)


@pytest.mark.parametrize(
    "pair",
    [
        (Status.NEW, Action.CANCEL),
        (Status.ASSIGNED, Action.REJECT),
        (Status.ON_SITE, Action.HOLD),
        (Status.RESOLVED, Action.REOPEN),
    ],
    ids=lambda p: f"{p[0].value}-{p[1].value}",
)
async def test_action_that_needs_reason_without_one_is_422(
    client: httpx.AsyncClient, db: AsyncSession, pair: tuple[Status, Action]
) -> None:
    status, action = pair
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, status)
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    resp = await post_transition(client, t, ticket["id"], {"action": action.value})

    problem = assert_problem(resp, 422, "unprocessable")
    assert problem["field"] == "reason"
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)


# --- optimistic concurrency ------------------------------------------------------------------


async def test_transition_with_stale_if_match_is_412_and_current_one_succeeds(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, Status.ASSIGNED)
    assert ticket["version"] == 2
    events_before = await events(client, t, ticket["id"])
    outbox_before = len(await outbox_rows(db, ticket["id"]))

    stale = await post_transition(
        client, t, ticket["id"], {"action": "accept"}, headers={"If-Match": '"v1"'}
    )

    problem = assert_problem(stale, 412, "precondition_failed")
    assert problem["current_version"] == 2
    await assert_unchanged(client, db, t, ticket, events_before, outbox_before)

    fresh = await post_transition(
        client, t, ticket["id"], {"action": "accept"}, headers={"If-Match": '"v2"'}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["version"] == 3
    assert fresh.headers["etag"] == '"v3"'


# --- the audit trail -------------------------------------------------------------------------


async def test_full_walk_writes_one_event_and_one_outbox_row_per_change(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, Status.CLOSED)

    trail = await events(client, t, ticket["id"])
    assert [e["kind"] for e in trail] == ["created"] + ["transition"] * len(WALK[Status.CLOSED])
    assert [e["action"] for e in trail[1:]] == [a.value for a in WALK[Status.CLOSED]]
    # Each event starts where the previous one ended.
    statuses = [trail[0]["to_status"]] + [e["to_status"] for e in trail[1:]]
    assert [e["from_status"] for e in trail[1:]] == statuses[:-1]
    assert statuses[-1] == Status.CLOSED.value

    outbox = await outbox_rows(db, ticket["id"])
    assert sorted(o.topic for o in outbox) == sorted(f"ticket.{e['kind']}" for e in trail)
    assert sorted(o.payload["action"] or "" for o in outbox) == sorted(
        e["action"] or "" for e in trail
    )


async def test_ticket_events_are_append_only_in_the_database(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await ticket_at(client, t, Status.ASSIGNED)
    ticket_id = uuid.UUID(ticket["id"])
    count = select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    assert await db.scalar(count) == 2

    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(
                text("UPDATE ticket_events SET reason = 'rewritten' WHERE ticket_id = :id"),
                {"id": ticket_id},
            )
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(
                text("DELETE FROM ticket_events WHERE ticket_id = :id"), {"id": ticket_id}
            )

    assert await db.scalar(count) == 2
    assert all(e["reason"] != "rewritten" for e in await events(client, t, ticket["id"]))
