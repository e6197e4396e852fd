"""Field engineers' profiles. An engineer sees only their own profile."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import service as auth_service
from server.auth.actor import Actor
from server.auth.models import Role
from server.crud import get_scoped, keyset_page, patch
from server.engineers.models import Engineer
from server.engineers.schemas import EngineerCreate, EngineerUpdate
from server.pagination import Page
from server.parts import service as parts_service


def sees_home_location(actor: Actor, engineer: Engineer) -> bool:
    """An engineer's home is personal data: visible to those who plan routes from it
    (admins, dispatchers, integration keys allowed to manage engineers) and to the
    engineer; agents and viewers see the profile without it."""
    if actor.manages(keys=False):
        return True
    if actor.is_key:
        return actor.can("engineers:write")
    return actor.engineer_id == engineer.id


def _manager(actor: Actor) -> None:
    actor.require_manager("manage engineers")


async def create(session: AsyncSession, actor: Actor, *, data: EngineerCreate) -> Engineer:
    actor.require_admin("create engineers (it creates a login)")
    user = await auth_service.add_user(
        session,
        org_id=actor.org_id,
        email=str(data.email),
        full_name=data.display_name,
        password=data.password,
        role=Role.ENGINEER,
        locale=data.locale,
    )
    fields = data.model_dump(exclude={"email", "password", "locale"})
    engineer = Engineer(org_id=actor.org_id, user_id=user.id, active=True, version=1, **fields)
    session.add(engineer)
    await session.flush()
    await parts_service.ensure_van(session, engineer)  # every engineer drives a stocked van
    return engineer


async def get(session: AsyncSession, actor: Actor, *, engineer_id: uuid.UUID) -> Engineer:
    own = Engineer.id == actor.engineer_id if actor.is_engineer else None
    return await get_scoped(session, actor, Engineer, engineer_id, label="engineer", visible=own)


async def list_engineers(
    session: AsyncSession,
    actor: Actor,
    *,
    active: bool | None,
    skill: str | None,
    territory: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Engineer]:
    query = select(Engineer).where(Engineer.org_id == actor.org_id)
    if actor.is_engineer:
        query = query.where(Engineer.id == actor.engineer_id)
    if active is not None:
        query = query.where(Engineer.active.is_(active))
    if skill:
        query = query.where(Engineer.skills.has_key(skill))
    if territory:
        query = query.where(Engineer.territory == territory)
    return await keyset_page(
        session,
        query,
        sort_column=Engineer.display_name,
        id_column=Engineer.id,
        limit=limit,
        cursor=cursor,
    )


async def update(
    session: AsyncSession,
    actor: Actor,
    *,
    engineer_id: uuid.UUID,
    data: EngineerUpdate,
    expected_version: int | None,
) -> Engineer:
    _manager(actor)
    engineer = await get_scoped(
        session, actor, Engineer, engineer_id, label="engineer", for_update=True
    )
    patch(engineer, data.model_dump(exclude_unset=True), expected_version=expected_version)
    return engineer
