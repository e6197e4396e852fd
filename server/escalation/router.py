"""Escalation policies, a work order's escalation, follow-up tasks (docs/escalation.md)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Response

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.escalation import followups, policies, service
from server.escalation.models import FollowupStatus, FollowupTask
from server.escalation.schemas import (
    EscalationRead,
    EscalationStepRead,
    FollowupComplete,
    FollowupRead,
    MineRead,
    PolicyRead,
    PolicyUpdate,
    Step,
)
from server.http import (
    Cursor,
    IfMatch,
    IfNoneMatch,
    Limit,
    expected_version,
    problems,
    put_precondition,
    set_etag,
)
from server.schemas import PageOut
from server.tickets import Priority, format_number

router = APIRouter(prefix="/api/v1", tags=["escalation"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]


def _policy(policy: policies.Policy) -> PolicyRead:
    return PolicyRead(
        priority=policy.priority,
        steps=[Step.model_validate(s) for s in policy.steps],
        default=policy.default,
        version=policy.version,
        updated_at=policy.updated_at,
    )


@router.get(
    "/escalation/policies",
    summary="The escalation policy of every priority (the default chain where none is set)",
    response_model=list[PolicyRead],
    responses=problems(403),
)
async def list_escalation_policies(session: SessionDep, actor: Reader) -> list[PolicyRead]:
    return [_policy(p) for p in await policies.list_policies(session, actor)]


@router.get(
    "/escalation/policies/{priority}",
    summary="The escalation policy of a priority",
    description="Without a policy set, the default chain with `default: true` and no ETag.",
    response_model=PolicyRead,
    responses=problems(403),
)
async def read_escalation_policy(
    priority: Priority, session: SessionDep, actor: Reader, response: Response
) -> PolicyRead:
    policy = await policies.get_policy(session, actor, priority=priority)
    if not policy.default:
        set_etag(response, policy.version)
    return _policy(policy)


@router.put(
    "/escalation/policies/{priority}",
    summary="Set the escalation policy of a priority",
    description="Create with `If-None-Match: *` (412 if the priority has one already), "
    "replace with `If-Match` and the ETag read (412 if it changed since, or if there is "
    "none); neither: 428. Admins only. Steps are checked: 422 says which and why.",
    response_model=PolicyRead,
    responses=problems(400, 403, 412, 428),
)
async def set_escalation_policy(
    priority: Priority,
    body: PolicyUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> PolicyRead:
    policy = await policies.set_policy(
        session,
        actor,
        priority=priority,
        steps=body.steps,
        expected_version=put_precondition(if_match, if_none_match),
    )
    set_etag(response, policy.version)
    return _policy(policy)


@router.delete(
    "/escalation/policies/{priority}",
    status_code=204,
    summary="Delete the escalation policy of a priority (the default chain applies again)",
    description="`If-Match` with the ETag read is required (428 without, 412 if stale).",
    responses=problems(400, 403, 412, 428),
)
async def delete_escalation_policy(
    priority: Priority, session: SessionDep, actor: Writer, if_match: IfMatch = None
) -> Response:
    await policies.delete_policy(
        session, actor, priority=priority, expected_version=expected_version(if_match)
    )
    return Response(status_code=204)


def _escalation(found: service.Escalation) -> EscalationRead:
    cur, now = found.current, dt.datetime.now(dt.UTC)
    active = cur is not None and cur.ended_at is None
    nxt = found.next_step
    return EscalationRead(
        ticket_id=found.ticket.id,
        ticket_number=format_number(found.ticket.number),
        level=cur.level if cur else 0,
        owner_user_id=cur.owner_user_id if cur else None,
        due_at=cur.due_at if cur else None,
        overdue=active and cur is not None and cur.due_at <= now,
        acknowledged=cur is not None and cur.acknowledged_at is not None,
        active=active,
        next_step=Step.model_validate(nxt) if nxt else None,
        steps=[EscalationStepRead.model_validate(s) for s in found.steps],
    )


@router.get(
    "/tickets/{ticket_id}/escalation",
    summary="A work order's escalation: level, owner, due time, the steps reached",
    response_model=EscalationRead,
    responses=problems(403, 404),
)
async def read_escalation(
    ticket_id: uuid.UUID, session: SessionDep, actor: Reader
) -> EscalationRead:
    return _escalation(await service.read(session, actor, ticket_id=ticket_id))


@router.post(
    "/tickets/{ticket_id}/escalation/acknowledge",
    summary="Acknowledge the current escalation step (its owner, or an admin)",
    description="Further steps wait until the step's due time; if the work order is still "
    "open then, the next step is taken. Not escalated: 409 `no_active_escalation`.",
    response_model=EscalationRead,
    responses=problems(403, 404, 409),
)
async def acknowledge_escalation(
    ticket_id: uuid.UUID, session: SessionDep, actor: Writer
) -> EscalationRead:
    return _escalation(await service.acknowledge(session, actor, ticket_id=ticket_id))


@router.get(
    "/escalation/mine",
    summary="The escalated work orders whose current step the caller owns, soonest due first",
    response_model=PageOut[MineRead],
    responses=problems(400, 403),
)
async def my_escalations(
    session: SessionDep, actor: Reader, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[MineRead]:
    page, tickets = await service.mine(session, actor, limit=limit, cursor=cursor)
    now = dt.datetime.now(dt.UTC)
    items = [
        MineRead(
            id=row.id,
            ticket_id=row.ticket_id,
            ticket_number=format_number(tickets[row.ticket_id].number),
            title=tickets[row.ticket_id].title,
            level=row.level,
            action=row.action,
            reason=row.reason,
            due_at=row.due_at,
            overdue=row.due_at <= now,
            acknowledged=row.acknowledged_at is not None,
        )
        for row in page.items
    ]
    return PageOut(items=items, next_cursor=page.next_cursor)


def _task(task: FollowupTask) -> FollowupRead:
    return FollowupRead.model_validate(task)


@router.get(
    "/followups",
    summary="Follow-up tasks, soonest due first (engineers: their own)",
    response_model=PageOut[FollowupRead],
    responses=problems(400, 403),
)
async def list_followups(
    session: SessionDep,
    actor: Reader,
    status: FollowupStatus | None = None,
    mine: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[FollowupRead]:
    page = await followups.list_tasks(
        session, actor, status=status, mine=mine, limit=limit, cursor=cursor
    )
    return PageOut(items=[_task(t) for t in page.items], next_cursor=page.next_cursor)


@router.get(
    "/followups/{task_id}",
    summary="Read a follow-up task",
    response_model=FollowupRead,
    responses=problems(403, 404),
)
async def read_followup(
    task_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> FollowupRead:
    task = await followups.get(session, actor, task_id=task_id)
    set_etag(response, task.version)
    return _task(task)


@router.post(
    "/followups/{task_id}/complete",
    summary="Complete a follow-up task with its outcome",
    description="A task done or cancelled already: 409 `followup_not_open`.",
    response_model=FollowupRead,
    responses=problems(403, 404, 409),
)
async def complete_followup(
    task_id: uuid.UUID,
    body: FollowupComplete,
    session: SessionDep,
    actor: Writer,
    response: Response,
) -> FollowupRead:
    task = await followups.complete(session, actor, task_id=task_id, outcome=body.outcome)
    set_etag(response, task.version)
    return _task(task)
