"""A KPI query as the caller sent it, checked (422 naming the parameter and what to send),
and the instants its local dates stand for in the organisation's time zone."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from zoneinfo import ZoneInfo

from server.auth import Actor
from server.errors import Forbidden, Unprocessable
from server.reports.metrics import CATALOGUE
from server.reports.schemas import Filters, GroupBy, KpiQuery, Period

MAX_DAYS = 3 * 365 + 1  # three years, one of them a leap year
MAX_METRICS = len(CATALOGUE)
DEFAULT_DAYS = 30


def parse(
    *,
    start: dt.date | None,
    end: dt.date | None,
    today: dt.date,
    period: Period = "month",
    group_by: GroupBy | None = None,
    filters: Filters | None = None,
    window_days: int = 30,
    metrics: str | None = None,
) -> KpiQuery:
    """The query for ``[start, end]`` (local dates, ``end`` inclusive; default the 30 days
    up to ``today``, the organisation's date)."""
    end = end or (today if start is None else min(today, start + dt.timedelta(DEFAULT_DAYS - 1)))
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise Unprocessable(
            f"`to` ({end}) is before `from` ({start}): send a `to` on or after `from`",
            field="to",
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise Unprocessable(
            f"the range from {start} to {end} is longer than three years: ask for at most "
            f"{MAX_DAYS} days at a time",
            field="to",
        )
    if not 1 <= window_days <= 365:
        raise Unprocessable("`window_days` must be between 1 and 365", field="window_days")
    return KpiQuery(
        start=start,
        end=end,
        period=period,
        group_by=group_by,
        filters=filters or Filters(),
        window_days=window_days,
        metrics=metric_names(metrics),
    )


def metric_names(text: str | None) -> tuple[str, ...]:
    """``a,b,c`` as catalogue names, each once, in the order given (empty: all)."""
    if not text or not text.strip():
        return ()
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        shown = ", ".join(repr(n[:60]) for n in unknown[:5])
        raise Unprocessable(
            f"unknown metric {shown}: see GET /api/v1/kpis/metrics for the names",
            field="metrics",
            unknown=[n[:60] for n in unknown[:20]],
        )
    return tuple(names)


def metric_name(name: str) -> str:
    if name not in CATALOGUE:
        raise Unprocessable(
            f"unknown metric {name[:60]!r}: see GET /api/v1/kpis/metrics for the names",
            field="metric",
        )
    return name


def scoped(actor: Actor, query: KpiQuery) -> KpiQuery:
    """The query as the caller may run it: an engineer's engineer filter is themselves,
    whatever they asked (an engineer user without an engineer profile: 403)."""
    if not actor.is_engineer:
        return query
    return replace(query, filters=replace(query.filters, engineer_id=own_engineer(actor)))


def own_engineer(actor: Actor) -> uuid.UUID:
    if actor.engineer_id is None:
        raise Forbidden("your user has no engineer profile: ask an admin to link one")
    return actor.engineer_id


def bounds(query: KpiQuery, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The instants of the range: local midnight of ``start`` to local midnight after
    ``end`` (a DST change moves them, never the dates)."""
    return local_midnight(query.start, zone), local_midnight(query.end + dt.timedelta(days=1), zone)


def local_midnight(day: dt.date, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), ZoneInfo(zone)).astimezone(dt.UTC)


def previous(query: KpiQuery) -> KpiQuery:
    """The range of the same length that ends the day before ``query`` starts."""
    days = (query.end - query.start).days + 1
    end = query.start - dt.timedelta(days=1)
    return replace(query, start=end - dt.timedelta(days=days - 1), end=end)


def buckets(query: KpiQuery) -> list[dt.date]:
    """The first day of every period of the range (weeks start on Monday)."""
    if query.period == "none":
        return [query.start] if query.split is None else [query.start, query.split]
    first = bucket_of(query.start, query.period)
    out = []
    day = first
    while day <= query.end:
        out.append(day)
        day = next_bucket(day, query.period)
    return out


def bucket_of(day: dt.date, period: Period) -> dt.date:
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_bucket(day: dt.date, period: Period) -> dt.date:
    if period == "week":
        return day + dt.timedelta(days=7)
    if period == "month":
        return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return day + dt.timedelta(days=1)
