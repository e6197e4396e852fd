"""The pages of the numbers the overview only sums up: "Quality and times" (every time,
rate, survey score and cost per period, with the means beside their medians) and "Parts"
(consumption and turnover from the stock ledger).

Each number of their tables links to the work orders behind it, like the overview's.
``PAGE_METRICS`` names the metrics each page shows: together the pages show the whole
catalogue (a test checks it against what they render, so a new metric is not forgotten).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.errors import Forbidden
from server.languages import Language
from server.reports import service
from server.reports.dashboard import svg, views
from server.reports.dashboard.content import SERIES, chart_of, kpi_query, label_of
from server.reports.dashboard.selection import Selection
from server.reports.dashboard.views import Words
from server.reports.metrics import CATALOGUE
from server.reports.schemas import GroupBy, PartsRow

# The quality page's tables: a heading's key and its columns (metric names).
QUALITY: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "times",
        (
            "work_orders",
            "resolved",
            "first_response_hours",
            "first_response_hours_median",
            "schedule_hours",
            "schedule_hours_median",
            "arrive_hours",
            "arrive_hours_median",
            "resolve_hours",
            "resolve_hours_median",
            "resolve_net_hours",
            "resolve_net_hours_median",
        ),
    ),
    (
        "service",
        (
            "response_sla",
            "resolution_sla",
            "first_contact_resolution",
            "first_time_fix",
            "repeat_rate",
            "complaints",
            "complaint_rate",
        ),
    ),
    ("customers", ("responses", "csat", "csat_satisfied", "nps", "ces")),
    (
        "cost",
        (
            "labour_cost_per_wo",
            "parts_cost_per_wo",
            "work_hours_per_wo",
            "travel_share",
            "utilisation",
        ),
    ),
)
# Each time as a mean beside its median (a few very long work orders pull the mean up).
TIMES = (
    ("first_response_hours", "first_response_hours_median"),
    ("schedule_hours", "schedule_hours_median"),
    ("arrive_hours", "arrive_hours_median"),
    ("resolve_hours", "resolve_hours_median"),
    ("resolve_net_hours", "resolve_net_hours_median"),
)
SLAS = ("response_sla", "resolution_sla")
PARTS = ("parts_consumed_qty", "parts_consumed_cost", "parts_turnover")
PARTS_GROUPS: tuple[GroupBy, ...] = ("product_model", "territory", "team", "engineer", "customer")
# What every page shows (the overview: its headline cards and charts; the engineers: the
# scorecard's columns; the backlog: its figures).
PAGE_METRICS: dict[str, tuple[str, ...]] = {
    "/dashboard": (*views.HEADLINES, *SERIES),
    "/dashboard/quality": tuple(m for _, metrics in QUALITY for m in metrics),
    "/dashboard/engineers": service.SCORECARD,
    "/dashboard/backlog": ("backlog", "backlog_age_days", "sla_breached_now", "sla_at_risk_now"),
    "/dashboard/parts": PARTS,
}


def _lines(
    result: Any, metrics: tuple[str, ...], selection: Selection, lang: Language
) -> list[svg.Series]:
    return [svg.Series(label_of(m, lang), views.series(result, m, selection)) for m in metrics]


def _lines_chart(series: list[svg.Series], unit: str, title: str, t: Words) -> dict[str, Any]:
    """A chart of several lines, and its numbers as a table (a column per line)."""

    def fmt(value: float) -> str:
        return views.number(value, unit, t)

    drawn = svg.lines_chart(series, title=title, empty=t("dash.no_data"), fmt=fmt)
    rows = [
        (point.label, [views.number(s.points[i].value, unit, t) for s in series])
        for i, point in enumerate(series[0].points)
    ]
    return {"title": title, "svg": drawn, "names": [s.name for s in series], "rows": rows}


async def quality(
    session: AsyncSession, actor: Actor, selection: Selection, t: Words, lang: Language
) -> dict[str, Any]:
    """The quality page: a table per theme (a row per period and one for the whole
    range), each time's mean against its median, and the two SLAs against each other."""
    every = tuple(m for _, metrics in QUALITY for m in metrics)
    result = await service.compute(session, actor, kpi_query(selection, metrics=every))
    totals = await service.compute(
        session, actor, kpi_query(selection, metrics=every, period="none")
    )
    tables = [
        {
            "key": key,
            "title": t(f"dash.quality.{key}"),
            "columns": [(m, label_of(m, lang)) for m in metrics],
            "rows": views.period_table(result, totals, metrics, selection, t),
        }
        for key, metrics in QUALITY
    ]
    period_word = t(f"dash.per.{selection.period}")
    charts = [
        _lines_chart(
            _lines(result, pair, selection, lang),
            "hours",
            t("dash.quality.mean_median", metric=label_of(pair[0], lang), period=period_word),
            t,
        )
        for pair in TIMES
    ]
    charts.append(
        _lines_chart(
            _lines(result, SLAS, selection, lang),
            "percent",
            t("dash.quality.slas", period=period_word),
            t,
        )
    )
    return {"tables": tables, "charts": charts}


