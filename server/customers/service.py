"""Customers, their sites and their installed equipment (the equipment archive).

Engineers see only the customers, sites and assets of work orders assigned to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import check_version, escape_like, get_scoped, keyset_page, patch
from server.customers.models import Asset, Customer, PreferredEngineer, Site
from server.customers.schemas import (
    AssetCreate,
    AssetUpdate,
    CustomerCreate,
    CustomerUpdate,
    SiteCreate,
    SiteUpdate,
)
from server.engineers import Engineer
from server.errors import Conflict, Unprocessable
from server.hooks import Slot
from server.pagination import Page

# Work orders are the tickets domain's, a higher one: it plugs in the rule "a work order
# the engineer may see references this customer, site or asset" (server/tickets/plug.py).
Reach = Callable[[Actor, Literal["customer", "site", "asset"], Any], ColumnElement[bool]]
engineer_reach: Slot[Reach] = Slot("customers: what an engineer's work orders reference")


def _engineer_sees(
    actor: Actor, kind: Literal["customer", "site", "asset"], id_column: Any
) -> ColumnElement[bool] | None:
    """Narrowing for engineers: only objects referenced by their assigned work."""
    if not actor.is_engineer:
        return None
    return engineer_reach.get()(actor, kind, id_column)


def _writer(actor: Actor) -> None:
    actor.require_office_writer("change customers, sites or assets")


# --- customers ---------------------------------------------------------------


async def create_customer(session: AsyncSession, actor: Actor, *, data: CustomerCreate) -> Customer:
    _writer(actor)
    customer = Customer(org_id=actor.org_id, version=1, **data.model_dump())
    session.add(customer)
    await session.flush()
    return customer


async def get_customer(session: AsyncSession, actor: Actor, *, customer_id: uuid.UUID) -> Customer:
    return await get_scoped(
        session,
        actor,
        Customer,
        customer_id,
        label="customer",
        visible=_engineer_sees(actor, "customer", Customer.id),
    )


async def list_customers(
    session: AsyncSession, actor: Actor, *, q: str | None, limit: int, cursor: str | None
) -> Page[Customer]:
    query = select(Customer).where(Customer.org_id == actor.org_id)
    if (narrow := _engineer_sees(actor, "customer", Customer.id)) is not None:
        query = query.where(narrow)
    if q:
        query = query.where(Customer.name.ilike(f"%{escape_like(q)}%", escape="\\"))
    return await keyset_page(
        session, query, sort_column=Customer.name, id_column=Customer.id, limit=limit, cursor=cursor
    )


async def update_customer(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: uuid.UUID,
    data: CustomerUpdate,
    expected_version: int | None,
) -> Customer:
    _writer(actor)
    customer = await get_scoped(
        session, actor, Customer, customer_id, label="customer", for_update=True
    )
    patch(customer, data.model_dump(exclude_unset=True), expected_version=expected_version)
    return customer


# --- preferred engineers -----------------------------------------------------


async def preferred_engineers(
    session: AsyncSession, actor: Actor, *, customer_id: uuid.UUID
) -> tuple[Customer, list[uuid.UUID]]:
    customer = await get_customer(session, actor, customer_id=customer_id)
    ids = await session.scalars(
        select(PreferredEngineer.engineer_id)
        .where(
            PreferredEngineer.customer_id == customer.id,
            PreferredEngineer.org_id == actor.org_id,
        )
        .order_by(PreferredEngineer.engineer_id)
    )
    return customer, list(ids)


async def _check_engineers(session: AsyncSession, actor: Actor, ids: list[uuid.UUID]) -> None:
    """Each an active engineer of the organisation, named once; 422 naming the entry."""
    rows = await session.execute(
        select(Engineer.id, Engineer.active).where(
            Engineer.id.in_(ids), Engineer.org_id == actor.org_id
        )
    )
    found = {engineer_id: active for engineer_id, active in rows}
    seen: set[uuid.UUID] = set()
    for i, engineer_id in enumerate(ids):
        field = f"engineer_ids[{i}]"
        if engineer_id in seen:
            raise Unprocessable(f"{field}: engineer {engineer_id} is named twice", field=field)
        seen.add(engineer_id)
        if engineer_id not in found:
            raise Unprocessable(f"{field}: engineer {engineer_id} not found", field=field)
        if not found[engineer_id]:
            raise Unprocessable(f"{field}: engineer {engineer_id} is inactive", field=field)


async def set_preferred_engineers(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: uuid.UUID,
    engineer_ids: list[uuid.UUID],
    expected_version: int | None,
) -> tuple[Customer, list[uuid.UUID]]:
    """Replace the customer's preferred engineers (the dispatcher's choice); the list is
    part of the customer, so its version goes up when the list changes."""
    actor.require_manager("choose a customer's preferred engineers")
    customer = await get_scoped(
        session, actor, Customer, customer_id, label="customer", for_update=True
    )
    check_version(customer.version, expected_version, label="the customer")
    await _check_engineers(session, actor, engineer_ids)
    _, before = await preferred_engineers(session, actor, customer_id=customer.id)
    after = sorted(engineer_ids)
    if before != after:
        await session.execute(
            delete(PreferredEngineer).where(
                PreferredEngineer.customer_id == customer.id,
                PreferredEngineer.org_id == actor.org_id,
            )
        )
        session.add_all(
            PreferredEngineer(org_id=actor.org_id, customer_id=customer.id, engineer_id=e)
            for e in after
        )
        customer.version += 1
        await session.flush()
    return customer, after


# --- sites -------------------------------------------------------------------


async def create_site(session: AsyncSession, actor: Actor, *, data: SiteCreate) -> Site:
    _writer(actor)
    if not await session.scalar(
        select(Customer.id).where(Customer.id == data.customer_id, Customer.org_id == actor.org_id)
    ):
        raise Unprocessable(f"customer {data.customer_id} not found", field="customer_id")
    site = Site(org_id=actor.org_id, version=1, **data.model_dump())
    session.add(site)
    await session.flush()
    return site


async def get_site(session: AsyncSession, actor: Actor, *, site_id: uuid.UUID) -> Site:
    return await get_scoped(
        session,
        actor,
        Site,
        site_id,
        label="site",
        visible=_engineer_sees(actor, "site", Site.id),
    )


async def list_sites(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[Site]:
    query = select(Site).where(Site.org_id == actor.org_id)
    if (narrow := _engineer_sees(actor, "site", Site.id)) is not None:
        query = query.where(narrow)
    if customer_id is not None:
        query = query.where(Site.customer_id == customer_id)
    return await keyset_page(
        session, query, sort_column=Site.name, id_column=Site.id, limit=limit, cursor=cursor
    )


async def update_site(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: uuid.UUID,
    data: SiteUpdate,
    expected_version: int | None,
) -> Site:
    _writer(actor)
    site = await get_scoped(session, actor, Site, site_id, label="site", for_update=True)
    changes = data.model_dump(exclude_unset=True)
    lat, lon = changes.get("lat", site.lat), changes.get("lon", site.lon)
    if (lat is None) != (lon is None):
        raise Unprocessable("give both lat and lon, or neither", field="lat")
    patch(site, changes, expected_version=expected_version)
    return site


# --- assets ------------------------------------------------------------------


async def _site_of_org(session: AsyncSession, actor: Actor, site_id: uuid.UUID) -> Site:
    site = await session.scalar(select(Site).where(Site.id == site_id, Site.org_id == actor.org_id))
    if site is None:
        raise Unprocessable(f"site {site_id} not found", field="site_id")
    return site


async def _check_parent(
    session: AsyncSession, actor: Actor, parent_id: uuid.UUID | None, asset_id: uuid.UUID | None
) -> None:
    """The parent must exist in the organisation and must not create a cycle."""
    seen: set[uuid.UUID] = set()
    current = parent_id
    while current is not None:
        if current == asset_id or current in seen:
            raise Unprocessable("parent_id would make an asset its own ancestor", field="parent_id")
        seen.add(current)
        row = (
            await session.execute(
                select(Asset.parent_id).where(Asset.id == current, Asset.org_id == actor.org_id)
            )
        ).one_or_none()
        if row is None:
            raise Unprocessable(f"parent asset {current} not found", field="parent_id")
        current = row[0]


async def create_asset(session: AsyncSession, actor: Actor, *, data: AssetCreate) -> Asset:
    _writer(actor)
    site = await _site_of_org(session, actor, data.site_id)
    await _check_parent(session, actor, data.parent_id, None)
    asset = Asset(org_id=actor.org_id, customer_id=site.customer_id, version=1, **data.model_dump())
    session.add(asset)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"an asset {data.product_model} with serial {data.serial_number} already exists"
        ) from exc
    return asset


async def get_asset(session: AsyncSession, actor: Actor, *, asset_id: uuid.UUID) -> Asset:
    return await get_scoped(
        session,
        actor,
        Asset,
        asset_id,
        label="asset",
        visible=_engineer_sees(actor, "asset", Asset.id),
    )


async def list_assets(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    serial_number: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Asset]:
    query = select(Asset).where(Asset.org_id == actor.org_id)
    if (narrow := _engineer_sees(actor, "asset", Asset.id)) is not None:
        query = query.where(narrow)
    if site_id is not None:
        query = query.where(Asset.site_id == site_id)
    if customer_id is not None:
        query = query.where(Asset.customer_id == customer_id)
    if serial_number:
        query = query.where(Asset.serial_number == serial_number)
    return await keyset_page(
        session,
        query,
        sort_column=Asset.serial_number,
        id_column=Asset.id,
        limit=limit,
        cursor=cursor,
    )


async def update_asset(
    session: AsyncSession,
    actor: Actor,
    *,
    asset_id: uuid.UUID,
    data: AssetUpdate,
    expected_version: int | None,
) -> Asset:
    _writer(actor)
    asset = await get_scoped(session, actor, Asset, asset_id, label="asset", for_update=True)
    changes = data.model_dump(exclude_unset=True)
    if "site_id" in changes and changes["site_id"] is not None:
        site = await _site_of_org(session, actor, changes["site_id"])
        changes["customer_id"] = site.customer_id
    if "parent_id" in changes:
        await _check_parent(session, actor, changes["parent_id"], asset.id)
    patch(asset, changes, expected_version=expected_version)
    return asset
