"""Locations Fixflow makes itself: an engineer's van, a customer site's location, and
the organisation's quarantine for defective parts. Each is created on first use and safe
when two requests create it at once: the unique key decides, the loser reads the row.
Which locations a caller sees (``visible_locations``) is decided here too."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, case, select, text, type_coerce
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.customers import Site
from server.engineers import Engineer
from server.errors import Unprocessable
from server.parts.models import LocationKind, StockLocation
from server.text import fit_column
from shared.ids import uuid7

# A van is named after its engineer and a site's location after the customer's site: that
# part of the name is another domain's data. Readers without that domain's read scope see
# a neutral label instead (docs/api.md, "Scopes of combined answers").
_NAMED_AFTER: dict[str, tuple[str, str]] = {
    LocationKind.VAN.value: ("engineers:read", "Van"),
    LocationKind.CUSTOMER_SITE.value: ("customers:read", "Customer site"),
}


def visible_locations(actor: Actor) -> ColumnElement[bool] | None:
    """The stock locations ``actor`` may see, as a condition on StockLocation: an engineer
    their own van only (another location is not found); None: every location of the
    organisation."""
    if actor.is_engineer:
        return StockLocation.engineer_id == actor.engineer_id
    return None


def visible_location_ids(actor: Actor) -> Select[uuid.UUID] | None:
    """``visible_locations`` for rows at a location (units, ledger lines): the ids of the
    locations an engineer sees, to narrow them with ``in_``; None when not narrowed."""
    if (own := visible_locations(actor)) is None:
        return None
    return select(StockLocation.id).where(own)


def shown_name(actor: Actor, kind: str, name: str) -> str:
    """The location's name as ``actor`` may read it."""
    rule = _NAMED_AFTER.get(kind)
    if rule is None or actor.can(rule[0]):
        return name
    return rule[1]


def shown_name_column(actor: Actor) -> ColumnElement[str]:
    """``shown_name`` in SQL, to sort by: a list ordered by the real names would put a
    caller's "Van" rows in the order of their engineers' names, and its cursor (readable
    base64) would carry those names."""
    hidden = [
        (StockLocation.kind == kind, label)
        for kind, (scope, label) in _NAMED_AFTER.items()
        if not actor.can(scope)
    ]
    name: ColumnElement[str] = StockLocation.name.expression
    # Typed as the name column (its length bounds the list's cursors: crud.keyset_page).
    return type_coerce(case(*hidden, else_=name), StockLocation.name.type) if hidden else name


def shown_name_sql(actor: Actor, name: str = "l.name", kind: str = "l.kind") -> str:
    """``shown_name_column`` for hand-written SQL (the stock reports): ``name`` and ``kind``
    are the query's columns; the kinds and labels are our constants."""
    whens = [
        f"WHEN {kind} = '{value}' THEN '{label}'"
        for value, (scope, label) in _NAMED_AFTER.items()
        if not actor.can(scope)
    ]
    return f"CASE {' '.join(whens)} ELSE {name} END" if whens else name


async def _ensure_location(
    session: AsyncSession,
    *,
    key: Any,
    key_value: uuid.UUID,
    values: dict[str, Any],
    where: Any = None,
) -> StockLocation:
    insert_ = (
        insert(StockLocation)
        .values(id=uuid7(), version=1, active=True, **values)
        .on_conflict_do_nothing(index_elements=[key], index_where=where)
    )
    await session.execute(insert_)
    query = select(StockLocation).where(key == key_value)
    if where is not None:
        query = query.where(where)
    location = await session.scalar(query)
    assert location is not None
    return location


async def ensure_van(session: AsyncSession, engineer: Engineer) -> StockLocation:
    """The engineer's van (created with the engineer; made here for older profiles)."""
    return await _ensure_location(
        session,
        key=StockLocation.engineer_id,
        key_value=engineer.id,
        values={
            "org_id": engineer.org_id,
            "kind": LocationKind.VAN.value,
            "name": fit_column(StockLocation.name, f"Van: {engineer.display_name}"),
            "engineer_id": engineer.id,
        },
    )


async def ensure_site_location(session: AsyncSession, site: Site) -> StockLocation:
    """Where parts installed at a customer site are counted."""
    return await _ensure_location(
        session,
        key=StockLocation.site_id,
        key_value=site.id,
        values={
            "org_id": site.org_id,
            "kind": LocationKind.CUSTOMER_SITE.value,
            "name": fit_column(StockLocation.name, f"Site: {site.name}"),
            "site_id": site.id,
        },
    )


async def ensure_quarantine(session: AsyncSession, org_id: uuid.UUID) -> StockLocation:
    """Where defective parts are counted until their return (RMA) ends."""
    return await _ensure_location(
        session,
        key=StockLocation.org_id,
        key_value=org_id,
        values={
            "org_id": org_id,
            "kind": LocationKind.QUARANTINE.value,
            "name": "Quarantine (defective returns)",
        },
        # Literal SQL: ON CONFLICT must name the partial index's own predicate.
        where=text("kind = 'quarantine'"),
    )


async def service_site_stock(
    session: AsyncSession, actor: Actor, site_name: str, existing: uuid.UUID | None
) -> uuid.UUID:
    """A service site's stock location (customers.site_stock): ``existing`` when it is a
    warehouse of the caller's organisation (else a 422 naming stock_location_id), or a new
    warehouse named after the site."""
    if existing is None:
        location = StockLocation(
            id=uuid7(),
            org_id=actor.org_id,
            kind=LocationKind.WAREHOUSE.value,
            name=fit_column(StockLocation.name, f"Service site: {site_name}"),
            active=True,
            version=1,
        )
        session.add(location)
        await session.flush()
        return location.id
    kind = await session.scalar(
        select(StockLocation.kind).where(
            StockLocation.id == existing, StockLocation.org_id == actor.org_id
        )
    )
    if kind is None:
        raise Unprocessable(f"stock location {existing} not found", field="stock_location_id")
    if kind != LocationKind.WAREHOUSE.value:
        raise Unprocessable(
            f"stock location {existing} is a {kind}: a service site's stock is a warehouse",
            field="stock_location_id",
        )
    return existing
