"""The caller's own organisation (tenants never see each other)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import timezones
from server.auth import Actor
from server.crud import check_version, patch
from server.errors import NotFound
from server.orgs.models import Organisation
from server.orgs.schemas import OrganisationUpdate


async def get_own(session: AsyncSession, actor: Actor, *, for_update: bool = False) -> Organisation:
    org = await session.get(Organisation, actor.org_id, with_for_update=for_update)
    if org is None:
        raise NotFound("organisation not found")
    return org


async def update_own(
    session: AsyncSession,
    actor: Actor,
    *,
    data: OrganisationUpdate,
    expected_version: int | None,
) -> Organisation:
    actor.require_admin("change the organisation")
    org = await get_own(session, actor, for_update=True)
    check_version(org.version, expected_version)  # a stale If-Match is 412 whatever it sends
    changes = data.model_dump(exclude_unset=True)
    if changes.get("timezone") is not None:
        changes["timezone"] = await timezones.check(session, changes["timezone"])
    patch(org, changes, expected_version=expected_version)
    return org


def local_date(moment: dt.datetime, zone: str | None) -> dt.date:
    """The calendar date of an aware ``moment`` in time zone ``zone`` (UTC when None)."""
    if moment.tzinfo is None:
        raise ValueError("the moment must be timezone-aware")
    return moment.astimezone(ZoneInfo(zone or "UTC")).date()


async def zone(session: AsyncSession, org_id: uuid.UUID) -> str:
    """The organisation's time zone as every computation uses it: the stored one, or UTC
    when it is not accepted any more (server/timezones.py); answers name the zone used."""
    stored = await session.scalar(select(Organisation.timezone).where(Organisation.id == org_id))
    return await timezones.usable(session, stored)


async def zone_of(session: AsyncSession, org: Organisation) -> str:
    """``zone`` of an organisation already read."""
    return await timezones.usable(session, org.timezone)


async def local_today(
    session: AsyncSession, org_id: uuid.UUID, now: dt.datetime | None = None
) -> dt.date:
    """Today in the organisation's time zone (``now``: an aware moment, default the clock):
    warranty and other calendar rules are judged on the customer's date, not the server's."""
    return local_date(
        now if now is not None else dt.datetime.now(dt.UTC), await zone(session, org_id)
    )


class Tenants:
    """The organisations users log in to, as log-in asks for them (server/auth/service.py
    ``tenants``, plugged in by server/orgs/plug.py)."""

    def named(self, name: str) -> Select[Any]:
        try:
            return select(Organisation.id).where(Organisation.id == uuid.UUID(name))
        except ValueError:
            return select(Organisation.id).where(Organisation.slug == name.lower())

    async def describe(
        self, session: AsyncSession, org_ids: Sequence[uuid.UUID]
    ) -> list[dict[str, str]]:
        rows = await session.execute(
            select(Organisation.id, Organisation.slug, Organisation.name)
            .where(Organisation.id.in_(org_ids))
            .order_by(Organisation.slug)
        )
        return [{"id": str(o.id), "slug": o.slug, "name": o.name} for o in rows]
