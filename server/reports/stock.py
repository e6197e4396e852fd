"""Parts turnover per period, from the parts domain's stock report (docs/parts.md: cost
consumed from stock locations / average stock value at the period's start and end), summed
over the organisation's stock locations. It describes the stock, not work orders, so it has
no value for a filtered or grouped view nor for an engineer (null there)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.parts import stock_reports
from server.reports.query import local_midnight, next_bucket
from server.reports.schemas import KpiQuery, Value

MAX_PERIODS = 36  # one stock report per period: months over three years at most


def applies(actor: Actor, query: KpiQuery, periods: list[dt.date]) -> bool:
    filtered = any(vars(query.filters).values())
    return not (actor.is_engineer or filtered or query.group_by or len(periods) > MAX_PERIODS)


async def turnover_cells(
    session: AsyncSession,
    actor: Actor,
    query: KpiQuery,
    zone: str,
    periods: list[dt.date],
    cells: dict[Any, dict[str, Value]],
) -> None:
    if not applies(actor, query, periods):
        return
    for period in periods:
        first = max(period, query.start)
        after = query.end + dt.timedelta(days=1)
        if query.period != "none":
            after = min(next_bucket(period, query.period), after)
        report = await stock_reports.turnover(
            session,
            actor,
            start=local_midnight(first, zone),
            end=local_midnight(after, zone),
        )
        consumed = sum((loc.consumed_cost for loc in report.locations), Decimal(0))
        average = sum((loc.start_value + loc.end_value for loc in report.locations), Decimal(0)) / 2
        ratio = round(float(consumed / average), 4) if average > 0 else None
        cells.setdefault((period, None), {})["parts_turnover"] = Value(
            ratio, numerator=float(consumed), denominator=round(float(average), 2)
        )
