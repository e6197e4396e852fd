"""Follow-up tasks (``followup_tasks``): what a person must do after a work order.

- ``complaint_callback``: a complaint (ticket type ``complaint``) is resolved: someone of
  the service desk calls the customer back to confirm the fix, within 24 hours. It goes to
  the agent with the fewest open tasks (ties: the first by e-mail), else to the
  escalation's current owner, else to the admin with the fewest. One open call-back per
  work order (resolving again after a reopen while one is open opens no second).
- ``detractor``: a survey answer marked the customer a detractor (``survey.detractor``):
  a service manager (duty) hears them out, else an admin; one task per survey response.

Each task written is an outbox event ``followup.created`` (payload: docs/escalation.md) and
an audit event ``followup_created`` on its work order. Who sees tasks: the back office
all of the organisation's; an engineer only those assigned to them (others are 404).
The assignee or the back office (not viewers) completes a task with its outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server import events
from server.auth import Actor
from server.crud import keyset_page
from server.errors import Conflict, NotFound
from server.escalation import engine, owners
from server.escalation.models import FollowupKind, FollowupStatus, FollowupTask
from server.events import OutboxEvent
from server.pagination import Page
from server.text import fit
from server.tickets import Ticket, TicketType, TransitionIn, audit, format_number

log = logging.getLogger("fixflow.escalation")

CALLBACK_AFTER = dt.timedelta(hours=24)
DETRACTOR_AFTER = dt.timedelta(hours=24)
NOTE_LENGTH = 2000


class FollowupNotOpen(Conflict):
    code, title = "followup_not_open", "The follow-up task is not open"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def create_task(
    session: AsyncSession,
    ticket: Ticket,
    *,
    kind: FollowupKind,
    assignee_user_id: uuid.UUID,
    due_at: dt.datetime,
    note: str,
    actor: str,
    source_key: str | None = None,
) -> FollowupTask | None:
    """Write the task, its outbox event and its audit event; None if ``source_key`` made
    one already."""
    task: FollowupTask | None = await session.scalar(
        insert(FollowupTask)
        .values(
            org_id=ticket.org_id,
            ticket_id=ticket.id,
            kind=kind.value,
            assignee_user_id=assignee_user_id,
            due_at=due_at,
            status=FollowupStatus.OPEN.value,
            note=fit(note, NOTE_LENGTH),
            source_key=source_key,
            version=1,
        )
        .on_conflict_do_nothing(index_elements=["org_id", "source_key"])
        .returning(FollowupTask)
    )
    if task is None:
        return None
    payload = {
        "task_id": str(task.id),
        "ticket_id": str(ticket.id),
        "ticket_number": format_number(ticket.number),
        "kind": kind.value,
        "assignee_user_id": str(assignee_user_id),
        "due_at": due_at.isoformat(),
        "note": task.note,
    }
    events.emit(
        session,
        org_id=ticket.org_id,
        topic="followup.created",
        aggregate_id=task.id,
        payload=payload,
    )
    changes = {k: payload[k] for k in ("task_id", "kind", "assignee_user_id", "due_at")}
    audit.record(session, ticket, kind="followup_created", actor=actor, changes=changes)
    return task


async def _callback_assignee(session: AsyncSession, ticket: Ticket) -> uuid.UUID | None:
    agents = await owners.holders(session, ticket.org_id, "agent")
    if agents:
        return (await owners.least_busy(session, ticket.org_id, agents)).id
    cur = await engine.current(session, ticket)
    if cur is not None and cur.owner_user_id is not None:
        return cur.owner_user_id
    admins = await owners.admins(session, ticket.org_id)
    return (await owners.least_busy(session, ticket.org_id, admins)).id if admins else None


async def on_resolved(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> dict[str, Any]:
    """Listener of resolve: a complaint gets its call-back task."""
    if ticket.type != TicketType.COMPLAINT.value:
        return {}
    already = await session.scalar(
        select(FollowupTask.id).where(
            FollowupTask.org_id == ticket.org_id,
            FollowupTask.ticket_id == ticket.id,
            FollowupTask.kind == FollowupKind.COMPLAINT_CALLBACK.value,
            FollowupTask.status == FollowupStatus.OPEN.value,
        )
    )
    assignee = None if already else await _callback_assignee(session, ticket)
    if assignee is None:
        return {}
    task = await create_task(
        session,
        ticket,
        kind=FollowupKind.COMPLAINT_CALLBACK,
        assignee_user_id=assignee,
        due_at=_now() + CALLBACK_AFTER,
        note=f"Call the customer back to confirm {format_number(ticket.number)} is fixed",
        actor=engine.ACTOR,
    )
    return {"followup_task_id": str(task.id)} if task else {}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _detractor_note(payload: dict[str, Any]) -> str:
    scores = ", ".join(
        f"{name.upper()} {payload[name]}"
        for name in ("nps", "csat")
        if payload.get(name) is not None
    )
    comment = str(payload.get("comment") or "").strip()
    return f"Detractor ({scores or 'no scores'}): " + (comment or "no comment")


async def on_detractor(session: AsyncSession, event: OutboxEvent) -> None:
    """``survey.detractor``: a task for a service manager, one per survey response."""
    payload = event.payload or {}
    ticket_id, response_id = _uuid(payload.get("ticket_id")), _uuid(payload.get("response_id"))
    if ticket_id is None or response_id is None:
        log.warning("survey.detractor %s without ticket_id/response_id", event.id)
        return
    ticket = await session.scalar(
        select(Ticket).where(Ticket.id == ticket_id, Ticket.org_id == event.org_id)
    )
    managers = await owners.holders(session, event.org_id, "service_manager")
    users = managers or await owners.admins(session, event.org_id)
    if ticket is None or not users:
        log.warning("survey.detractor %s: no work order or nobody to tell", event.id)
        return
    assignee = await owners.least_busy(session, event.org_id, users)
    await create_task(
        session,
        ticket,
        kind=FollowupKind.DETRACTOR,
        assignee_user_id=assignee.id,
        due_at=_now() + DETRACTOR_AFTER,
        note=_detractor_note(payload),
        actor="system:surveys",
        source_key=f"detractor:{response_id}",
    )


def _visible(actor: Actor) -> ColumnElement[bool]:
    organisation = FollowupTask.org_id == actor.org_id
    if actor.is_engineer:
        return and_(organisation, FollowupTask.assignee_user_id == actor.user_id)
    return organisation


async def list_tasks(
    session: AsyncSession,
    actor: Actor,
    *,
    status: FollowupStatus | None,
    mine: bool,
    limit: int,
    cursor: str | None,
) -> Page[FollowupTask]:
    """Soonest due first."""
    query = select(FollowupTask).where(_visible(actor))
    if status is not None:
        query = query.where(FollowupTask.status == status.value)
    if mine:
        query = query.where(FollowupTask.assignee_user_id == actor.user_id)
    return await keyset_page(
        session,
        query,
        sort_column=FollowupTask.due_at,
        id_column=FollowupTask.id,
        limit=limit,
        cursor=cursor,
    )


async def get(
    session: AsyncSession, actor: Actor, *, task_id: uuid.UUID, lock: bool = False
) -> FollowupTask:
    query = select(FollowupTask).where(FollowupTask.id == task_id, _visible(actor))
    task: FollowupTask | None = await session.scalar(query.with_for_update() if lock else query)
    if task is None:
        raise NotFound(f"follow-up task {task_id} not found")
    return task


async def complete(
    session: AsyncSession, actor: Actor, *, task_id: uuid.UUID, outcome: str
) -> FollowupTask:
    task = await get(session, actor, task_id=task_id, lock=True)  # an engineer's: theirs
    if not actor.is_engineer:
        actor.require_office_writer("complete follow-up tasks")
    if task.status != FollowupStatus.OPEN.value:
        raise FollowupNotOpen(f"the task is {task.status} already", task_status=task.status)
    now = _now()
    task.status, task.outcome = FollowupStatus.DONE.value, outcome
    task.completed_at, task.completed_by = now, actor.label
    task.version += 1
    task.updated_at = now
    ticket = await session.get(Ticket, task.ticket_id)
    if ticket is not None:
        changes = {"task_id": str(task.id), "kind": task.kind, "outcome": fit(outcome, 500)}
        audit.record(session, ticket, kind="followup_completed", actor=actor.label, changes=changes)
    return task
