"""The work orders behind a number: the rows a metric counted in its numerator or its
denominator, for the same range, period, group and filters, in keyset pages ordered by the
work order number (cursor = the last row's number and id)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Unprocessable
from server.pagination import Page, cursor_int, cursor_uuid, decode_cursor, encode_cursor
from server.reports import passes
from server.reports.metrics import Metric
from server.reports.query import bounds, bucket_of, local_midnight, next_bucket
from server.reports.schemas import DrillItem, KpiQuery, Part
from server.tickets import format_number

COLUMNS = (
    "SELECT f.ticket_id, f.number, t.title, f.status, f.priority, f.type, f.created_at, "
    "f.resolved_at, f.engineer_id, e.display_name AS engineer "
    "FROM kpi_work_orders f JOIN tickets t ON t.id = f.ticket_id AND t.org_id = :org "
    "LEFT JOIN engineers e ON e.id = f.engineer_id AND e.org_id = :org "
    "WHERE f.org_id = :org"
)


def _when(metric: Metric) -> str:
    """Which instant of the work order puts it in the range: the local date of the metric's
    anchor, as the view counted it (``passes.ANCHOR_DAYS``)."""
    if metric.source == "work_orders":
        day = passes.ANCHOR_DAYS[metric.anchor]
        return f" AND f.{day} >= :first_day AND f.{day} < :after_day"
    if metric.source == "now":
        return " AND f.ended_at IS NULL AND f.cancelled_at IS NULL"
    # The backlog at the end: created before it, not ended by then.
    return " AND f.created_at < :end AND (f.ended_at IS NULL OR f.ended_at >= :end)"


def _range(
    query: KpiQuery, zone: str, period_start: dt.date | None
) -> tuple[dt.datetime, dt.datetime]:
    """The range, narrowed to the period that starts on ``period_start``."""
    start, end = bounds(query, zone)
    if period_start is None or query.period == "none":
        return start, end
    if bucket_of(period_start, query.period) != period_start:
        raise Unprocessable(
            f"`period_start` {period_start} does not start a {query.period}",
            field="period_start",
        )
    first = local_midnight(period_start, zone)
    after = local_midnight(next_bucket(period_start, query.period), zone)
    return max(start, first), min(end, after)


def _days(query: KpiQuery, period_start: dt.date | None) -> tuple[dt.date, dt.date]:
    """The same range as local dates: [first, after)."""
    first, after = query.start, query.end + dt.timedelta(days=1)
    if period_start is None or query.period == "none":
        return first, after
    return max(first, period_start), min(after, next_bucket(period_start, query.period))


async def drill(
    session: AsyncSession,
    org_id: uuid.UUID,
    query: KpiQuery,
    *,
    zone: str,
    now: dt.datetime,
    metric: Metric,
    part: Part,
    period_start: dt.date | None,
    key: str | None,
    cursor: str | None,
    limit: int,
) -> Page[DrillItem]:
    if metric.rows is None:
        raise Unprocessable(
            f"{metric.name} does not count work orders: nothing to list behind it",
            field="metric",
        )
    start, end = _range(query, zone, period_start)
    where, params = passes.filter_sql(query.filters)
    condition = metric.rows[0 if part == "numerator" else 1]
    sql = f"{COLUMNS}{_when(metric)} AND ({condition}){where}"
    if query.group_by is not None and key is not None:
        sql += f" AND CAST({passes.GROUP_COLUMNS[query.group_by]} AS text) = :key"
        params["key"] = key
    if cursor:
        number, last = decode_cursor(cursor, length=2)
        sql += " AND (f.number, f.ticket_id) > (:c_number, :c_id)"
        params |= {"c_number": cursor_int(number, low=0, high=2**31 - 1), "c_id": cursor_uuid(last)}
    sql += " ORDER BY f.number, f.ticket_id LIMIT :limit"
    first_day, after_day = _days(query, period_start)
    params |= {"org": org_id, "start": start, "end": end, "now": now, "window": query.window_days}
    params |= {"first_day": first_day, "after_day": after_day}
    params["limit"] = limit + 1
    rows = list(await session.execute(text(sql), passes.bind(sql, params)))
    items = [_item(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor([rows[limit - 1].number, str(rows[limit - 1].ticket_id)])
    return Page(items=items, next_cursor=next_cursor)


def _item(row: Any) -> DrillItem:
    return DrillItem(
        id=row.ticket_id,
        number=format_number(row.number),
        title=row.title,
        status=row.status,
        priority=row.priority,
        type=row.type,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        engineer_id=row.engineer_id,
        engineer=row.engineer,
    )
