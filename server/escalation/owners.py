"""Who a step or a task goes to: one user, chosen deterministically.

An escalation step's owner names a role (``agent``: the service desk, ``dispatcher``), a
duty (``second_line``, ``service_manager``) or a user. A role or duty held by several
users goes to the first of them by e-mail; nobody holding it (or a named user who left)
falls back to the organisation's admins, the same way. Follow-up tasks go to the holder
with the fewest open tasks, ties to the first by e-mail, so call-backs spread over the
service desk.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Duty, Role, User
from server.auth import service as auth
from server.escalation.models import FollowupTask

ROLES = {"agent": Role.AGENT, "dispatcher": Role.DISPATCHER}
DUTIES = {"second_line": Duty.SECOND_LINE, "service_manager": Duty.SERVICE_MANAGER}


async def holders(session: AsyncSession, org_id: uuid.UUID, owner: str) -> list[User]:
    """The active users ``owner`` names, by e-mail (none: empty)."""
    if owner in ROLES:
        return await auth.staff_to_tell(session, org_id, roles=(ROLES[owner],))
    if owner in DUTIES:
        return await auth.staff_to_tell(session, org_id, duties=(DUTIES[owner],))
    try:
        user_id = uuid.UUID(owner)
    except ValueError:
        return []
    user = await session.scalar(
        select(User).where(User.id == user_id, User.org_id == org_id, User.is_active)
    )
    return [user] if user is not None else []


async def admins(session: AsyncSession, org_id: uuid.UUID) -> list[User]:
    return await auth.staff_to_tell(session, org_id, roles=(Role.ADMIN,))


async def step_owner(session: AsyncSession, org_id: uuid.UUID, owner: str) -> uuid.UUID | None:
    users = await holders(session, org_id, owner) or await admins(session, org_id)
    return users[0].id if users else None


async def least_busy(session: AsyncSession, org_id: uuid.UUID, users: list[User]) -> User:
    """The one of ``users`` (non-empty, by e-mail) with the fewest open follow-up tasks."""
    rows = await session.execute(
        select(FollowupTask.assignee_user_id, func.count())
        .where(
            FollowupTask.org_id == org_id,
            FollowupTask.status == "open",
            FollowupTask.assignee_user_id.in_([u.id for u in users]),
        )
        .group_by(FollowupTask.assignee_user_id)
    )
    load = {row[0]: row[1] for row in rows}
    return min(users, key=lambda u: (load.get(u.id, 0), u.email))
