from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import (
    AsciiDigits,
    Cursor,
    IfMatch,
    Limit,
    created,
    created_headers,
    expected_version,
    problems,
    set_etag,
)
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.parts import service
from server.parts.locations import shown_name
from server.parts.models import LocationKind, StockBalance, StockLocation
from server.parts.schemas import (
    BalanceRead,
    LedgerCheck,
    LocationCreate,
    LocationRead,
    LocationUpdate,
    MovementCreate,
    MovementRead,
    PartCreate,
    PartRead,
    PartUpdate,
)
from server.schemas import PageOut

router = APIRouter(prefix="/api/v1", tags=["spare parts and stock"])
Reader = Annotated[Actor, require("parts:read")]
Writer = Annotated[Actor, require("parts:write")]


# --- catalogue -------------------------------------------------------------------------


@router.post(
    "/parts",
    status_code=201,
    summary="Add a part to the catalogue",
    response_model=PartRead,
    responses={
        **problems(400, 403, 409),
        **created("Part created", read=("read_part", "part_id"), update=("update_part", "part_id")),
    },
)
async def create_part(
    request: Request,
    body: PartCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[PartRead, dict[str, str]]:
        out = PartRead.model_validate(await service.create_part(session, actor, data=body))
        return out, created_headers("parts", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/parts",
    summary="Search the catalogue",
    response_model=PageOut[PartRead],
    responses=problems(400, 403),
)
async def list_parts(
    session: SessionDep,
    actor: Reader,
    q: Annotated[str | None, Query(max_length=200, description="Part of the SKU or name")] = None,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    barcode: Annotated[str | None, Query(max_length=64)] = None,
    model: Annotated[
        str | None, Query(max_length=120, description="A compatible product model")
    ] = None,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[PartRead]:
    page = await service.list_parts(
        session,
        actor,
        limit=limit,
        cursor=cursor,
        q=q,
        sku=sku,
        barcode=barcode,
        model=model,
        active=active,
    )
    return PageOut(
        items=[PartRead.model_validate(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/parts/{part_id}",
    summary="Read a part",
    response_model=PartRead,
    responses=problems(403, 404),
)
async def read_part(
    part_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> PartRead:
    part = await service.get_part(session, actor, part_id=part_id)
    set_etag(response, part.version)
    return PartRead.model_validate(part)


@router.patch(
    "/parts/{part_id}",
    summary="Update a part (send If-Match)",
    description="Changing `serialised` while stock of the part is held (anywhere but at "
    "customer sites) answers 409: count it out, change the flag, count it back in.",
    response_model=PartRead,
    responses=problems(400, 403, 404, 409, 412, 428),
)
async def update_part(
    part_id: uuid.UUID,
    body: PartUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> PartRead:
    part = await service.update_part(
        session, actor, part_id=part_id, data=body, expected_version=expected_version(if_match)
    )
    set_etag(response, part.version)
    return PartRead.model_validate(part)


# --- locations -------------------------------------------------------------------------


def _location(actor: Actor, row: StockLocation) -> LocationRead:
    out = LocationRead.model_validate(row)
    out.name = shown_name(actor, row.kind, row.name)
    return out


@router.post(
    "/stock-locations",
    status_code=201,
    summary="Create a warehouse, repair centre or vendor location",
    response_model=LocationRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Location created",
            read=("read_location", "location_id"),
            balances=("location_balances", "location_id"),
        ),
    },
)
async def create_location(
    request: Request,
    body: LocationCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[LocationRead, dict[str, str]]:
        row = await service.create_location(session, actor, data=body)
        out = _location(actor, row)
        return out, created_headers("stock-locations", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/stock-locations",
    summary="List stock locations (engineers: their van)",
    response_model=PageOut[LocationRead],
    responses=problems(400, 403),
)
async def list_locations(
    session: SessionDep,
    actor: Reader,
    kind: LocationKind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[LocationRead]:
    page = await service.list_locations(session, actor, kind=kind, limit=limit, cursor=cursor)
    return PageOut(items=[_location(actor, x) for x in page.items], next_cursor=page.next_cursor)


@router.get(
    "/stock-locations/{location_id}",
    summary="Read a stock location",
    response_model=LocationRead,
    responses=problems(403, 404),
)
async def read_location(
    location_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> LocationRead:
    location = await service.get_location(session, actor, location_id=location_id)
    set_etag(response, location.version)
    return _location(actor, location)


@router.patch(
    "/stock-locations/{location_id}",
    summary="Rename or deactivate a stock location (send If-Match)",
    response_model=LocationRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_location(
    location_id: uuid.UUID,
    body: LocationUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> LocationRead:
    location = await service.update_location(
        session,
        actor,
        location_id=location_id,
        data=body,
        expected_version=expected_version(if_match),
    )
    set_etag(response, location.version)
    return _location(actor, location)


def _balance(row: StockBalance) -> BalanceRead:
    return BalanceRead(
        location_id=row.location_id,
        part_id=row.part_id,
        on_hand=row.on_hand,
        reserved=row.reserved,
        available=row.on_hand - row.reserved,
        needs_reconciliation=row.needs_reconciliation,
    )


@router.get(
    "/stock-locations/{location_id}/balances",
    summary="Stock at a location: on hand, reserved, available per part",
    description="Ordered by part id; pass the last part_id as `after_part_id` for more.",
    response_model=list[BalanceRead],
    responses=problems(403, 404),
)
async def location_balances(
    location_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    limit: Annotated[int, Query(ge=1, le=1000), AsciiDigits] = 200,
    after_part_id: uuid.UUID | None = None,
) -> list[BalanceRead]:
    rows = await service.balances(
        session, actor, location_id=location_id, limit=limit, after_part_id=after_part_id
    )
    return [_balance(r) for r in rows]


# --- movements -------------------------------------------------------------------------


@router.post(
    "/stock-movements",
    status_code=201,
    summary="Record a stock movement (receive, transfer, consume, return, adjust, scrap, "
    "reserve, release)",
    description="Back-office movements that would take available stock below zero answer "
    "409 `stock_shortage` with the shortfall. An engineer's consumption from their van is "
    "never refused: a negative balance is flagged `needs_reconciliation`.",
    response_model=MovementRead,
    responses=problems(400, 403, 404, 409),
)
async def create_movement(
    request: Request,
    body: MovementCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[MovementRead, dict[str, str]]:
        row = await service.create_movement(session, actor, data=body)
        return MovementRead.model_validate(row), {}

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/stock-movements",
    summary="The stock ledger, oldest first (engineers: their van's lines)",
    response_model=PageOut[MovementRead],
    responses=problems(400, 403),
)
async def list_movements(
    session: SessionDep,
    actor: Reader,
    location_id: uuid.UUID | None = None,
    part_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[MovementRead]:
    page = await service.list_movements(
        session,
        actor,
        location_id=location_id,
        part_id=part_id,
        ticket_id=ticket_id,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[MovementRead.model_validate(m) for m in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/stock-movements/verify",
    summary="Prove every balance equals the sum of its ledger lines",
    response_model=LedgerCheck,
    responses=problems(403),
)
async def verify_ledger(session: SessionDep, actor: Writer) -> LedgerCheck:
    mismatches = await service.verify_ledger(session, actor)
    return LedgerCheck(ok=not mismatches, mismatches=mismatches)
