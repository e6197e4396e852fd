"""The organisation's own places: depots, service centres, partner workshops.

Managers (admins, dispatchers, keys with customers:write) create and change them; everyone
with customers:read reads them (engineers too: their day may start at one). A site that work
orders or engineers name is deactivated (``active: false``), not deleted: they keep naming
it; one nobody names (entered by mistake) may be deleted.

A service site may have a warehouse stock location. Stock locations are the parts domain's,
a higher one: it plugs in ``site_stock`` (server/parts/plug.py), which makes a new warehouse
for the site or checks that an existing location is a warehouse of the organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import String, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import check_version, get_scoped, keyset_page, patch
from server.customers.models import ServiceSite
from server.customers.service_sites.schemas import ServiceSiteCreate, ServiceSiteUpdate
from server.engineers import Engineer
from server.errors import Conflict
from server.hooks import Slot
from server.pagination import Page
from server.text import quote

# (session, actor, the site's name, an existing location or None for a new one) -> the
# stock location's id; a 422 naming stock_location_id when the existing one will not do.
StockFor = Callable[[AsyncSession, Actor, str, uuid.UUID | None], Awaitable[uuid.UUID]]
site_stock: Slot[StockFor] = Slot("customers: a service site's warehouse stock location")


def _manager(actor: Actor) -> None:
    actor.require_manager("manage service sites")


async def problem_with(session: AsyncSession, org_id: uuid.UUID, site_id: uuid.UUID) -> str | None:
    """None when ``site_id`` is an active service site of the organisation, else what is
    wrong with it (what engineers' start and end sites must be: engineers.service_site_check)."""
    active = await session.scalar(
        select(ServiceSite.active).where(ServiceSite.id == site_id, ServiceSite.org_id == org_id)
    )
    if active is None:
        return "not found"
    return None if active else "is inactive"


async def _name_free(session: AsyncSession, actor: Actor, name: str) -> None:
    taken = await session.scalar(
        select(ServiceSite.id).where(ServiceSite.org_id == actor.org_id, ServiceSite.name == name)
    )
    if taken is not None:
        raise Conflict(
            f"a service site named {quote(name)} exists already ({taken}): choose another name",
            field="name",
        )


async def _stock(
    session: AsyncSession, actor: Actor, *, name: str, existing: uuid.UUID | None
) -> uuid.UUID:
    if existing is not None:
        holder = await session.scalar(
            select(ServiceSite.id).where(
                ServiceSite.org_id == actor.org_id, ServiceSite.stock_location_id == existing
            )
        )
        if holder is not None:
            raise Conflict(
                f"stock location {existing} is service site {holder}'s already",
                field="stock_location_id",
            )
    return await site_stock.get()(session, actor, name, existing)


async def _flush(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent request took the name or the location
        raise Conflict("another service site took this name or stock location just now") from exc


async def create(session: AsyncSession, actor: Actor, *, data: ServiceSiteCreate) -> ServiceSite:
    _manager(actor)
    await _name_free(session, actor, data.name)
    fields = data.model_dump(exclude={"stock", "stock_location_id"})
    stock_id = None
    if data.stock or data.stock_location_id is not None:
        stock_id = await _stock(session, actor, name=data.name, existing=data.stock_location_id)
    site = ServiceSite(
        org_id=actor.org_id, stock_location_id=stock_id, active=True, version=1, **fields
    )
    session.add(site)
    await _flush(session)
    return site


async def get(
    session: AsyncSession, actor: Actor, *, site_id: uuid.UUID, for_update: bool = False
) -> ServiceSite:
    return await get_scoped(
        session, actor, ServiceSite, site_id, label="service site", for_update=for_update
    )


async def list_sites(
    session: AsyncSession,
    actor: Actor,
    *,
    active: bool | None,
    kind: str | None,
    territory: str | None,
    limit: int,
    cursor: str | None,
) -> Page[ServiceSite]:
    query = select(ServiceSite).where(ServiceSite.org_id == actor.org_id)
    if active is not None:
        query = query.where(ServiceSite.active.is_(active))
    if kind is not None:
        query = query.where(ServiceSite.kind == kind)
    if territory is not None:
        query = query.where(ServiceSite.territory == territory)
    return await keyset_page(
        session,
        query,
        sort_column=ServiceSite.name,
        id_column=ServiceSite.id,
        limit=limit,
        cursor=cursor,
    )


async def update(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: uuid.UUID,
    data: ServiceSiteUpdate,
    expected_version: int | None,
) -> ServiceSite:
    _manager(actor)
    site = await get(session, actor, site_id=site_id, for_update=True)
    check_version(site.version, expected_version, label="the service site")
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if changes.get("name") not in (None, site.name):
        await _name_free(session, actor, changes["name"])
    new_stock = changes.get("stock_location_id")
    if new_stock is not None and new_stock != site.stock_location_id:
        await _stock(session, actor, name=site.name, existing=new_stock)
    patch(site, changes, expected_version=None)
    await _flush(session)
    return site


async def remove(
    session: AsyncSession, actor: Actor, *, site_id: uuid.UUID, expected_version: int | None
) -> None:
    """Delete a site nobody names; 409 saying who does (deactivate it instead). Its stock
    location, if any, stays: it is the parts domain's and may hold stock."""
    _manager(actor)
    site = await get(session, actor, site_id=site_id, for_update=True)
    check_version(site.version, expected_version, label="the service site")
    engineers = await session.scalar(
        select(func.count())
        .select_from(Engineer)
        .where(
            Engineer.org_id == actor.org_id,
            or_(
                Engineer.start_site_id == site.id,
                Engineer.end_site_id == site.id,
                Engineer.day_sites.cast(String).contains(str(site.id)),  # some weekday's
            ),
        )
    )
    if engineers:
        raise Conflict(
            f"{engineers} engineer(s) start or end their day at {quote(site.name)}: change "
            "them first, or deactivate the site (active: false)"
        )
    try:
        async with session.begin_nested():
            await session.execute(delete(ServiceSite).where(ServiceSite.id == site.id))
    except IntegrityError as exc:  # work orders name it (tickets.service_site_id)
        raise Conflict(
            f"work orders name {quote(site.name)} as their nearest service site: deactivate it "
            "(active: false) instead"
        ) from exc
