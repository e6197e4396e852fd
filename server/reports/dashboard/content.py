"""What each dashboard page shows: the KPI service's answers for the reader's selection,
shaped for its template (``views``) with their charts (``svg``).

Every read goes through ``server.reports.service`` with the reader as the actor, so the
API's rules hold here too (an engineer's numbers are their own; a filter naming another
organisation's engineer or customer finds nothing: 404 here, as a drill-down of it would).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.customers import service as customers
from server.engineers import service as engineers_service
from server.errors import NotFound
from server.languages import Language
from server.reports import service
from server.reports.dashboard import selection as selecting
from server.reports.dashboard import svg, views
from server.reports.dashboard.selection import Selection
from server.reports.dashboard.views import Words
from server.reports.metrics import CATALOGUE
from server.reports.schemas import BacklogGroup, Filters, GroupBy, KpiQuery, Part

# The overview's charts: a metric per period, and a metric by a group.
SERIES = ("work_orders", "resolution_sla", "first_time_fix", "csat")
BREAKDOWNS: tuple[tuple[str, GroupBy], ...] = (
    ("work_orders", "territory"),
    ("work_orders", "priority"),
    ("resolution_sla", "team"),
    ("repeat_rate", "product_model"),
)
BACKLOG_GROUPS: tuple[GroupBy, ...] = ("territory", "priority", "team", "engineer")
DRILL_PAGE = 50
ENGINEER_OPTIONS = 1000


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def selection_for(actor: Actor, query: Mapping[str, str], today: dt.date) -> Selection:
    """The page's selection; an engineer's is their own work, whatever the address says."""
    selection = selecting.read(query, today)
    if actor.is_engineer:
        return selecting.with_engineer(selection, actor.engineer_id)
    return selection


def kpi_query(
    selection: Selection,
    *,
    metrics: tuple[str, ...] = (),
    group_by: GroupBy | None = None,
    period: str | None = None,
) -> KpiQuery:
    f = selection.filters
    filters = Filters(
        engineer_id=selection.uuid("engineer_id"),
        team=f.get("team"),
        territory=f.get("territory"),
        customer_id=selection.uuid("customer_id"),
        product_model=f.get("product_model"),
        priority=f.get("priority"),
        channel=f.get("channel"),
        type=f.get("type"),
        fault_code=f.get("fault_code"),
    )
    return KpiQuery(
        start=selection.start,
        end=selection.end,
        period=period or selection.period,  # type: ignore[arg-type]
        group_by=group_by,
        filters=filters,
        metrics=metrics,
    )


async def filter_form(
    session: AsyncSession, actor: Actor, selection: Selection, t: Words
) -> dict[str, Any]:
    """The filter bar's choices; the engineer and customer named by the selection, which
    must be the organisation's (NotFound otherwise)."""
    people: list[tuple[str, str]] = []
    if not actor.is_engineer:
        listed = await engineers_service.list_engineers(
            session,
            actor,
            active=None,
            skill=None,
            territory=None,
            limit=ENGINEER_OPTIONS,
            cursor=None,
        )
        people = [(str(e.id), e.display_name) for e in listed.items]
    chosen = selection.uuid("engineer_id")
    if chosen is not None and not any(key == str(chosen) for key, _ in people):
        engineer = await engineers_service.get(session, actor, engineer_id=chosen)
        people.append((str(engineer.id), engineer.display_name))
    customer = None
    if (customer_id := selection.uuid("customer_id")) is not None:
        customer = (await customers.get_customer(session, actor, customer_id=customer_id)).name
    return {
        "presets": [(p, t(f"dash.filter.preset.{p}")) for p in selecting.PRESETS],
        "groupings": [(g, t(f"dash.filter.period.{g}")) for g in selecting.GROUPINGS],
        "engineers": people,
        "customer": customer,
        "priorities": [(p, p) for p in selecting.CHOICES["priority"]],
        "channels": views.words(t, "dash.channel", selecting.CHOICES["channel"]),
        "types": views.words(t, "dash.type", selecting.CHOICES["type"]),
        "invalid": ", ".join(selection.invalid),
    }


def label_of(metric: str, lang: Language) -> str:
    return CATALOGUE[metric].label(lang)


def chart_of(points: list[svg.Point], unit: str, title: str, t: Words, kind: str) -> dict[str, Any]:
    def fmt(value: float) -> str:
        return views.number(value, unit, t)

    empty = t("dash.no_data")
    drawn = (
        svg.line_chart(points, title=title, empty=empty, fmt=fmt)
        if kind == "line"
        else svg.bar_chart(points, title=title, empty=empty, fmt=fmt)
    )
    return {"title": title, "svg": drawn, "rows": views.table(points, unit, t)}


