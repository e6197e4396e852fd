"""Spare parts: the catalogue, stock locations and the movements API over the ledger.

Who may do what: admins, dispatchers and keys with parts:write manage the catalogue,
locations and every movement. Engineers read the catalogue and their own van, and report
what they used (consume from their van) and brought back (return into their van) on work
orders assigned to them; those field reports are never refused for lack of stock.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.models import Role
from server.crud import escape_like, get_scoped, keyset_page, patch
from server.customers.models import Site
from server.engineers.models import Engineer
from server.errors import Conflict, Forbidden, NotFound, Unprocessable
from server.pagination import Page
from server.parts import ledger, replenishment, returns, serials
from server.parts.models import (
    LocationKind,
    MovementKind,
    Part,
    StockBalance,
    StockLocation,
    StockMovement,
)
from server.parts.schemas import (
    LocationCreate,
    LocationUpdate,
    MovementCreate,
    PartCreate,
    PartUpdate,
)
from server.tickets.models import Ticket
from shared.ids import uuid7

FIELD_KINDS = frozenset({MovementKind.CONSUME, MovementKind.RETURN})
STOCK_KINDS = frozenset(
    {LocationKind.WAREHOUSE, LocationKind.VAN, LocationKind.REPAIR_CENTRE, LocationKind.VENDOR}
)


def _manager(actor: Actor) -> None:
    if actor.role in (Role.ADMIN, Role.DISPATCHER) or (actor.role is None):
        return
    raise Forbidden("only admins and dispatchers manage parts and stock")


# --- catalogue ---------------------------------------------------------------------------


async def create_part(session: AsyncSession, actor: Actor, *, data: PartCreate) -> Part:
    _manager(actor)
    part = Part(org_id=actor.org_id, version=1, active=True, **data.model_dump())
    session.add(part)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a part with SKU {data.sku} already exists", field="sku") from exc
    return part


async def get_part(session: AsyncSession, actor: Actor, *, part_id: uuid.UUID) -> Part:
    return await get_scoped(session, actor, Part, part_id, label="part")


def search_parts_query(
    actor: Actor,
    *,
    q: str | None = None,
    sku: str | None = None,
    barcode: str | None = None,
    model: str | None = None,
    active: bool | None = None,
) -> Select[Any]:
    query = select(Part).where(Part.org_id == actor.org_id)
    if q:
        like = f"%{escape_like(q)}%"
        query = query.where(
            or_(Part.name.ilike(like, escape="\\"), Part.sku.ilike(like, escape="\\"))
        )
    if sku:
        query = query.where(Part.sku == sku)
    if barcode:
        query = query.where(Part.barcode == barcode)
    if model:
        query = query.where(Part.compatible_models.contains([model]))
    if active is not None:
        query = query.where(Part.active.is_(active))
    return query


async def list_parts(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None, **filters: Any
) -> Page[Part]:
    query = search_parts_query(actor, **filters)
    return await keyset_page(
        session, query, sort_column=Part.sku, id_column=Part.id, limit=limit, cursor=cursor
    )


async def update_part(
    session: AsyncSession,
    actor: Actor,
    *,
    part_id: uuid.UUID,
    data: PartUpdate,
    expected_version: int | None,
) -> Part:
    _manager(actor)
    part = await get_scoped(session, actor, Part, part_id, label="part", for_update=True)
    patch(part, data.model_dump(exclude_unset=True), expected_version=expected_version)
    return part


# --- locations ---------------------------------------------------------------------------


def _visible_locations(actor: Actor) -> Any:
    if actor.is_engineer:
        return StockLocation.engineer_id == actor.engineer_id
    return None


async def create_location(
    session: AsyncSession, actor: Actor, *, data: LocationCreate
) -> StockLocation:
    _manager(actor)
    location = StockLocation(org_id=actor.org_id, kind=data.kind, name=data.name, version=1)
    session.add(location)
    await session.flush()
    return location


async def _ensure_location(
    session: AsyncSession, *, key: Any, key_value: uuid.UUID, values: dict[str, Any]
) -> StockLocation:
    """Get or create, safe when two requests create the same location at once: the
    unique key decides, and the loser reads the winner's row."""
    await session.execute(
        insert(StockLocation)
        .values(id=uuid7(), version=1, active=True, **values)
        .on_conflict_do_nothing(index_elements=[key])
    )
    location = await session.scalar(select(StockLocation).where(key == key_value))
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
            "name": f"Van: {engineer.display_name}",
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
            "name": f"Site: {site.name}",
            "site_id": site.id,
        },
    )


