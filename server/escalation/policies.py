"""Escalation policies, one per organisation and priority (``escalation_policies``).

A priority without a policy follows ``DEFAULT_STEPS``: the service desk is told when the
SLA is at risk, the second-line expert owns the work order when it is breached, the
service manager when the second line's due time passes. A policy is created with
``If-None-Match: *``, replaced with the ``If-Match`` version read and deleted (back to the
default) the same way. Admins set policies; the back office reads them; engineers neither.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor, User
from server.crud import check_version
from server.errors import Forbidden, PreconditionFailed, Unprocessable
from server.escalation.models import EscalationPolicy
from server.escalation.schemas import NAMED_OWNERS, Step
from server.tickets import Priority

DEFAULT_STEPS: list[dict[str, Any]] = [
    {"trigger": "at_risk", "action": "notify", "owner": "agent", "due_minutes": 30},
    {"trigger": "breached", "action": "reassign", "owner": "second_line", "due_minutes": 60},
    {"trigger": 60, "action": "reassign", "owner": "service_manager", "due_minutes": 120},
]


@dataclass
class Policy:
    priority: Priority
    steps: list[dict[str, Any]]
    default: bool
    version: int
    updated_at: dt.datetime | None


def _reader(actor: Actor) -> None:
    if actor.is_engineer:
        raise Forbidden("engineers cannot read escalation policies")


def _view(row: EscalationPolicy | None, priority: Priority) -> Policy:
    if row is None:
        return Policy(priority, DEFAULT_STEPS, default=True, version=0, updated_at=None)
    return Policy(
        priority, row.steps, default=False, version=row.version, updated_at=row.updated_at
    )


async def _row(
    session: AsyncSession, org_id: uuid.UUID, priority: str, *, lock: bool = False
) -> EscalationPolicy | None:
    query = select(EscalationPolicy).where(
        EscalationPolicy.org_id == org_id, EscalationPolicy.priority == priority
    )
    row: EscalationPolicy | None = await session.scalar(query.with_for_update() if lock else query)
    return row


async def steps_for(
    session: AsyncSession, org_id: uuid.UUID, priority: str
) -> list[dict[str, Any]]:
    """The steps a work order of ``priority`` follows (the engine's question)."""
    row = await _row(session, org_id, priority)
    return DEFAULT_STEPS if row is None else row.steps


async def list_policies(session: AsyncSession, actor: Actor) -> list[Policy]:
    _reader(actor)
    rows = await session.scalars(
        select(EscalationPolicy).where(EscalationPolicy.org_id == actor.org_id)
    )
    stored = {row.priority: row for row in rows}
    return [_view(stored.get(p.value), p) for p in Priority]


async def get_policy(session: AsyncSession, actor: Actor, *, priority: Priority) -> Policy:
    _reader(actor)
    return _view(await _row(session, actor.org_id, priority.value), priority)


async def _check_users(session: AsyncSession, actor: Actor, steps: list[Step]) -> None:
    for n, step in enumerate(steps):
        if step.owner in NAMED_OWNERS:
            continue
        user = await session.scalar(
            select(User).where(User.id == uuid.UUID(step.owner), User.org_id == actor.org_id)
        )
        if user is None or not user.is_active:
            raise Unprocessable(
                f"steps[{n}].owner: no active user {step.owner} in this organisation",
                field=f"steps.{n}.owner",
            )


async def set_policy(
    session: AsyncSession,
    actor: Actor,
    *,
    priority: Priority,
    steps: list[Step],
    expected_version: int | None,
) -> Policy:
    """Create (``expected_version`` None: If-None-Match: *) or replace the policy; 412 with
    ``current_version`` when the precondition does not hold."""
    actor.require_admin("set escalation policies")
    await _check_users(session, actor, steps)
    values = [s.model_dump() for s in steps]
    if expected_version is None:
        made: EscalationPolicy | None = await session.scalar(
            insert(EscalationPolicy)
            .values(org_id=actor.org_id, priority=priority.value, version=1, steps=values)
            .on_conflict_do_nothing()
            .returning(EscalationPolicy)
        )
        if made is None:
            current = await _row(session, actor.org_id, priority.value)
            raise PreconditionFailed(
                f"{priority.value} has an escalation policy already: replace it with If-Match",
                current_version=current.version if current else None,
            )
        return _view(made, priority)
    found = await _existing(session, actor, priority)
    check_version(found.version, expected_version, label="the policy")
    if found.steps != values:
        found.steps = values
        found.version += 1
        found.updated_at = dt.datetime.now(dt.UTC)
    return _view(found, priority)


async def _existing(session: AsyncSession, actor: Actor, priority: Priority) -> EscalationPolicy:
    found = await _row(session, actor.org_id, priority.value, lock=True)
    if found is None:
        raise PreconditionFailed(
            f"no escalation policy for {priority.value} yet (the default chain applies): "
            "create it with If-None-Match: *",
            current_version=None,
        )
    return found


async def delete_policy(
    session: AsyncSession, actor: Actor, *, priority: Priority, expected_version: int | None
) -> None:
    """Back to the default chain."""
    actor.require_admin("delete escalation policies")
    found = await _existing(session, actor, priority)
    check_version(found.version, expected_version, label="the policy")
    await session.delete(found)