async def overview(
    session: AsyncSession, actor: Actor, selection: Selection, t: Words, lang: Language
) -> dict[str, Any]:
    heads = await service.headlines(
        session, actor, kpi_query(selection, metrics=views.HEADLINES), lang=lang
    )
    cards = [views.card(h, selection, t) for h in heads]
    result = await service.compute(session, actor, kpi_query(selection, metrics=SERIES))
    period_word = t(f"dash.per.{selection.period}")
    charts = []
    for metric in SERIES:
        title = t("dash.chart.per_period", metric=label_of(metric, lang), period=period_word)
        points = views.series(result, metric, selection)
        charts.append(chart_of(points, CATALOGUE[metric].unit, title, t, "line"))
    breakdowns = []
    for metric, group in BREAKDOWNS:
        grouped = await service.compute(
            session, actor, kpi_query(selection, metrics=(metric,), group_by=group, period="none")
        )
        title = t("dash.chart.by", metric=label_of(metric, lang), group=t(f"dash.by.{group}"))
        points = views.breakdown(grouped, metric, selection, t)
        breakdowns.append(chart_of(points, CATALOGUE[metric].unit, title, t, "bars"))
    return {"cards": cards, "charts": charts, "breakdowns": breakdowns}


async def engineers(
    session: AsyncSession,
    actor: Actor,
    selection: Selection,
    t: Words,
    lang: Language,
    *,
    sort: str,
) -> dict[str, Any]:
    """The scorecards as a table: one row per engineer, a column per metric, the
    organisation's values as the first row; ``sort``: a metric (``-metric`` ascending)."""
    cards = await service.scorecards(session, actor, kpi_query(selection), lang=lang)
    metrics = [m for m in cards.metrics if m in CATALOGUE]
    key = sort.removeprefix("-")
    ascending = sort.startswith("-")
    rows: list[dict[str, Any]] = []
    for card in cards.engineers:
        cells = []
        for line in card.lines:
            href = views.drill_href(
                selection,
                line.metric,
                part=views.part_for(line.metric),
                engineer_id=str(card.engineer_id),
            )
            cells.append((views.number(line.value.value, line.unit, t), href, line.metric))
        values = {line.metric: line.value.value for line in card.lines}
        rows.append({"card": card, "cells": cells, "values": values})
    if key in metrics:
        present = [r for r in rows if r["values"].get(key) is not None]
        absent = [r for r in rows if r["values"].get(key) is None]
        present.sort(key=lambda r: r["values"][key], reverse=not ascending)
        rows = present + absent  # an engineer without the number goes last either way
    columns = [
        {
            "metric": m,
            "label": label_of(m, lang),
            "href": selection.href(
                "/dashboard/engineers", sort=(m if key != m or ascending else f"-{m}")
            ),
            "sorted": "desc" if key == m and not ascending else "asc" if key == m else "",
        }
        for m in metrics
    ]
    organisation = [
        views.number(cards.organisation[m].value, CATALOGUE[m].unit, t) for m in metrics
    ]
    return {
        "columns": columns,
        "rows": rows,
        "organisation": organisation,
        "sort": sort,
        "keep_fields": [("sort", sort)] if sort else [],
    }


async def faults(
    session: AsyncSession, actor: Actor, selection: Selection, t: Words, lang: Language
) -> dict[str, Any]:
    report = await service.faults(session, actor, kpi_query(selection, period="month"))
    models = []
    for model in report.models:
        name = model.product_model or t("dash.group.none")
        rows = []
        for fault in model.faults:
            code = fault.fault_code or t("dash.group.none")
            counts = [float(p.count) for p in fault.trend]
            title = f"{name} · {code}"
            rows.append(
                {
                    "code": code,
                    "count": f"{fault.count:,}",
                    "share": views.number(fault.share, "percent", t),
                    "spark": svg.sparkline(counts, title=title),
                    "trend": ", ".join(f"{p.month:%Y-%m}: {p.count}" for p in fault.trend),
                    # The repairs counted: this model's, with this fault code.
                    "href": views.drill_href(
                        selection,
                        "work_orders",
                        type="repair",
                        product_model=model.product_model,
                        fault_code=fault.fault_code,
                    )
                    if model.product_model and fault.fault_code
                    else None,
                }
            )
        models.append({"name": name, "model": model, "rows": rows})
    return {"models": models}


