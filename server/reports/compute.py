"""Running a KPI view: the passes a query's metrics need (``server.reports.passes``), their
rows turned into ``Value``s, and every period x group of the range given a row (a period
without data has its counts at 0 and its rates and means null)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.customers import Customer
from server.engineers import Engineer
from server.reports import live, passes, rollup, stock
from server.reports.metrics import CATALOGUE, WORK_ORDER_ANCHORS, Metric
from server.reports.query import bounds, buckets
from server.reports.schemas import TOTAL, GroupBy, KpiQuery, KpiRow, Value

Cells = dict[tuple[dt.date | None, str | None], dict[str, Value]]
MAX_GRID = 20_000  # rows filled in for periods x groups without data, at most


def number(value: Any, places: int = 2) -> float | int | None:
    """A database number for JSON: ints stay ints, the rest rounded (never NaN)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    rounded = round(float(value), places)
    return int(rounded) if isinstance(value, Decimal) and rounded.is_integer() else rounded


def value_of(metric: Metric, cells: Sequence[Any]) -> Value:
    """The ``Value`` of ``metric`` from its aggregates' results (``metric.sql`` order)."""
    if metric.kind in ("rate", "score"):
        numerator, denominator = (number(c) or 0 for c in cells)
        ratio = 100 * numerator / denominator if denominator else None
        return Value(number(ratio), numerator=numerator, denominator=denominator)
    if metric.kind == "mean":
        total, count = cells[0], int(cells[1] or 0)
        return Value(number(float(total) / count / metric.scale) if count else None, count=count)
    if metric.kind == "median":
        median = None if cells[0] is None else float(cells[0]) / metric.scale
        return Value(number(median), count=int(cells[1] or 0))
    return Value(number(cells[0]) or 0)


def empty(metric: Metric) -> Value:
    """A metric's value where nothing was counted."""
    if metric.kind in ("rate", "score"):
        return Value(None, numerator=0, denominator=0)
    if metric.kind in ("mean", "median"):
        return Value(None, count=0)
    if metric.kind == "ratio":
        return Value(None)
    return Value(0)


async def collect(
    session: AsyncSession, sql: str, params: dict[str, Any], metrics: Sequence[Metric], cells: Cells
) -> None:
    """Run one pass and put each metric's value in its (period, key) cell."""
    result = await session.execute(text(sql), passes.bind(sql, params))
    for row in result:
        key = TOTAL if getattr(row, "whole", 0) else row.key
        cell = cells.setdefault((row.period_start, key), {})
        for i, metric in enumerate(metrics):
            cell[metric.name] = value_of(
                metric, [row._mapping[f"m{i}_{j}"] for j in range(len(metric.sql))]
            )


async def roomy(session: AsyncSession) -> None:
    """Settings for the KPI statements, for the rest of this request's transaction only:
    memory enough for a year's groups to aggregate in a hash table rather than spill a sort
    to disk (the planner cannot tell how few periods a date_trunc makes), and no JIT."""
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    # These statements run once per view over many rows: JIT compiling them costs more
    # than it saves (measured by the lead at 1M rows).
    await session.execute(text("SET LOCAL jit = off"))


def requested(query: KpiQuery) -> list[Metric]:
    return [CATALOGUE[name] for name in (query.metrics or tuple(CATALOGUE))]


