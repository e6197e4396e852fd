"""Top fault codes per product model: the repair work orders created in the range per
(product model, fault code), each code's share of the model's repairs in the range
(cancelled work orders, and those without equipment of a known model, are not counted),
and its count per calendar month (organisation's time zone). Models are ordered by their
repair count, most first (a count, not a rate per installed unit: a large fleet ranks high too)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.reports import passes
from server.reports.schemas import FaultModel, FaultRow, FaultTrendPoint, KpiQuery

# One scan: per (product model, fault code, calendar month) the work orders and the
# repairs among them; the models' totals, the codes' counts and their trends are its sums.
COUNTS = (
    "SELECT f.product_model, f.fault_code, "
    "CAST(date_trunc('month', CAST(f.created_day AS timestamp)) AS date) AS month, "
    "count(*) AS n, count(*) FILTER (WHERE f.type = 'repair') AS repairs "
    "FROM kpi_work_orders f WHERE f.org_id = :org AND f.cancelled_at IS NULL "
    "AND f.product_model IS NOT NULL "
    "AND f.created_day >= :start_day AND f.created_day <= :end_day{where} GROUP BY 1, 2, 3"
)
Code = tuple[str | None, str | None]


async def faults(
    session: AsyncSession,
    org_id: uuid.UUID,
    query: KpiQuery,
    *,
    top: int,
    models: int,
) -> list[FaultModel]:
    where, params = passes.filter_sql(query.filters)
    params |= {"org": org_id, "start_day": query.start, "end_day": query.end}
    found: dict[str | None, FaultModel] = {}
    repairs: dict[str | None, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    trend: dict[Code, dict[dt.date, int]] = defaultdict(dict)
    sql = COUNTS.format(where=where)
    for row in await session.execute(text(sql), passes.bind(sql, params)):
        model = found.setdefault(row.product_model, FaultModel(row.product_model, 0, 0, []))
        model.work_orders += row.n
        model.repairs += row.repairs
        if row.repairs:
            repairs[row.product_model][row.fault_code] += row.repairs
            trend[(row.product_model, row.fault_code)][row.month] = row.repairs
    chosen = sorted(found.values(), key=lambda m: (-m.repairs, m.product_model or ""))
    chosen = [m for m in chosen if m.repairs][:models]
    for model in chosen:
        codes = repairs[model.product_model].items()
        ranked = sorted(codes, key=lambda c: (-c[1], c[0] or ""))[:top]
        model.faults = [
            FaultRow(
                fault_code=code,
                count=count,
                share=round(100 * count / model.repairs, 2),
                trend=_points(trend[(model.product_model, code)], query.start, query.end),
            )
            for code, count in ranked
        ]
    return chosen


def _points(counts: dict[dt.date, int], start: dt.date, end: dt.date) -> list[FaultTrendPoint]:
    """One point per month of the range, 0 where the code did not occur."""
    points, month = [], start.replace(day=1)
    while month <= end:
        points.append(FaultTrendPoint(month=month, count=counts.get(month, 0)))
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return points
