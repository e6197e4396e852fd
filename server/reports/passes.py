"""The statements of a KPI view, assembled from the catalogue (``server.reports.metrics``):
one per pass, each a single scan of its table grouped by (period bucket, group key), with
the organisation in every ``WHERE``. Only names from fixed lists reach the SQL text (the
period, the group column, the catalogue's aggregates); every value is a bound parameter."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from server.reports.metrics import Metric
from server.reports.schemas import Anchor, Filters, GroupBy, KpiQuery

# The fact column each group and filter reads (``f``: kpi_work_orders).
GROUP_COLUMNS: dict[str, str] = {
    "engineer": "f.engineer_id",
    "team": "f.team",
    "territory": "f.territory",
    "customer": "f.customer_id",
    "product_model": "f.product_model",
    "priority": "f.priority",
    "channel": "f.channel",
    "type": "f.type",
}
FILTER_COLUMNS: dict[str, str] = {
    "engineer_id": "f.engineer_id",
    "team": "f.team",
    "territory": "f.territory",
    "customer_id": "f.customer_id",
    "product_model": "f.product_model",
    "priority": "f.priority",
    "channel": "f.channel",
    "type": "f.type",
    "fault_code": "f.fault_code",
}
# An engineer's day knows the engineer, their team and territory, nothing of work orders.
DAY_GROUPS = {"engineer": "d.engineer_id", "team": "d.team", "territory": "d.territory"}
DAY_FILTERS = {"engineer_id": "d.engineer_id", "team": "d.team", "territory": "d.territory"}


def bucket_sql(instant: str, query: KpiQuery, *, local: bool = False) -> str:
    """The local first day of the period holding ``instant`` (a date already when
    ``local``): ``:start_day`` for none, or ``:split_day`` from the split on."""
    if query.period == "none":
        if query.split is None:
            return "CAST(:start_day AS date)"
        at = instant if local else f"{instant} AT TIME ZONE :tz"
        return (
            f"CASE WHEN {at} >= CAST(:split_day AS date) THEN CAST(:split_day AS date) "
            "ELSE CAST(:start_day AS date) END"
        )
    # A date is truncated as a timestamp without a zone: as a timestamptz (the default
    # cast) every row would be converted through the session's time zone (0.3 s per
    # million rows, for nothing).
    at = f"CAST({instant} AS timestamp)" if local else f"{instant} AT TIME ZONE :tz"
    return f"CAST(date_trunc('{query.period}', {at}) AS date)"


def group_sql(group_by: GroupBy | None, columns: dict[str, str] = GROUP_COLUMNS) -> str:
    """The group's column as it is (a statement groups by it, and selects it ``AS text``:
    grouped by the id itself, a scan in an index's order needs no sort)."""
    return columns[group_by] if group_by else "CAST(NULL AS text)"


def filter_sql(
    filters: Filters, columns: dict[str, str] = FILTER_COLUMNS
) -> tuple[str, dict[str, Any]]:
    """``AND col = :f_name`` for every filter set, and its parameters."""
    clauses, params = [], {}
    for item in fields(filters):
        value = getattr(filters, item.name)
        if value is not None:
            clauses.append(f" AND {columns[item.name]} = :f_{item.name}")
            params[f"f_{item.name}"] = value
    return "".join(clauses), params


def set_filters(query: KpiQuery) -> set[str]:
    """The names of the query's filters that are set."""
    return {f.name for f in fields(query.filters) if getattr(query.filters, f.name) is not None}


def applies_to_days(query: KpiQuery) -> bool:
    """Whether engineer days can answer the query: grouped and filtered only by what a day
    knows (otherwise utilisation and travel share are null rather than wrong)."""
    return (query.group_by is None or query.group_by in DAY_GROUPS) and set_filters(query) <= set(
        DAY_FILTERS
    )


def _select(metrics: Sequence[Metric]) -> str:
    columns = []
    for i, metric in enumerate(metrics):
        columns += [f"{agg} AS m{i}_{j}" for j, agg in enumerate(metric.sql)]
    return ", ".join(columns)


# The statements' shapes; ``{bucket}``, ``{key}``, ``{select}``, ``{anchor}`` and ``{where}``
# are filled from the fixed lists above and the catalogue, never from a caller's text.
WORK_ORDER_PASS = """
SELECT {bucket} AS period_start, CAST({key} AS text) AS key, {whole} AS whole, {select}
  FROM kpi_work_orders f
 WHERE f.org_id = :org AND f.{day} >= :start_day AND f.{day} <= :end_day{where}
 GROUP BY {grouping}"""
ENGINEER_DAY_PASS = """
SELECT {bucket} AS period_start, CAST({key} AS text) AS key, {whole} AS whole, {select}
  FROM kpi_engineer_days d
 WHERE d.org_id = :org AND d.day >= :start_day AND d.day <= :end_day{where}
 GROUP BY {grouping}"""
