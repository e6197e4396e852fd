"""The KPI roll-ups (docs/kpis.md, "Roll-ups"): the work order facts
summed per organisation, anchor, local date, engineer, team and territory, about one row
per engineer and day instead of one per work order, which the views read when their
filters and groups allow (``applies``).

The sums are the catalogue's own aggregates (``Metric.sql``) of every metric that adds up
(all but the medians), each computed over a group's facts; a view sums them again. Counts,
sums and their differences add, so the numbers are the facts' numbers; the rules stay in
the catalogue alone. The first-time fix and repeat rules depend on the window: the sums
are built with ``WINDOW`` days, and a view with another window reads the facts. A fifth
anchor, ``ended_at``, counts the work orders leaving the backlog (the backlog's trend).

Only the refresh writes them, in its transaction (``build``): the dates whose facts it
rewrote (their anchors' old and new dates), or everything when the catalogue's sums
changed (``DIGEST``, kept on the organisation's refresh mark). A view reads them only while
the mark says they hold this catalogue's sums; otherwise it reads the facts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.reports import passes
from server.reports.metrics import CATALOGUE, Metric
from server.reports.query import local_midnight
from server.reports.schemas import KpiQuery

# The local date column of each anchor on the facts; ``movement`` is the stock ledger's
# consume and return lines, by the local date they were recorded (the parts metrics).
ANCHORS: dict[str, str | None] = {
    "created_at": "created_day",
    "resolved_at": "resolved_day",
    "surveyed_at": "surveyed_day",
    "ended_at": "ended_day",
    "movement": None,
}
WINDOW = 30  # the default window_days (``KpiQuery``)
GROUPS = {"engineer": "r.engineer_id", "team": "r.team", "territory": "r.territory"}
FILTERS = {"engineer_id": "r.engineer_id", "team": "r.team", "territory": "r.territory"}
# Rebuilding one anchor wholly beats a date list this long.
MANY_DAYS = 90
Dirty = dict[str, set[dt.date]]


def adds_up(metric: Metric) -> bool:
    """Whether a roll-up can hold the metric: a work order or ledger metric whose
    aggregates add (the parts turnover values the stock, and has none)."""
    return (
        metric.source in ("work_orders", "parts") and metric.kind != "median" and bool(metric.sql)
    )


def _layout() -> dict[str, tuple[str, ...]]:
    """Per anchor, every additive aggregate of the catalogue once, in catalogue order."""
    out: dict[str, list[str]] = {anchor: [] for anchor in ANCHORS}
    for metric in CATALOGUE.values():
        if adds_up(metric):
            out[metric.anchor] += [a for a in metric.sql if a not in out[metric.anchor]]
    out["ended_at"] = ["count(*)"]
    return {anchor: tuple(aggregates) for anchor, aggregates in out.items()}


LAYOUT = _layout()
DIGEST = hashlib.sha1(
    repr((sorted(LAYOUT.items()), WINDOW)).encode(), usedforsecurity=False
).hexdigest()[:16]


def uses_window(metric: Metric) -> bool:
    return any(":window" in aggregate for aggregate in metric.sql)


def applies(query: KpiQuery, metrics: Sequence[Metric]) -> bool:
    """Whether the roll-ups answer ``metrics`` for ``query``: grouped and filtered only by
    what a roll-up keeps (engineer, team, territory), with the window they were built
    with when a metric depends on it."""
    return (
        (query.group_by is None or query.group_by in GROUPS)
        and passes.set_filters(query) <= set(FILTERS)
        and (query.window_days == WINDOW or not any(uses_window(m) for m in metrics))
    )


def answers(query: KpiQuery, metric: Metric) -> bool:
    """Whether the roll-ups hold ``metric`` as ``query`` asks for it."""
    return adds_up(metric) and applies(query, (metric,))


async def ready(session: AsyncSession, org_id: uuid.UUID, zone: str) -> bool:
    """Whether the organisation's roll-ups hold this catalogue's sums, dated in its time
    zone ``zone`` (after a change of zone, until the refresh has built them again, the
    views read the facts)."""
    mark = (
        await session.execute(
            text("SELECT rollup_layout, zone FROM kpi_refresh_marks WHERE org_id = :org"),
            {"org": org_id},
        )
    ).first()
    return mark is not None and mark.rollup_layout == DIGEST and mark.zone == zone


# --- reading -----------------------------------------------------------------------------------

PASS = """
SELECT {bucket} AS period_start, CAST({key} AS text) AS key, {whole} AS whole, {select}
  FROM kpi_rollups r
 WHERE r.org_id = :org AND r.anchor = :anchor AND r.day >= :start_day AND r.day <= :end_day{where}
 GROUP BY {grouping}"""
BACKLOG_PASS = """
SELECT greatest(CAST(:first_bucket AS date), {bucket}) AS period_start,
       CAST({key} AS text) AS key,
       sum(CASE WHEN r.anchor = 'created_at' THEN r.measures[{entered}]
                ELSE -r.measures[{left}] END) AS delta
  FROM kpi_rollups r
 WHERE r.org_id = :org AND r.anchor IN ('created_at', 'ended_at') AND r.day <= :end_day{where}
 GROUP BY 1, 2"""


def _position(anchor: str, aggregate: str) -> int:
    """The aggregate's place in a roll-up's ``measures`` (SQL arrays count from 1)."""
    return LAYOUT[anchor].index(aggregate) + 1


def work_order_pass(anchor: str, metrics: Sequence[Metric], query: KpiQuery) -> str:
    """The roll-ups' statement for ``metrics`` of ``anchor`` (``passes.work_order_pass``'s
    rows, from the sums): binds ``:anchor``."""
    key = passes.group_sql(query.group_by, GROUPS)
    select = ", ".join(
        f"sum(r.measures[{_position(anchor, aggregate)}]) AS m{i}_{j}"
        for i, metric in enumerate(metrics)
        for j, aggregate in enumerate(metric.sql)
    )
    return PASS.format(
        bucket=passes.bucket_sql("r.day", query, local=True),
        key=key,
        select=select,
        where=passes.filter_sql(query.filters, FILTERS)[0],
        **passes.grouping(query, key),
    )


def backlog_pass(query: KpiQuery) -> str:
    """``passes.backlog_pass`` from the sums: work orders created less those ended, per
    period bucket (everything before the first bucket lands in it)."""
    return BACKLOG_PASS.format(
        bucket=passes.bucket_sql("r.day", query, local=True),
        key=passes.group_sql(query.group_by, GROUPS),
        entered=_position("created_at", "count(*)"),
        left=_position("ended_at", "count(*)"),
        where=passes.filter_sql(query.filters, FILTERS)[0],
    )


# --- writing (the refresh) ---------------------------------------------------------------------

BUILD = """
INSERT INTO kpi_rollups (org_id, anchor, day, engineer_id, team, territory, measures)
SELECT f.org_id, CAST(:anchor AS text), f.{day}, f.engineer_id, f.team, f.territory,
       ARRAY[{measures}]::numeric[]
  FROM kpi_work_orders f
 WHERE f.org_id = :org AND f.{day} IS NOT NULL{days}
 GROUP BY f.org_id, f.{day}, f.engineer_id, f.team, f.territory"""
# The ledger's lines with the facts of their work order (engineer, team, territory; a line
# without one is in the roll-up without them, as in ``passes.parts_pass``).
LOCAL_DAY = "CAST(m.created_at AT TIME ZONE :tz AS date)"
BUILD_MOVEMENTS = f"""
INSERT INTO kpi_rollups (org_id, anchor, day, engineer_id, team, territory, measures)
SELECT m.org_id, CAST(:anchor AS text), {LOCAL_DAY}, f.engineer_id, f.team, f.territory,
       ARRAY[{{measures}}]::numeric[]
  FROM stock_movements m
  LEFT JOIN kpi_work_orders f ON f.ticket_id = m.ticket_id AND f.org_id = :org
 WHERE m.org_id = :org AND m.kind IN ('consume', 'return'){{days}}
 GROUP BY m.org_id, {LOCAL_DAY}, f.engineer_id, f.team, f.territory"""  # noqa: S608
MOVEMENT_DAYS = (
    f" AND m.created_at >= :since AND m.created_at < :until AND {LOCAL_DAY} = ANY(:days)"
)
FORGET = "DELETE FROM kpi_rollups WHERE org_id = :org AND anchor = :anchor{days}"


def dirty() -> Dirty:
    return {anchor: set() for anchor in ANCHORS}


def touch(found: Dirty, rows: Iterable[Mapping[str, Any]]) -> None:
    """Add the anchors' dates of fact rows (old or new) to ``found``."""
    for row in rows:
        for anchor, column in ANCHORS.items():
            if column is not None and (day := row[column]) is not None:
                found[anchor].add(day)


