"""Spare parts: the catalogue, stock locations and the movements API over the ledger.

Who may do what: admins, dispatchers and keys with parts:write manage the catalogue,
locations and every movement. Engineers read the catalogue and their own van, and report
what they used (consume from their van) and brought back (return into their van) on work
orders assigned to them; those field reports are never refused for lack of stock.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import fastpaths
from server.auth import Actor
from server.crud import escape_like, get_scoped, keyset_page, patch
from server.customers import Site
from server.db import driver, fetch
from server.errors import Conflict, Forbidden, NotFound, Unprocessable
from server.pagination import Page
from server.parts.ledger import service as ledger
from server.parts.ledger.reservations import needed_parts as needed_parts  # for dispatch
from server.parts.ledger.reservations import van_parts as van_parts  # for dispatch
from server.parts.locations import (
    ensure_quarantine,
    ensure_site_location,
    shown_name,
    shown_name_column,
    visible_location_ids,
    visible_locations,
)
from server.parts.locations import ensure_van as ensure_van  # re-exported for callers
from server.parts.models import (
    LocationKind,
    MovementKind,
    Part,
    StockBalance,
    StockLocation,
    StockMovement,
    StockUnit,
    UnitStatus,
)
from server.parts.returns import service as returns
from server.parts.schemas import (
    LocationCreate,
    LocationUpdate,
    MovementCreate,
    PartCreate,
    PartUpdate,
)
from server.parts.serials import service as serials
from server.tickets import Ticket, visible_ticket_ids, visible_tickets

FIELD_KINDS = frozenset({MovementKind.CONSUME, MovementKind.RETURN})
STOCK_KINDS = frozenset(
    {
        LocationKind.WAREHOUSE,
        LocationKind.VAN,
        LocationKind.REPAIR_CENTRE,
        LocationKind.VENDOR,
        LocationKind.QUARANTINE,
    }
)


def _manager(actor: Actor) -> None:
    actor.require_manager("manage parts and stock")


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


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


async def refuse_serialised_change_with_stock(session: AsyncSession, part: Part) -> None:
    """The serialised flag changes only while no stock of the part is held (on hand or
    reserved, at any location but a customer site): turned on, the units on hand would have
    no serials; turned off, the tracked units in stock would be left behind by untracked
    movements. What is installed at customer sites does not count (those units come back by
    return, which takes units never seen before)."""
    held = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(StockBalance.on_hand), 0),
                func.coalesce(func.sum(StockBalance.reserved), 0),
            )
            .select_from(StockBalance)
            .join(StockLocation, StockLocation.id == StockBalance.location_id)
            .where(
                StockBalance.org_id == part.org_id,
                StockBalance.part_id == part.id,
                StockLocation.kind != LocationKind.CUSTOMER_SITE.value,
                or_(StockBalance.on_hand != 0, StockBalance.reserved != 0),
            )
        )
    ).one()
    locations, on_hand, reserved = int(held[0]), Decimal(held[1]), Decimal(held[2])
    if not locations:
        return
    units = await session.scalar(
        select(func.count())
        .select_from(StockUnit)
        .where(
            StockUnit.org_id == part.org_id,
            StockUnit.part_id == part.id,
            StockUnit.status.in_((UnitStatus.IN_STOCK.value, UnitStatus.RETURNED.value)),
        )
    )
    what = f"{_quantity(on_hand)} {part.unit} on hand"
    if reserved:
        what += f" ({_quantity(reserved)} reserved)"
    what += f" at {locations} location{'s' if locations != 1 else ''}"
    if units:
        what += f" and {units} tracked unit{'s' if units != 1 else ''} in stock"
    raise Conflict(
        f"part {part.sku} has {what}: the serialised flag can change only when no stock "
        "of it is held (count it out with adjust, change the flag, count it back in)",
        field="serialised",
        locations=locations,
        on_hand=_quantity(on_hand),
        reserved=_quantity(reserved),
        units=int(units or 0),
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
    changes = data.model_dump(exclude_unset=True)
    serialised = changes.get("serialised")
    if (
        serialised is not None
        and serialised != part.serialised
        and expected_version in (None, part.version)  # a stale version is patch's 412
    ):
        await refuse_serialised_change_with_stock(session, part)
    patch(part, changes, expected_version=expected_version)
    return part


# --- locations ---------------------------------------------------------------------------


async def create_location(
    session: AsyncSession, actor: Actor, *, data: LocationCreate
) -> StockLocation:
    _manager(actor)
    location = StockLocation(org_id=actor.org_id, kind=data.kind, name=data.name, version=1)
    session.add(location)
    await session.flush()
    return location


async def get_location(
    session: AsyncSession, actor: Actor, *, location_id: uuid.UUID, for_update: bool = False
) -> StockLocation:
    return await get_scoped(
        session,
        actor,
        StockLocation,
        location_id,
        label="stock location",
        visible=visible_locations(actor),
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
    if (own := visible_locations(actor)) is not None:
        query = query.where(own)
    if kind is not None:
        query = query.where(StockLocation.kind == kind.value)
    return await keyset_page(
        session,
        query,
        sort_column=shown_name_column(actor),
        id_column=StockLocation.id,
        limit=limit,
        cursor=cursor,
        sort_value=lambda row: shown_name(actor, row.kind, row.name),
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


# The part and the movement's locations in one query, read without the ORM (this is the
# ledger's hot path): the part (404 when it is not the caller's), and each named location
# of the caller's organisation that the caller may see (engineers: their own van only; an
# engineer without a profile sees none). The part row is KEY SHARE locked, as the ledger
# line's foreign key would lock it anyway: a PATCH changing `serialised` (FOR UPDATE) and
# this movement are serialised, and a movement that waited reads the committed flag.
# Straight through asyncpg (server.db.driver), like the ledger's shift: every movement
# sends it. $1 the named locations, $2 whether only the engineer's own van counts, $3 the
# engineer, $4 the part, $5 the organisation.
_LOOKUP = """
    SELECT p.id, p.sku, p.unit, p.cost, p.price, p.serialised, p.active,
           l.id AS location_id, l.name AS location_name, l.kind AS location_kind,
           l.active AS location_active
      FROM parts p
      LEFT JOIN stock_locations l
        ON l.id = ANY($1::uuid[]) AND l.org_id = p.org_id AND (NOT $2 OR l.engineer_id = $3)
     WHERE p.id = $4 AND p.org_id = $5
       FOR KEY SHARE OF p
    """


Subjects = tuple[ledger.PartRef, dict[uuid.UUID, ledger.PlaceRef]]


async def _lookup_now(
    session: AsyncSession, actor: Actor, part_id: uuid.UUID, named: list[uuid.UUID]
) -> Subjects | None:
    """The fast path ``parts.movement_lookup`` (server/fastpaths.py): the part and the
    named locations the caller may see, in ``_LOOKUP``; None when the part is not found."""
    rows = await fetch(
        await driver(session),
        _LOOKUP,
        named,
        actor.is_engineer,
        actor.engineer_id,
        part_id,
        actor.org_id,
    )
    if not rows:
        return None
    first = rows[0]
    part = ledger.PartRef(
        first["id"],
        first["sku"],
        first["unit"],
        first["cost"],
        first["price"],
        first["serialised"],
        first["active"],
    )
    found = {
        row["location_id"]: ledger.PlaceRef(
            row["location_id"], row["location_name"], row["location_kind"], row["location_active"]
        )
        for row in rows
        if row["location_id"] is not None
    }
    return part, found


async def _lookup_orm(
    session: AsyncSession, actor: Actor, part_id: uuid.UUID, named: list[uuid.UUID]
) -> Subjects | None:
    """``_lookup_now``'s ORM twin: the part read ``FOR KEY SHARE`` (afresh, like the
    statement), then the locations. (``key_share`` alone is ``FOR NO KEY UPDATE``, which
    two movements of one part would wait on each other for.)"""
    row = await session.scalar(
        select(Part)
        .where(Part.id == part_id, Part.org_id == actor.org_id)
        .with_for_update(read=True, key_share=True)
        .execution_options(populate_existing=True)
    )
    if row is None:
        return None
    part = ledger.PartRef(
        row.id, row.sku, row.unit, row.cost, row.price, row.serialised, row.active
    )
    found: dict[uuid.UUID, ledger.PlaceRef] = {}
    # An engineer sees their own van only (one without a profile: none).
    if named and not (actor.is_engineer and actor.engineer_id is None):
        query = select(StockLocation).where(
            StockLocation.id.in_(named), StockLocation.org_id == actor.org_id
        )
        if actor.is_engineer:
            query = query.where(StockLocation.engineer_id == actor.engineer_id)
        for location in await session.scalars(query):
            found[location.id] = ledger.PlaceRef(
                location.id, location.name, location.kind, location.active
            )
    return part, found


async def _movement_subjects(
    session: AsyncSession, actor: Actor, data: MovementCreate
) -> tuple[ledger.PartRef, ledger.PlaceRef | None, ledger.PlaceRef | None]:
    named = [loc for loc in (data.from_location_id, data.to_location_id) if loc is not None]
    if fastpaths.enabled("parts.movement_lookup"):
        subjects = await _lookup_now(session, actor, data.part_id, named)
    else:
        subjects = await _lookup_orm(session, actor, data.part_id, named)
    if subjects is None:
        raise NotFound(f"part {data.part_id} not found")
    part, found = subjects
    source = _stock_location(actor, found, data.from_location_id, "from_location_id")
    destination = _stock_location(actor, found, data.to_location_id, "to_location_id")
    return part, source, destination


def _stock_location(
    actor: Actor,
    found: dict[uuid.UUID, ledger.PlaceRef],
    location_id: uuid.UUID | None,
    field: str,
) -> ledger.PlaceRef | None:
    if location_id is None:
        return None
    location = found.get(location_id)
    if location is None:
        if actor.is_engineer:  # another engineer's van: invisible
            raise NotFound(f"stock location {location_id} not found")
        raise Unprocessable(f"stock location {location_id} not found", field=field)
    if LocationKind(location.kind) not in STOCK_KINDS:
        raise Unprocessable(
            "customer-site locations are filled by consume and emptied by return", field=field
        )
    if not location.active:
        shown = shown_name(actor, location.kind, location.name)
        raise Unprocessable(f"{shown} is inactive", field=field)
    return location


_FINISHED = frozenset({"resolved", "closed", "cancelled"})


async def _ticket_site(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID | None, *, reserving: bool = False
) -> StockLocation | None:
    if ticket_id is None:
        return None
    ticket = await session.scalar(
        select(Ticket).where(Ticket.id == ticket_id, visible_tickets(actor))
    )
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
) -> ledger.Line:
    _authorise_movement(actor, data)
    part, named_source, named_destination = await _movement_subjects(session, actor, data)
    source: ledger.PlaceLike | None = named_source
    destination: ledger.PlaceLike | None = named_destination
    if not part.active and data.kind in (MovementKind.RECEIVE, MovementKind.RESERVE):
        raise Unprocessable(f"part {part.sku} is inactive", field="part_id")
    site = await _ticket_site(
        session, actor, data.ticket_id, reserving=data.kind is MovementKind.RESERVE
    )
    if data.kind in FIELD_KINDS and site is None:
        raise Unprocessable("the work order has no site to install at or take back from")
    for named, field in ((source, "from_location_id"), (destination, "to_location_id")):
        if named is not None and named.kind == LocationKind.QUARANTINE.value:
            raise Unprocessable(
                f"{named.name} holds defective parts waiting for their returns (RMA): they "
                "are not used or reserved, and leave or enter it only through a return "
                "(open one with from_location_id to quarantine a part from a shelf)",
                field=field,
            )
    if data.kind is MovementKind.CONSUME:
        destination = site
    elif data.kind is MovementKind.RETURN:
        source = site
        if data.condition == "defective":
            # Back in the engineer's van, but not usable stock: counted in quarantine
            # until its return (RMA) ends; the RMA says where it physically is.
            destination = await ensure_quarantine(session, actor.org_id)
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
    if returns.opens_returns(data):
        await returns.lock_returns(session, actor.org_id)  # before any stock row: no cycle
    # Issue 3 tracking hooks: serialised parts move one ledger line per unit (serials.py);
    # defective returns open an RMA (returns.py); falls below a minimum raise an event
    # (replenishment.py). A non-serialised movement is still exactly one line, returned.
    if serials.applies(part, data):
        lines = await serials.record(session, actor, move, data)
    else:
        lines = [await ledger.record(session, actor, move)]
    await returns.open_for_lines(session, actor, lines)
    return lines[0]


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
    van, mine = visible_location_ids(actor), visible_ticket_ids(actor)
    if van is not None and mine is not None:
        # Their van's lines, and every line of their own work orders (a defective return
        # goes from the site into quarantine, which they do not see).
        query = query.where(
            or_(
                StockMovement.from_location_id.in_(van),
                StockMovement.to_location_id.in_(van),
                StockMovement.ticket_id.in_(mine),
            )
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