def _backlog_figures(
    total: BacklogGroup, selection: Selection, t: Words
) -> list[tuple[str, str, str, str | None]]:
    """The backlog's figures: (metric, name, value, drill-down)."""

    def days(value: float | None) -> str:
        return views.number(value, "days", t)

    figures = [
        (
            "backlog",
            t("dash.backlog.open"),
            f"{total.open:,}",
            views.drill_href(selection, "backlog"),
        ),
        ("backlog_age_days", t("dash.backlog.age_mean"), days(total.age_days_mean), None),
        ("backlog_age_days", t("dash.backlog.age_median"), days(total.age_days_median), None),
        ("backlog_age_days", t("dash.backlog.age_p90"), days(total.age_days_p90), None),
        (
            "sla_breached_now",
            t("dash.backlog.breached"),
            f"{total.sla_breached:,}",
            views.drill_href(selection, "sla_breached_now"),
        ),
        (
            "sla_at_risk_now",
            t("dash.backlog.at_risk"),
            f"{total.sla_at_risk:,}",
            views.drill_href(selection, "sla_at_risk_now"),
        ),
    ]
    return figures


async def backlog(
    session: AsyncSession,
    actor: Actor,
    selection: Selection,
    t: Words,
    lang: Language,
    *,
    group: str = "",
) -> dict[str, Any]:
    by: GroupBy = group if group in BACKLOG_GROUPS else "territory"
    if actor.is_engineer and by == "engineer":
        by = "territory"
    report = await service.backlog(session, actor, kpi_query(selection, group_by=by))
    figures = _backlog_figures(report.total, selection, t)
    period_word = t(f"dash.per.{selection.period}")
    trend = [
        svg.Point(views.period_label(p.period_start, selection.period), p.open)
        for p in report.trend
    ]
    group_word = t(f"dash.by.{by}")
    filter_name = {"engineer": "engineer_id"}.get(by, by)
    sizes, ages = [], []
    for g in report.groups:
        name = g.label or g.key or t("dash.group.none")
        href = views.drill_href(selection, "backlog", **{filter_name: g.key}) if g.key else None
        sizes.append(svg.Point(name, g.open, href))
        ages.append(svg.Point(name, g.age_days_p90, href))
    return {
        "figures": figures,
        "trend": chart_of(trend, "count", t("dash.backlog.trend", period=period_word), t, "line"),
        "sizes": chart_of(sizes, "count", t("dash.backlog.by", group=group_word), t, "bars"),
        "ages": chart_of(ages, "days", t("dash.backlog.age_by", group=group_word), t, "bars"),
        "groups": [
            (g, t(f"dash.filter.{g}"))
            for g in BACKLOG_GROUPS
            if not (actor.is_engineer and g == "engineer")
        ],
        "group": by,
        "keep_fields": [("group", by)],
    }


async def drill(
    session: AsyncSession,
    actor: Actor,
    selection: Selection,
    t: Words,
    lang: Language,
    *,
    metric: str,
    part: str | None,
    cursor: str | None,
) -> dict[str, Any]:
    """The work orders behind a number, a page at a time (NotFound: no such metric)."""
    if metric not in CATALOGUE or metric in views.NOT_DRILLABLE:
        raise NotFound(f"no metric {metric[:60]!r}")
    chosen: Part = part if part in ("numerator", "denominator") else views.part_for(metric)  # type: ignore[assignment]
    kind = CATALOGUE[metric].kind
    found = await service.drill(
        session,
        actor,
        kpi_query(selection),
        metric=metric,
        part=chosen,
        cursor=cursor[:500] if cursor else None,
        limit=DRILL_PAGE,
    )
    parts = []
    if kind in ("rate", "score"):
        parts = [
            (p, t(f"dash.drill.part.{p}"), views.drill_href(selection, metric, part=p))
            for p in ("numerator", "denominator")
        ]
    return {
        "metric": metric,
        "keep_fields": [("metric", metric), ("part", chosen)],
        "label": label_of(metric, lang),
        "part": chosen,
        "parts": parts,
        "items": found.items,
        "status_word": lambda s: views.status_word(s, t),
        "type_word": lambda s: views.type_word(s, t),
        "next": selection.href(
            "/dashboard/work-orders", metric=metric, part=chosen, cursor=found.next_cursor
        )
        if found.next_cursor
        else None,
    }
