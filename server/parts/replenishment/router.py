"""Routes for replenishment levels of stock locations and suggested top-ups."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import Field

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import (
    IfMatch,
    IfNoneMatch,
    problems,
    put_precondition,
    set_etag,
)
from server.parts.replenishment import service as replenishment
from server.schemas import AsciiNumber, Input, Output

router = APIRouter(prefix="/api/v1", tags=["spare parts and stock"])
Reader = Annotated[Actor, require("parts:read")]
Writer = Annotated[Actor, require("parts:write")]
Qty = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=3), AsciiNumber]


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
