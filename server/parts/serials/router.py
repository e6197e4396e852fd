"""Routes for serial-numbered units: where each one is, and its history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import (
    Cursor,
    Limit,
    problems,
)
from server.parts.models import UnitStatus
from server.parts.schemas import MovementRead
from server.parts.serials import service as serials
from server.schemas import Output, PageOut

router = APIRouter(prefix="/api/v1", tags=["spare parts and stock"])
Reader = Annotated[Actor, require("parts:read")]


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
