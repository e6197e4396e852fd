"""Field engineers' profiles. An engineer sees only their own profile.

A new engineer is announced to ``created``'s listeners in the same transaction (parts gives
them a stocked van). The service site an engineer's day starts or ends at is the customers
domain's (a higher one): it plugs in ``service_site_check``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor, Role
from server.auth import service as auth_service
from server.crud import check_version, get_scoped, keyset_page, patch
from server.engineers.models import Engineer
from server.engineers.schemas import EngineerCreate, EngineerUpdate
from server.errors import Unprocessable
from server.hooks import Listeners, Slot
from server.pagination import Page

created: Listeners[Callable[[AsyncSession, Engineer], Awaitable[Any]]] = Listeners(
    "engineers: a new engineer"
)
# (session, organisation, service site id) -> None when it is an active service site of
# the organisation, else what is wrong with it ("not found", "inactive").
SiteCheck = Callable[[AsyncSession, uuid.UUID, uuid.UUID], Awaitable[str | None]]
service_site_check: Slot[SiteCheck] = Slot("engineers: is this a service site of the organisation")
_SITE_FIELDS = ("start_site_id", "end_site_id")


async def _check_sites(session: AsyncSession, actor: Actor, fields: dict[str, Any]) -> None:
    """An engineer starts and ends the day at an active service site of their own
    organisation (or at home: null), every day or on given weekdays (``day_sites``); 422
    naming the field otherwise. ``day_sites`` is made storable (ids as text)."""
    named = [(name, fields.get(name)) for name in _SITE_FIELDS]
    if "day_sites" in fields and fields["day_sites"] is None:
        fields["day_sites"] = {}  # null: no weekday of its own any more
    days = fields.get("day_sites")
    if days:
        for day, ends in days.items():
            named += [(f"day_sites.{day}.{end}", ends.get(end)) for end in ("start", "end")]
        fields["day_sites"] = {
            day: {end: str(v) if v is not None else None for end, v in ends.items()}
            for day, ends in days.items()
        }
    for name, site_id in named:
        if site_id is None:
            continue
        wrong = await service_site_check.get()(session, actor.org_id, site_id)
        if wrong is not None:
            raise Unprocessable(f"{name}: service site {site_id} {wrong}", field=name)


def user_profile(user_id: Any) -> Any:
    """The engineer profile id of the user ``user_id`` (a column): a scalar subquery."""
    return select(Engineer.id).where(Engineer.user_id == user_id).scalar_subquery()


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
    fields = data.model_dump(exclude={"email", "password", "locale"})
    await _check_sites(session, actor, fields)
    user = await auth_service.add_user(
        session,
        org_id=actor.org_id,
        email=str(data.email),
        full_name=data.display_name,
        password=data.password,
        role=Role.ENGINEER,
        locale=data.locale,
    )
    engineer = Engineer(org_id=actor.org_id, user_id=user.id, active=True, version=1, **fields)
    session.add(engineer)
    await session.flush()
    for listener in created:
        await listener(session, engineer)
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
    check_version(engineer.version, expected_version)  # a stale version is 412 first
    changes = data.model_dump(exclude_unset=True)
    await _check_sites(session, actor, changes)
    patch(engineer, changes, expected_version=None)
    return engineer


async def locked(session: AsyncSession, *, org_id: uuid.UUID, engineer_id: uuid.UUID) -> Engineer:
    """The engineer's row, locked until the transaction ends: whoever recomputes a figure
    of theirs (the rating, from the surveys) does it one at a time and sees the last one's
    inputs."""
    engineer = await session.scalar(
        select(Engineer)
        .where(Engineer.id == engineer_id, Engineer.org_id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if engineer is None:
        raise LookupError(f"engineer {engineer_id} not found")
    return engineer


def set_rating(engineer: Engineer, rating: float) -> bool:
    """Set the rating (0..5; surveys compute it, docs/surveys.md); True when it changed
    (the profile's version goes up, as for any change a reader's ETag should see)."""
    rating = min(max(rating, 0.0), 5.0)
    if engineer.rating == rating:
        return False
    engineer.rating = rating
    engineer.version += 1
    return True