async def build(session: AsyncSession, org_id: uuid.UUID, days: Dirty | None, zone: str) -> None:
    """Sum the facts (and the ledger's lines) again for the dates in ``days`` of each
    anchor (all of them: None); ``zone``: the organisation's, the facts' dates'."""
    for anchor, column in ANCHORS.items():
        wanted = None if days is None else sorted(days[anchor])
        if wanted is not None and not wanted:
            continue
        if wanted is not None and len(wanted) > MANY_DAYS:
            wanted = None
        params: dict[str, Any] = {"org": org_id, "anchor": anchor, "window": WINDOW, "tz": zone}
        if wanted is not None:
            params |= {
                "days": wanted,
                "since": local_midnight(wanted[0], zone),
                "until": local_midnight(wanted[-1] + dt.timedelta(days=1), zone),
            }
        forget = FORGET.format(days=" AND day = ANY(:days)" if wanted is not None else "")
        await session.execute(text(forget), passes.bind(forget, params))
        sql = _build_sql(anchor, column, selected=wanted is not None)
        await session.execute(text(sql), passes.bind(sql, params))


def _build_sql(anchor: str, column: str | None, *, selected: bool) -> str:
    measures = ", ".join(LAYOUT[anchor])
    if column is None:
        return BUILD_MOVEMENTS.format(measures=measures, days=MOVEMENT_DAYS if selected else "")
    days = f" AND f.{column} = ANY(:days)" if selected else ""
    return BUILD.format(day=column, measures=measures, days=days)
