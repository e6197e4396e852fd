"""Routes for pick lists: what an engineer takes from the warehouse for the reserved parts
of a day's work."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import (
    problems,
)
from server.parts.ledger import reservations
from server.schemas import Day, Output

router = APIRouter(prefix="/api/v1", tags=["spare parts and stock"])


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
