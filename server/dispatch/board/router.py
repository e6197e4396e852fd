from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.dispatch.board import service
from server.dispatch.board.schemas import Board
from server.http import problems
from server.schemas import Day, Territory

router = APIRouter(prefix="/api/v1/dispatch/board", tags=["dispatch"])

Reader = Annotated[Actor, require("tickets:read", "engineers:read", "customers:read")]


@router.get(
    "",
    summary="Every engineer's day as a timeline, and a map (GeoJSON)",
    response_model=Board,
    responses=problems(403),
)
async def read_board(
    session: SessionDep,
    actor: Reader,
    date: Annotated[Day, Query()],
    territory: Annotated[Territory | None, Query()] = None,
) -> dict[str, Any]:
    return await service.board(session, actor, date=date, territory=territory)