async def get_location(
    session: AsyncSession, actor: Actor, *, location_id: uuid.UUID, for_update: bool = False
) -> StockLocation:
    return await get_scoped(
        session,
        actor,
        StockLocation,
        location_id,
        label="stock location",
        visible=_visible_locations(actor),
        for_update=for_update,
    )


async def list_locations(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: LocationKind | None,
    limit: int,
    cursor: str | None,
) -> Page[StockLocation]:
    query = select(StockLocation).where(StockLocation.org_id == actor.org_id)
    if (own := _visible_locations(actor)) is not None:
        query = query.where(own)
    if kind is not None:
        query = query.where(StockLocation.kind == kind.value)
    return await keyset_page(
        session,
        query,
        sort_column=StockLocation.name,
        id_column=StockLocation.id,
        limit=limit,
        cursor=cursor,
    )


async def update_location(
    session: AsyncSession,
    actor: Actor,
    *,
    location_id: uuid.UUID,
    data: LocationUpdate,
    expected_version: int | None,
) -> StockLocation:
    _manager(actor)
    location = await get_location(session, actor, location_id=location_id, for_update=True)
    patch(location, data.model_dump(exclude_unset=True), expected_version=expected_version)
    return location


async def balances(
    session: AsyncSession,
    actor: Actor,
    *,
    location_id: uuid.UUID,
    limit: int,
    after_part_id: uuid.UUID | None,
) -> list[StockBalance]:
    """A location's balances by part id; pass the last part_id to get the next page."""
    location = await get_location(session, actor, location_id=location_id)
    query = select(StockBalance).where(
        StockBalance.org_id == actor.org_id, StockBalance.location_id == location.id
    )
    if after_part_id is not None:
        query = query.where(StockBalance.part_id > after_part_id)
    rows = await session.scalars(query.order_by(StockBalance.part_id).limit(limit))
    return list(rows)


# --- movements ---------------------------------------------------------------------------


async def _stock_location(
    session: AsyncSession, actor: Actor, location_id: uuid.UUID | None, field: str
) -> StockLocation | None:
    if location_id is None:
        return None
    try:
        location = await get_location(session, actor, location_id=location_id)
    except NotFound:
        if actor.is_engineer:
            raise  # another engineer's van: invisible
        raise Unprocessable(f"stock location {location_id} not found", field=field) from None
    if LocationKind(location.kind) not in STOCK_KINDS:
        raise Unprocessable(
            "customer-site locations are filled by consume and emptied by return", field=field
        )
    if not location.active:
        raise Unprocessable(f"{location.name} is inactive", field=field)
    return location


_FINISHED = frozenset({"resolved", "closed", "cancelled"})


async def _ticket_site(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID | None, *, reserving: bool = False
) -> StockLocation | None:
    if ticket_id is None:
        return None
    query = select(Ticket).where(Ticket.id == ticket_id, Ticket.org_id == actor.org_id)
    if actor.is_engineer:
        query = query.where(Ticket.assignee_id == actor.engineer_id)
    ticket = await session.scalar(query)
    if ticket is None:
        raise Unprocessable(f"work order {ticket_id} not found", field="ticket_id")
    if reserving and ticket.status in _FINISHED:
        raise Unprocessable(
            f"work order is {ticket.status}: it needs no parts reserved", field="ticket_id"
        )
    if ticket.site_id is None:
        return None
    site = await session.get(Site, ticket.site_id)
    assert site is not None
    return await ensure_site_location(session, site)


