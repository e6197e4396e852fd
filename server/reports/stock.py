"""Parts turnover per period, from the parts domain's stock report (docs/parts.md: cost
consumed from stock locations / average stock value at the period's start and end), summed
over the organisation's stock locations. It describes the stock, not work orders, so it has
no value for a filtered or grouped view nor for an engineer (null there). One scan of the
ledger answers every period (``server.parts.stock_reports.turnover_series``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.parts import stock_reports
from server.reports.query import local_midnight, next_bucket
from server.reports.schemas import KpiQuery, Value


def applies(actor: Actor, query: KpiQuery) -> bool:
    filtered = any(v is not None for v in vars(query.filters).values())
    return not (actor.is_engineer or filtered or query.group_by)


async def turnover_cells(
    session: AsyncSession,
    actor: Actor,
    query: KpiQuery,
    zone: str,
    periods: list[dt.date],
    cells: dict[Any, dict[str, Value]],
) -> None:
    """``parts_turnover`` of each period (clipped to the range), one ledger scan for all."""
    if not applies(actor, query):
        return
    days = [max(p, query.start) for p in periods]
    after = query.end + dt.timedelta(days=1)
    if query.period != "none":
        after = min(next_bucket(periods[-1], query.period), after)
    bounds = [local_midnight(day, zone) for day in (*days, after)]
    series = await stock_reports.turnover_series(session, actor, bounds=bounds)
    for period, row in zip(periods, series, strict=True):
        cells.setdefault((period, None), {})["parts_turnover"] = Value(
            None if row.turnover is None else float(row.turnover),
            numerator=float(row.consumed_cost),
            denominator=float((row.start_value + row.end_value) / 2),
        )
