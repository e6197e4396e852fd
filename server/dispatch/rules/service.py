"""Auto-assign rules, one per organisation and priority (``dispatch_auto_assign``).

A priority without a rule is not auto-assigned. A rule is created with ``If-None-Match: *``
and replaced with the ``If-Match`` version read (the replenishment levels' convention), so
two dispatchers cannot overwrite each other unseen. Admins and dispatchers (and keys with
tickets:write) set rules; the back office reads them; engineers neither.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import check_version, patch
from server.dispatch.models import AutoAssignRule
from server.errors import Forbidden, NotFound, PreconditionFailed
from server.tickets import Priority


def _reader(actor: Actor) -> None:
    if actor.is_engineer:
        raise Forbidden("engineers cannot read auto-assign rules")


async def list_rules(session: AsyncSession, actor: Actor) -> list[AutoAssignRule]:
    _reader(actor)
    rows = await session.scalars(
        select(AutoAssignRule)
        .where(AutoAssignRule.org_id == actor.org_id)
        .order_by(AutoAssignRule.priority)
    )
    return list(rows)


async def _rule(
    session: AsyncSession, actor: Actor, priority: Priority, *, lock: bool = False
) -> AutoAssignRule | None:
    query = select(AutoAssignRule).where(
        AutoAssignRule.org_id == actor.org_id, AutoAssignRule.priority == priority.value
    )
    rule: AutoAssignRule | None = await session.scalar(query.with_for_update() if lock else query)
    return rule


async def get_rule(session: AsyncSession, actor: Actor, *, priority: Priority) -> AutoAssignRule:
    _reader(actor)
    rule = await _rule(session, actor, priority)
    if rule is None:
        raise NotFound(f"no auto-assign rule for {priority.value}: it is not auto-assigned")
    return rule


async def set_rule(
    session: AsyncSession,
    actor: Actor,
    *,
    priority: Priority,
    enabled: bool,
    fallback_to_pool: bool,
    expected_version: int | None,
) -> AutoAssignRule:
    """Create (``expected_version`` None: If-None-Match: *) or replace the rule; 412 with
    ``current_version`` when the precondition does not hold."""
    actor.require_manager("set auto-assign rules")
    now = dt.datetime.now(dt.UTC)
    values = {"enabled": enabled, "fallback_to_pool": fallback_to_pool}
    if expected_version is None:
        # Two creations at once: the primary key decides, the loser gets the 412.
        made: AutoAssignRule | None = await session.scalar(
            insert(AutoAssignRule)
            .values(
                org_id=actor.org_id, priority=priority.value, version=1, updated_at=now, **values
            )
            .on_conflict_do_nothing()
            .returning(AutoAssignRule)
        )
        if made is None:
            current = await _rule(session, actor, priority)
            raise PreconditionFailed(
                f"{priority.value} has an auto-assign rule already: replace it with If-Match",
                current_version=current.version if current else None,
            )
        return made
    found = await _rule(session, actor, priority, lock=True)
    if found is None:
        raise PreconditionFailed(
            f"no auto-assign rule for {priority.value} yet: create it with If-None-Match: *",
            current_version=None,
        )
    check_version(found.version, expected_version, label="the rule")
    if patch(found, values, expected_version=None):
        found.updated_at = now
    return found