async def run(
    session: AsyncSession,
    actor: Actor,
    query: KpiQuery,
    *,
    zone: str,
    now: dt.datetime,
) -> list[KpiRow]:
    """Every period x group row of ``query`` (labels are the groups' names)."""
    metrics = requested(query)
    start, end = bounds(query, zone)
    periods = buckets(query)
    params = passes.params(
        query, org=actor.org_id, zone=zone, start=start, end=end, now=now, first_bucket=periods[0]
    )
    cells: Cells = {}
    await roomy(session)
    summed = await rollup.ready(session, actor.org_id, zone)
    for anchor in WORK_ORDER_ANCHORS:
        chosen = [m for m in metrics if m.anchor == anchor]
        if chosen := await _summed(session, query, params, chosen, anchor, summed, cells):
            sql = passes.work_order_pass(anchor, chosen, query)
            await collect(session, sql, params, chosen, cells)
    if (chosen := [m for m in metrics if m.source == "engineer_days"]) and passes.applies_to_days(
        query
    ):
        await collect(session, passes.engineer_day_pass(chosen, query), params, chosen, cells)
    if chosen := [m for m in metrics if m.source == "now"]:
        now_sql = passes.now_pass(chosen, query)
        await collect(session, now_sql, params, chosen, cells)
        _merge_now(cells, query, periods)
    if any(m.name == "backlog" for m in metrics):
        from_sums = summed and rollup.applies(query, ())
        await live.backlog_trend(session, query, params, periods, cells, summed=from_sums)
    # The stock ledger's numbers need its scope too (docs/api.md, "Scopes of combined
    # answers"): without parts:read they stay empty.
    ledger = actor.can("parts:read")
    chosen = [m for m in metrics if m.source == "parts" and m.sql] if ledger else []
    if chosen := await _summed(session, query, params, chosen, "movement", summed, cells):
        await collect(session, passes.parts_pass(chosen, query), params, chosen, cells)
    if ledger and any(m.name == "parts_turnover" for m in metrics):
        await stock.turnover_cells(session, actor, query, zone, periods, cells)
    return await _rows(session, actor, query, metrics, periods, cells)


async def _summed(
    session: AsyncSession,
    query: KpiQuery,
    params: dict[str, Any],
    chosen: list[Metric],
    anchor: str,
    summed: bool,
    cells: Cells,
) -> list[Metric]:
    """The metrics of one anchor the roll-ups answer (``summed``: they hold this
    catalogue's sums), computed from them; returns the others, for the facts."""
    if summed and (adding := [m for m in chosen if rollup.answers(query, m)]):
        sql = rollup.work_order_pass(anchor, adding, query)
        await collect(session, sql, params | {"anchor": anchor}, adding, cells)
        return [m for m in chosen if m not in adding]
    return chosen


def _merge_now(cells: Cells, query: KpiQuery, periods: list[dt.date]) -> None:
    """Without periods the "now" values belong in the range's row (the later one of a
    split range)."""
    if query.period != "none":
        return
    for (period, key), values in list(cells.items()):
        if period is None:
            cells.pop((period, key))
            cells.setdefault((periods[-1], key), {}).update(values)


async def _rows(
    session: AsyncSession,
    actor: Actor,
    query: KpiQuery,
    metrics: list[Metric],
    periods: list[dt.date],
    cells: Cells,
) -> list[KpiRow]:
    keys = sorted({key for _, key in cells}, key=lambda k: (k is None, k or ""))
    if query.group_by is None:
        keys = [None]
    grid: list[dt.date | None] = list(periods)
    if query.period != "none" and any(m.source == "now" for m in metrics):
        grid.append(None)  # the row of the "now" metrics
    if len(keys) * len(grid) <= MAX_GRID:
        for key in keys:
            for period in grid:
                cells.setdefault((period, key), {})
    names = await labels(session, actor, query.group_by, [k for k in keys if k])
    rows = [
        KpiRow(
            period_start=period,
            key=key,
            label=names.get(key, key) if key is not None else None,
            values={m.name: values.get(m.name) or empty(m) for m in metrics},
        )
        for (period, key), values in cells.items()
    ]
    rows.sort(
        key=lambda r: (
            r.period_start is None,
            r.period_start or dt.date.min,
            r.key is None,
            r.key or "",
        )
    )
    return rows


async def labels(
    session: AsyncSession, actor: Actor, group_by: GroupBy | None, keys: list[str]
) -> dict[str | None, str | None]:
    """The names of the engineers or customers a result is grouped by, for callers who may
    read them (``engineers:read``, ``customers:read``; others read the id)."""
    org_id = actor.org_id
    ids = []
    for key in keys:
        try:
            ids.append(uuid.UUID(key))
        except ValueError:
            continue
    if group_by == "engineer" and ids and actor.can("engineers:read"):
        found = await session.execute(
            select(Engineer.id, Engineer.display_name).where(
                Engineer.org_id == org_id, Engineer.id.in_(ids)
            )
        )
    elif group_by == "customer" and ids and actor.can("customers:read"):
        found = await session.execute(
            select(Customer.id, Customer.name).where(
                Customer.org_id == org_id, Customer.id.in_(ids)
            )
        )
    else:
        return {}
    return {str(row[0]): row[1] for row in found}
