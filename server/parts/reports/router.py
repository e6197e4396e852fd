from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import AsciiDigits, problems
from server.parts.reports import service as reports
from server.parts.reports.service import (
    ConsumptionReport,
    GroupBy,
    OnHandReport,
    Period,
    TurnoverReport,
    WorkOrderCost,
)
from server.schemas import Instant

router = APIRouter(prefix="/api/v1/stock-reports", tags=["stock reports"])
Reader = Annotated[Actor, require("parts:read")]
From = Annotated[
    Instant,
    Query(alias="from", description="Start of the range (inclusive), ISO 8601 with an offset"),
]
To = Annotated[
    Instant,
    Query(alias="to", description="End of the range (exclusive); at most two years after `from`"),
]
BACK_OFFICE = " Admins, dispatchers, agents, viewers and keys with parts:read; engineers 403."
# Grouping by the equipment's model reads assets; by engineer, names engineers.
GROUP_SCOPES: dict[str, tuple[str, ...]] = {
    "part": ("parts:read",),
    "product_model": ("parts:read", "customers:read"),
    "engineer": ("parts:read", "engineers:read"),
}


@router.get(
    "/on-hand",
    summary="Stock on hand and its value per location (engineers: their van)",
    description="Per stock location (customer sites, which hold installed parts, are left "
    "out unless named by `location_id`): the number of parts held, the quantity on hand "
    "and its value = on hand x the part's current cost. `by_part=true` adds one line per "
    "location and part, up to `limit` (`lines_truncated` says when there are more). "
    "Engineers see their own van only; any other location answers 404.",
    response_model=OnHandReport,
    responses=problems(403, 404),
)
async def on_hand(
    session: SessionDep,
    actor: Reader,
    location_id: uuid.UUID | None = None,
    by_part: bool = False,
    limit: Annotated[int, Query(ge=1, le=reports.MAX_LINES), AsciiDigits] = 1000,
) -> OnHandReport:
    return await reports.on_hand(
        session, actor, location_id=location_id, by_part=by_part, limit=limit
    )


@router.get(
    "/consumption",
    summary="Parts consumed per period, by part, product model or engineer",
    description="Gross consumption: the `consume` lines recorded in [from, to), returns "
    "not subtracted. Buckets are the organisation's local day, ISO week (from Monday) or "
    "month. Cost = quantity x the part's cost recorded on each line. `product_model` is the "
    "model of the work order's equipment (asset; needs customers:read too); `engineer` is "
    "the owner of the van the part was consumed from (null key: not consumed from a van; "
    "needs engineers:read too)." + BACK_OFFICE,
    response_model=ConsumptionReport,
    responses=problems(403),
)
async def consumption(
    session: SessionDep,
    actor: Reader,
    start: From,
    end: To,
    period: Period = "month",
    group_by: GroupBy = "part",
) -> ConsumptionReport:
    actor.require(*GROUP_SCOPES[group_by])
    return await reports.consumption(
        session, actor, start=start, end=end, period=period, group_by=group_by
    )


@router.get(
    "/work-order-cost",
    summary="Parts cost of one work order, with its lines",
    description="Consume lines (quantity x unit cost at the time) minus `good` returns "
    "(unused parts taken back). A defective return is the unit removed from the "
    "equipment: listed, credits nothing." + BACK_OFFICE + " It names the work order, so a key "
    "needs tickets:read too.",
    response_model=WorkOrderCost,
    responses=problems(403, 404),
)
async def work_order_cost(
    session: SessionDep,
    actor: Annotated[Actor, require("parts:read", "tickets:read")],  # it names the work order
    ticket_id: uuid.UUID,
) -> WorkOrderCost:
    return await reports.work_order_cost(session, actor, ticket_id=ticket_id)


@router.get(
    "/turnover",
    summary="Stock turnover per location over a range",
    description="turnover = cost of parts consumed from the location in [from, to) / its "
    "average stock value, where average = (value at `from` + value at `to`) / 2 and the "
    "value at time T = for each part, the location's on-hand quantity from the ledger "
    "lines recorded before T x the part's **current** cost (the consumed cost uses the "
    "cost recorded on each line). Null when the average value is not positive. Not "
    "annualised: divide by the range's length in years for an annual rate." + BACK_OFFICE,
    response_model=TurnoverReport,
    responses=problems(403),
)
async def turnover(session: SessionDep, actor: Reader, start: From, end: To) -> TurnoverReport:
    return await reports.turnover(session, actor, start=start, end=end)