async def parts(
    session: AsyncSession,
    actor: Actor,
    selection: Selection,
    t: Words,
    lang: Language,
    *,
    group: str = "",
) -> dict[str, Any]:
    """The parts page: consumption (quantity, cost) and turnover per period, the whole
    range's figures, and the cost by a group. The stock ledger is read as the API's parts
    report is: with ``parts:read`` besides ``kpis:read`` (403 otherwise)."""
    if not actor.can("parts:read"):
        raise Forbidden("reading the parts' consumption needs the scope parts:read")
    by: GroupBy = group if group in PARTS_GROUPS else "product_model"
    if actor.is_engineer and by == "engineer":
        by = "product_model"
    query = kpi_query(selection)
    report = await service.parts(session, actor, query)
    whole = await service.parts(session, actor, replace(query, period="none"))
    grouped = await service.parts(session, actor, replace(query, period="none", group_by=by))
    total = whole.rows[0] if whole.rows else None
    figures = [
        (m, label_of(m, lang), views.number(value, CATALOGUE[m].unit, t))
        for m, value in (
            ("parts_consumed_qty", total.consumed_qty if total else None),
            ("parts_consumed_cost", total.consumed_cost if total else None),
            ("parts_turnover", total.turnover if total else None),
        )
    ]
    periods = [
        (views.period_label(r.period_start, report.period), r)
        for r in sorted(report.rows, key=lambda r: r.period_start or dt.date.min)
        if r.period_start is not None and r.key is None
    ]
    rows = [(name, [views.number(v, u, t) for v, u in _parts_values(r)]) for name, r in periods]
    charts = _parts_charts(periods, grouped.rows, by, t, lang, selection.period)
    return {
        "figures": figures,
        "rows": rows,
        "columns": [(m, label_of(m, lang)) for m in PARTS],
        "charts": charts,
        "groups": [
            (g, t(f"dash.filter.{g}"))
            for g in PARTS_GROUPS
            if not (actor.is_engineer and g == "engineer")
        ],
        "group": by,
        "keep_fields": [("group", by)],
    }


def _parts_charts(
    periods: list[tuple[str, PartsRow]],
    grouped: list[PartsRow],
    by: GroupBy,
    t: Words,
    lang: Language,
    period: str,
) -> list[dict[str, Any]]:
    """Cost and quantity per period; the cost by the chosen group (largest first)."""
    per = t(f"dash.per.{period}")
    cost, qty = label_of("parts_consumed_cost", lang), label_of("parts_consumed_qty", lang)
    bars = [
        svg.Point(r.label or r.key or t("dash.group.none"), r.consumed_cost)
        for r in sorted(grouped, key=lambda r: -r.consumed_cost)[:12]
    ]
    charts = [
        chart_of(
            [svg.Point(name, r.consumed_cost) for name, r in periods],
            "money",
            t("dash.chart.per_period", metric=cost, period=per),
            t,
            "line",
        ),
        chart_of(
            [svg.Point(name, r.consumed_qty) for name, r in periods],
            "quantity",
            t("dash.chart.per_period", metric=qty, period=per),
            t,
            "line",
        ),
        chart_of(
            bars, "money", t("dash.chart.by", metric=cost, group=t(f"dash.by.{by}")), t, "bars"
        ),
    ]
    return charts


def _parts_values(row: PartsRow) -> list[tuple[float | None, str]]:
    return [
        (row.consumed_qty, "quantity"),
        (row.consumed_cost, "money"),
        (row.turnover, "ratio"),
    ]
