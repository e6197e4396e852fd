"""Routes for serial-numbered units, pick lists, returns (RMA) and replenishment levels."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from server.auth import Actor
from server.deps import SessionDep, require
from server.http import (
    Cursor,
    IfMatch,
    IfNoneMatch,
    Limit,
    created_headers,
    expected_version,
    problems,
    put_precondition,
    set_etag,
)
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.parts import replenishment, reservations, returns, serials
from server.parts.schemas import MovementRead
from server.parts.schemas import Qty as PositiveQty
from server.parts.tracking_models import PartReturn, ReturnStatus, UnitStatus
from server.schemas import AsciiNumber, Day, Input, Output, PageOut

router = APIRouter(prefix="/api/v1", tags=["spare parts and stock"])
Reader = Annotated[Actor, require("parts:read")]
Writer = Annotated[Actor, require("parts:write")]
Qty = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=3), AsciiNumber]


class StockUnitRead(Output):
    id: uuid.UUID
    part_id: uuid.UUID
    serial_number: str
    location_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    status: UnitStatus
    created_at: dt.datetime


class StockUnitDetail(StockUnitRead):
    history: list[MovementRead]


class PickLineRead(Output):
    ticket_id: uuid.UUID
    ticket_number: str = Field(description="The work order's number, e.g. WO-000123")
    window_start: dt.datetime | None
    part_id: uuid.UUID
    sku: str
    part_name: str
    unit: str
    quantity: Decimal
    location_id: uuid.UUID
    location_name: str


class PickListRead(Output):
    engineer_id: uuid.UUID
    date: dt.date
    lines: list[PickLineRead]


class PartReturnCreate(Input):
    part_id: uuid.UUID
    serial_number: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    ticket_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = Field(
        default=None, description="defaults to the work order's asset"
    )
    location_id: uuid.UUID | None = Field(
        default=None, description="the vendor or repair centre it goes to"
    )
    notes: Annotated[str, Field(max_length=5000)] = ""
    from_location_id: uuid.UUID | None = Field(
        default=None,
        description="a part found defective on a shelf: transfer it (quantity, or the named "
        "unit) from this stock location into quarantine, where the return holds it",
    )
    quantity: PositiveQty = Field(default=Decimal(1), description="with from_location_id")


class PartReturnTransition(Input):
    status: ReturnStatus
    location_id: uuid.UUID | None = Field(
        default=None, description="set or change the vendor or repair centre"
    )
    to_location_id: uuid.UUID | None = Field(
        default=None,
        description="repaired, for a return holding a quarantined part (opened by a "
        "defective return from the field): the stock location it goes back into",
    )
    notes: Annotated[str, Field(min_length=1, max_length=5000)] | None = None


class PartReturnRead(Output):
    id: uuid.UUID
    number: str
    part_id: uuid.UUID
    serial_number: str | None
    ticket_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    movement_id: uuid.UUID | None
    status: ReturnStatus
    allowed_next: list[ReturnStatus]
    warranty: bool
    location_id: uuid.UUID | None
    notes: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class LevelUpdate(Input):
    minimum: Qty
    target: Qty


class LevelRead(Output):
    location_id: uuid.UUID
    part_id: uuid.UUID
    minimum: Decimal
    target: Decimal
    below_minimum: bool
    version: int


class TopUpRead(Output):
    part_id: uuid.UUID
    sku: str
    name: str
    minimum: Decimal | None
    target: Decimal | None
    consumed_30d: Decimal = Field(description="consumed from this location in the last 30 days")
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    suggested: Decimal = Field(description="max(target, consumed_30d) - available")


def _rma(row: PartReturn) -> PartReturnRead:
    return PartReturnRead(
        id=row.id,
        number=row.display_number,
        part_id=row.part_id,
        serial_number=row.serial_number,
        ticket_id=row.ticket_id,
        asset_id=row.asset_id,
        movement_id=row.movement_id,
        status=ReturnStatus(row.status),
        allowed_next=list(returns.ALLOWED[ReturnStatus(row.status)]),
        warranty=row.warranty,
        location_id=row.location_id,
        notes=row.notes,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- serial-numbered units -------------------------------------------------------------


@router.get(
    "/stock-units",
    summary="Find serial-numbered units (engineers: those in their van)",
    response_model=PageOut[StockUnitRead],
    responses=problems(400, 403),
)
async def list_stock_units(
    session: SessionDep,
    actor: Reader,
    serial_number: Annotated[str | None, Query(max_length=100)] = None,
    part_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[StockUnitRead]:
    page = await serials.list_units(
        session,
        actor,
        serial_number=serial_number,
        part_id=part_id,
        location_id=location_id,
        asset_id=asset_id,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[StockUnitRead.model_validate(u) for u in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/stock-units/{unit_id}",
    summary="A serial-numbered unit and its history (its ledger lines, oldest first)",
    response_model=StockUnitDetail,
    responses=problems(403, 404),
)
async def read_stock_unit(
    unit_id: uuid.UUID, session: SessionDep, actor: Reader
) -> StockUnitDetail:
    unit, history = await serials.get_unit(session, actor, unit_id=unit_id)
    base = StockUnitRead.model_validate(unit)
    return StockUnitDetail(
        **base.model_dump(), history=[MovementRead.model_validate(m) for m in history]
    )


# --- pick lists ------------------------------------------------------------------------


@router.get(
    "/pick-lists",
    summary="An engineer's pick list for a day: the parts reserved for their work",
    description="Open work orders assigned to the engineer with a window on that date (in the "
    "organisation's time zone) or with no window; engineers ask for themselves only.",
    response_model=PickListRead,
    responses=problems(403, 404, 422),
)
async def pick_list(
    session: SessionDep,
    actor: Annotated[Actor, require("parts:read", "tickets:read")],  # it names work orders
    date: Day,
    engineer_id: uuid.UUID | None = None,
) -> PickListRead:
    lines = await reservations.pick_list(session, actor, engineer_id=engineer_id, day=date)
    who = engineer_id or actor.engineer_id
    assert who is not None
    return PickListRead(
        engineer_id=who, date=date, lines=[PickLineRead.model_validate(x) for x in lines]
    )


# --- returns (RMA) ---------------------------------------------------------------------


@router.post(
    "/part-returns",
    status_code=201,
    summary="Open a return to a vendor or repair centre (RMA) by hand",
    description="A second open return for the same serial answers 409.",
    response_model=PartReturnRead,
    responses=problems(400, 403, 409),
)
async def create_part_return(
    request: Request,
    body: PartReturnCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[PartReturnRead, dict[str, str]]:
        row = await returns.create(session, actor, **body.model_dump())
        out = _rma(row)
        return out, created_headers("part-returns", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/part-returns",
    summary="List returns (engineers: those of their work orders)",
    response_model=PageOut[PartReturnRead],
    responses=problems(400, 403),
)
async def list_part_returns(
    session: SessionDep,
    actor: Reader,
    status: ReturnStatus | None = None,
    part_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    warranty: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[PartReturnRead]:
    page = await returns.list_returns(
        session,
        actor,
        status=status,
        part_id=part_id,
        ticket_id=ticket_id,
        asset_id=asset_id,
        warranty=warranty,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[_rma(r) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/part-returns/{return_id}",
    summary="Read a return",
    response_model=PartReturnRead,
    responses=problems(403, 404),
)
async def read_part_return(
    return_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> PartReturnRead:
    row = await returns.get(session, actor, return_id=return_id)
    set_etag(response, row.version)
    return _rma(row)


@router.post(
    "/part-returns/{return_id}/transitions",
    summary="Move a return on (received, under_repair, repaired, scrapped, credited)",
    description="A status the return cannot reach from where it is answers 409 "
    "`invalid_transition` listing the allowed ones. A return opened by a defective return "
    "from the field holds its part in quarantine: `repaired` transfers it into "
    "`to_location_id`; `scrapped`, or `credited` after `received`, scraps it. `If-Match` "
    "is optional: with it, the return moves on only if unchanged since that read (412).",
    response_model=PartReturnRead,
    responses=problems(400, 403, 404, 409, 412),
)
async def transition_part_return(
    return_id: uuid.UUID,
    body: PartReturnTransition,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> PartReturnRead:
    row = await returns.transition(
        session,
        actor,
        return_id=return_id,
        status=body.status,
        location_id=body.location_id,
        to_location_id=body.to_location_id,
        notes=body.notes,
        expected_version=expected_version(if_match, required=False),
    )
    set_etag(response, row.version)
    return _rma(row)


# --- replenishment ---------------------------------------------------------------------


@router.get(
    "/stock-locations/{location_id}/levels/{part_id}",
    summary="A part's minimum and target level at a location",
    response_model=LevelRead,
    responses=problems(403, 404),
)
async def read_level(
    location_id: uuid.UUID,
    part_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    response: Response,
) -> LevelRead:
    level = await replenishment.get_level(session, actor, location_id=location_id, part_id=part_id)
    set_etag(response, level.version)
    return LevelRead.model_validate(level)


@router.put(
    "/stock-locations/{location_id}/levels/{part_id}",
    summary="Set a part's minimum and target level at a location",
    description="Create with `If-None-Match: *` (412 if a level is set already), replace with "
    "`If-Match` and the ETag read (412 if it changed since, or if none is set); neither: 428.",
    response_model=LevelRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def set_level(
    location_id: uuid.UUID,
    part_id: uuid.UUID,
    body: LevelUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> LevelRead:
    level = await replenishment.set_level(
        session,
        actor,
        location_id=location_id,
        part_id=part_id,
        minimum=body.minimum,
        target=body.target,
        expected_version=put_precondition(if_match, if_none_match),
    )
    set_etag(response, level.version)
    return LevelRead.model_validate(level)


@router.get(
    "/stock-locations/{location_id}/suggested-top-up",
    summary="What to bring to a location (a van): max(target, 30-day consumption) - available",
    response_model=list[TopUpRead],
    responses=problems(403, 404),
)
async def suggested_top_up(
    location_id: uuid.UUID, session: SessionDep, actor: Reader
) -> list[TopUpRead]:
    rows = await replenishment.suggested_top_up(session, actor, location_id=location_id)
    return [TopUpRead.model_validate(r) for r in rows]