NOW_PASS = """
SELECT CAST(NULL AS date) AS period_start, CAST({key} AS text) AS key, {select}
  FROM kpi_work_orders f JOIN tickets t ON t.id = f.ticket_id AND t.org_id = :org
 WHERE f.org_id = :org AND f.ended_at IS NULL AND f.cancelled_at IS NULL{where}
 GROUP BY 1, 2"""
BACKLOG_PASS = """
SELECT greatest(CAST(:first_bucket AS date), v.b) AS period_start, CAST({key} AS text) AS key,
       sum(v.delta) AS delta
  FROM kpi_work_orders f
 CROSS JOIN LATERAL (VALUES ({created}, 1),
                            (CASE WHEN f.ended_at < :end THEN {ended} END, -1)) AS v(b, delta)
 WHERE f.org_id = :org AND f.created_at < :end AND v.b IS NOT NULL{where}
 GROUP BY 1, 2"""
PARTS_PASS = """
SELECT {bucket} AS period_start, CAST({key} AS text) AS key, {whole} AS whole, {select}
  FROM stock_movements m
  LEFT JOIN kpi_work_orders f ON f.ticket_id = m.ticket_id AND f.org_id = :org
 WHERE m.org_id = :org AND m.kind IN ('consume', 'return')
   AND m.created_at >= :start AND m.created_at < :end{where}
 GROUP BY {grouping}"""


def grouping(query: KpiQuery, key: str) -> dict[str, str]:
    """Per period and group; with ``query.totals`` also per period over all groups (the
    rows whose ``whole`` is 1), in the same scan."""
    if query.totals and query.group_by:
        return {"whole": f"grouping({key})", "grouping": f"GROUPING SETS ((1, {key}), (1))"}
    return {"whole": "0", "grouping": f"1, {key}"}


# The stored local date of each anchor instant (the facts' ``_day`` columns): a view
# selects and groups by it rather than converting every instant to the local time zone.
ANCHOR_DAYS: dict[str, str] = {
    "created_at": "created_day",
    "resolved_at": "resolved_day",
    "surveyed_at": "surveyed_day",
}


def work_order_pass(anchor: Anchor, metrics: Sequence[Metric], query: KpiQuery) -> str:
    """One scan of the facts whose ``anchor`` falls on a local date in [:start_day,
    :end_day]."""
    key = group_sql(query.group_by)
    day = ANCHOR_DAYS[anchor]
    return WORK_ORDER_PASS.format(
        bucket=bucket_sql(f"f.{day}", query, local=True),
        key=key,
        select=_select(metrics),
        day=day,
        where=filter_sql(query.filters)[0],
        **grouping(query, key),
    )


def engineer_day_pass(metrics: Sequence[Metric], query: KpiQuery) -> str:
    """One scan of the engineers' days in [:start_day, :end_day] (dates, already local)."""
    key = group_sql(query.group_by, DAY_GROUPS)
    return ENGINEER_DAY_PASS.format(
        bucket=bucket_sql("d.day", query, local=True),
        key=key,
        select=_select(metrics),
        where=filter_sql(query.filters, DAY_FILTERS)[0],
        **grouping(query, key),
    )


def now_pass(metrics: Sequence[Metric], query: KpiQuery) -> str:
    """The work orders open now, with their tickets' SLA state."""
    return NOW_PASS.format(
        key=group_sql(query.group_by), select=_select(metrics), where=filter_sql(query.filters)[0]
    )


def backlog_pass(query: KpiQuery) -> str:
    """Work orders entering (+1, created) and leaving (-1, ended) the backlog, summed per
    period bucket (everything before the first bucket lands in it), so the backlog at each
    period's end is the running sum over the buckets (``server.reports.live``); one scan,
    two events per work order."""
    return BACKLOG_PASS.format(
        created=bucket_sql("f.created_at", query),
        ended=bucket_sql("f.ended_at", query),
        key=group_sql(query.group_by),
        where=filter_sql(query.filters)[0],
    )


def parts_pass(metrics: Sequence[Metric], query: KpiQuery) -> str:
    """Consume and return lines in the range, with the facts of their work order for the
    filters and groups (a line without a work order only counts ungrouped, unfiltered)."""
    key = group_sql(query.group_by)
    return PARTS_PASS.format(
        bucket=bucket_sql("m.created_at", query),
        key=key,
        select=_select(metrics),
        where=filter_sql(query.filters)[0],
        **grouping(query, key),
    )


def params(
    query: KpiQuery,
    *,
    org: Any,
    zone: str,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    first_bucket: dt.date,
) -> dict[str, Any]:
    """Every parameter a pass may use (each statement binds the ones it names)."""
    _, filter_params = filter_sql(query.filters)
    return {
        "org": org,
        "tz": zone,
        "start": start,
        "end": end,
        "now": now,
        "start_day": query.start,
        "split_day": query.split,
        "end_day": query.end,
        "first_bucket": first_bucket,
        "window": query.window_days,
        **filter_params,
    }


def bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters the statement names (text() is given exactly those)."""
    return {k: v for k, v in params.items() if re.search(rf":{k}\b", sql)}
