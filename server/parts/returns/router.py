"""Routes for returns of parts to vendors and repair centres (RMA)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import (
    Cursor,
    IfMatch,
    Limit,
    created_headers,
    expected_version,
    problems,
    set_etag,
)
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.parts.models import PartReturn, ReturnStatus
from server.parts.returns import service as returns
from server.parts.schemas import Qty as PositiveQty
from server.schemas import Input, Output, PageOut

router = APIRouter(prefix="/api/v1", tags=["spare parts and stock"])
Reader = Annotated[Actor, require("parts:read")]
Writer = Annotated[Actor, require("parts:write")]


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