def _authorise_movement(actor: Actor, data: MovementCreate) -> None:
    if not actor.is_engineer:
        _manager(actor)
        return
    if data.kind not in FIELD_KINDS:
        raise Forbidden(
            "engineers report what they used (consume) and brought back (return); "
            "other movements are for the back office"
        )


async def create_movement(
    session: AsyncSession, actor: Actor, *, data: MovementCreate
) -> StockMovement:
    _authorise_movement(actor, data)
    part = await get_scoped(session, actor, Part, data.part_id, label="part", for_update=False)
    if not part.active and data.kind in (MovementKind.RECEIVE, MovementKind.RESERVE):
        raise Unprocessable(f"part {part.sku} is inactive", field="part_id")
    source = await _stock_location(session, actor, data.from_location_id, "from_location_id")
    destination = await _stock_location(session, actor, data.to_location_id, "to_location_id")
    site = await _ticket_site(
        session, actor, data.ticket_id, reserving=data.kind is MovementKind.RESERVE
    )
    if data.kind in FIELD_KINDS and site is None:
        raise Unprocessable("the work order has no site to install at or take back from")
    if data.kind is MovementKind.CONSUME:
        destination = site
    elif data.kind is MovementKind.RETURN:
        source = site
    quantity = data.quantity
    if data.kind is MovementKind.ADJUST and data.direction == "decrease":
        quantity = -quantity
    move = ledger.Move(
        kind=data.kind,
        part=part,
        quantity=quantity,
        source=source,
        destination=destination,
        ticket_id=data.ticket_id,
        visit_id=data.visit_id,
        condition=data.condition,
        reason=data.reason,
        # What an engineer reports happened on site; the back office's moves are guarded.
        from_field=actor.is_engineer and data.kind is MovementKind.CONSUME,
    )
    # Issue 3 tracking hooks: serialised parts move one ledger line per unit (serials.py);
    # defective returns open an RMA (returns.py); falls below a minimum raise an event
    # (replenishment.py). A non-serialised movement is still exactly one line, returned.
    if serials.applies(part, data):
        lines = await serials.record(session, actor, move, data)
    else:
        lines = [await ledger.record(session, actor, move)]
    await returns.open_for_lines(session, actor, lines)
    await replenishment.check_levels(session, actor, lines)
    row = lines[0]
    await session.flush()
    return row


async def list_movements(
    session: AsyncSession,
    actor: Actor,
    *,
    location_id: uuid.UUID | None,
    part_id: uuid.UUID | None,
    ticket_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[StockMovement]:
    query = select(StockMovement).where(StockMovement.org_id == actor.org_id)
    if actor.is_engineer:
        van = select(StockLocation.id).where(StockLocation.engineer_id == actor.engineer_id)
        query = query.where(
            or_(StockMovement.from_location_id.in_(van), StockMovement.to_location_id.in_(van))
        )
    if location_id is not None:
        query = query.where(
            or_(
                StockMovement.from_location_id == location_id,
                StockMovement.to_location_id == location_id,
            )
        )
    if part_id is not None:
        query = query.where(StockMovement.part_id == part_id)
    if ticket_id is not None:
        query = query.where(StockMovement.ticket_id == ticket_id)
    # Ids are UUIDv7: ordering by id is ordering by time.
    return await keyset_page(
        session,
        query,
        sort_column=StockMovement.id,
        id_column=StockMovement.id,
        limit=limit,
        cursor=cursor,
    )


async def verify_ledger(session: AsyncSession, actor: Actor) -> list[dict[str, Any]]:
    _manager(actor)
    return await ledger.check(session, actor.org_id)
