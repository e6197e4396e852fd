"""The backlog: the work orders open now (size, age, SLA state) and the number open at the
end of each period. Open = not resolved, closed or cancelled (``ended_at`` null)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.reports import passes, rollup
from server.reports.schemas import (
    BacklogGroup,
    BacklogPoint,
    BacklogReport,
    KpiQuery,
    Value,
)

AGE = "extract(epoch FROM (:now - f.created_at)) / 86400.0"


async def backlog_trend(
    session: AsyncSession,
    query: KpiQuery,
    params: dict[str, Any],
    periods: list[dt.date],
    cells: dict[Any, dict[str, Value]],
    *,
    summed: bool,
) -> None:
    """``backlog`` in each (period, key) cell: the running sum of the work orders that
    entered less those that left, bucket by bucket (from the roll-ups when ``summed``)."""
    sql = rollup.backlog_pass(query) if summed else passes.backlog_pass(query)
    deltas: dict[str | None, dict[dt.date, int]] = defaultdict(dict)
    result = await session.execute(text(sql), passes.bind(sql, params))
    for row in result:
        deltas[row.key][row.period_start] = int(row.delta)
    if query.group_by is None:
        deltas.setdefault(None, {})
    for key, by_period in deltas.items():
        running = 0
        for period in periods:
            running += by_period.get(period, 0)
            cells.setdefault((period, key), {})["backlog"] = Value(running)


OPEN_NOW = """
SELECT CAST({key} AS text) AS key, grouping({key}) AS total, count(*) AS open,
       avg({age}) AS mean,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {age}) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY {age}) AS p90,
       count(*) FILTER (WHERE t.sla_state = 'breached') AS breached,
       count(*) FILTER (WHERE t.sla_state = 'at_risk') AS at_risk
  FROM kpi_work_orders f JOIN tickets t ON t.id = f.ticket_id AND t.org_id = :org
 WHERE f.org_id = :org AND f.ended_at IS NULL AND f.cancelled_at IS NULL{where}
 GROUP BY GROUPING SETS (({key}), ())"""


def _open_sql(query: KpiQuery) -> str:
    return OPEN_NOW.format(
        key=passes.group_sql(query.group_by), age=AGE, where=passes.filter_sql(query.filters)[0]
    )


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


async def backlog(
    session: AsyncSession,
    org_id: uuid.UUID,
    query: KpiQuery,
    params: dict[str, Any],
    periods: list[dt.date],
    labels: Any,
    zone: str,
) -> BacklogReport:
    """Open now (in total and per group) and the trend of the total over the periods."""
    sql = _open_sql(query)
    total = BacklogGroup(None, None, 0, None, None, None, 0, 0)
    groups = []
    for row in await session.execute(text(sql), passes.bind(sql, params)):
        group = BacklogGroup(
            key=row.key,
            label=row.key,
            open=row.open,
            age_days_mean=_round(row.mean),
            age_days_median=_round(row.median),
            age_days_p90=_round(row.p90),
            sla_breached=row.breached,
            sla_at_risk=row.at_risk,
        )
        if row.total:
            total = group
        elif query.group_by is not None:
            groups.append(group)
    names = await labels([g.key for g in groups if g.key])
    for group in groups:
        group.label = names.get(group.key, group.key)
    groups.sort(key=lambda g: (-g.open, g.key or ""))
    cells: dict[Any, dict[str, Value]] = {}
    flat = _ungrouped(query)
    summed = rollup.applies(flat, ()) and await rollup.ready(session, org_id, zone)
    await backlog_trend(session, flat, params, periods, cells, summed=summed)
    trend = [
        BacklogPoint(period_start=p, open=int(cells[(p, None)]["backlog"].value or 0))
        for p in periods
    ]
    return BacklogReport(time_zone=zone, total=total, groups=groups, trend=trend)


def _ungrouped(query: KpiQuery) -> KpiQuery:
    return replace(query, group_by=None)
