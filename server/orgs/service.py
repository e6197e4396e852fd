"""The caller's own organisation (tenants never see each other)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.crud import reject_nulls
from server.errors import Forbidden, NotFound
from server.orgs.models import Organisation
from server.orgs.schemas import OrganisationUpdate


async def get_own(session: AsyncSession, actor: Actor) -> Organisation:
    org = await session.get(Organisation, actor.org_id)
    if org is None:
        raise NotFound("organisation not found")
    return org


async def update_own(
    session: AsyncSession, actor: Actor, *, data: OrganisationUpdate
) -> Organisation:
    if not actor.is_admin:
        raise Forbidden("only an admin can change the organisation")
    org = await get_own(session, actor)
    changes = data.model_dump(exclude_unset=True)
    reject_nulls(org, changes)
    for name, value in changes.items():
        setattr(org, name, value)
    return org
