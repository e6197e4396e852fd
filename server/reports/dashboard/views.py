"""From the KPI service's answers to what a dashboard page prints: numbers in the reader's
language and unit, the trend of a headline, the points of a chart with their drill-down
links. Pure functions (the router reads, these shape), so each rule is tested alone.

A missing number (a rate over nothing, a mean of no values) prints as a dash, never as 0,
and draws no point: the service gives None for it (docs/kpis.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from server.reports.dashboard.selection import Selection
from server.reports.dashboard.svg import Point
from server.reports.metrics import CATALOGUE
from server.reports.schemas import Headline, KpiResult, KpiRow, Value

Words = Callable[..., str]  # the page's translator: t(key, **values)

DASH = "–"
DRILL = "/dashboard/work-orders"
# The headline cards of the overview, in order (the metric names of the catalogue).
HEADLINES = (
    "work_orders",
    "first_response_hours",
    "resolve_hours",
    "resolution_sla",
    "first_time_fix",
    "repeat_rate",
    "csat",
    "nps",
    "utilisation",
    "backlog",
)
# Where a rise is bad news (the arrow turns red); the rest: a rise is good, or neither
# (work orders, CES, whose scale's direction the survey decides).
LOWER_IS_BETTER = frozenset(
    {
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
        "repeat_rate",
        "complaint_rate",
        "backlog",
        "backlog_age_days",
        "sla_breached_now",
        "sla_at_risk_now",
        "labour_cost_per_wo",
        "parts_cost_per_wo",
        "travel_share",
    }
)
NEUTRAL = frozenset({"work_orders", "resolved", "responses", "ces"})
# The metrics that cannot be drilled into (not made of work orders: no rows to list).
NOT_DRILLABLE = frozenset(name for name, metric in CATALOGUE.items() if metric.rows is None)


def number(value: float | None, unit: str, t: Words) -> str:
    """One value as a reader reads it: ``1,204``, ``87.5%``, ``3.2 h`` (``3.2 小时``)."""
    if value is None:
        return DASH
    if unit in ("count", "quantity"):
        return f"{value:,.0f}"
    if unit == "percent":
        return t("dash.unit.percent", value=f"{value:.1f}")
    if unit == "hours":
        return t("dash.unit.hours", value=f"{value:,.1f}")
    if unit == "days":
        return t("dash.unit.days", value=f"{value:,.1f}")
    if unit == "money":
        return f"{value:,.2f}"
    if unit == "ratio":
        return f"{value:,.2f}"
    return f"{value:,.1f}"


def signed(change: float, unit: str, t: Words) -> str:
    """A change with its sign; a percentage's change is in points (87% to 90%: +3 pts)."""
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    size = abs(change) if change else 0.0
    if unit == "percent":
        return sign + t("dash.unit.points", value=f"{size:.1f}")
    return sign + number(size, unit, t)


@dataclass(frozen=True)
class Card:
    metric: str
    label: str
    value: str
    change: str
    arrow: str  # ▲ ▼ ▶ or empty
    direction: str  # up, down, flat, none (for the words read aloud)
    tone: str  # good, bad, neutral
    previous: str
    href: str | None


def tone(metric: str, change: float | None) -> str:
    if change is None or change == 0 or metric in NEUTRAL:
        return "neutral"
    worse = change > 0 if metric in LOWER_IS_BETTER else change < 0
    return "bad" if worse else "good"


def shown_change(change: float | None, unit: str) -> float | None:
    """The change as the card prints it: one that rounds to nothing at the card's
    precision (whole counts, tenths otherwise) is no change, neither arrow nor colour."""
    if change is None:
        return None
    places = 0 if unit in ("count", "quantity") else 1
    return 0.0 if round(abs(change), places) == 0 else change


def card(headline: Headline, selection: Selection, t: Words) -> Card:
    """A headline card: the value, its arrow and change against the period before."""
    change = shown_change(headline.change, headline.unit)
    direction = (
        "none" if change is None else "up" if change > 0 else "down" if change < 0 else "flat"
    )
    arrow = {"up": "▲", "down": "▼", "flat": "▶"}.get(direction, "")
    previous = number(headline.previous.value, headline.unit, t)
    return Card(
        metric=headline.metric,
        label=headline.label,
        value=number(headline.value.value, headline.unit, t),
        change=(
            t("dash.card.change", change=signed(change, headline.unit, t))
            if change is not None
            else t("dash.card.no_change")
        ),
        arrow=arrow,
        direction=direction,
        tone=tone(headline.metric, change),
        previous=t("dash.card.previous", days=selection.days, value=previous),
        href=drill_href(selection, headline.metric),
    )


def drill_href(
    selection: Selection, metric: str, *, part: str | None = None, **changes: str | None
) -> str | None:
    """The drill-down list behind a number (None for the metrics not made of work
    orders). A rate's link lists its numerator: the work orders that met it."""
    if metric in NOT_DRILLABLE:
        return None
    return selection.href(DRILL, metric=metric, part=part, **changes)


def period_label(start: dt.date, period: str) -> str:
    if period == "month":
        return start.strftime("%Y-%m")
    if period == "week":
        return f"{start.isocalendar().year}-W{start.isocalendar().week:02d}"
    return start.isoformat()


def _period_end(start: dt.date, period: str, selection: Selection) -> dt.date:
    if period == "month":
        month = start.year * 12 + start.month
        end = dt.date(month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    elif period == "week":
        end = start + dt.timedelta(days=6)
    else:
        end = start
    return min(end, selection.end)


def period_href(
    selection: Selection, metric: str, start: dt.date, period: str, *, part: str | None = None
) -> str | None:
    """The drill-down of one period's number: the selection narrowed to that period."""
    first = max(start, selection.start)
    end = _period_end(start, period, selection)
    return drill_href(
        selection,
        metric,
        part=part,
        preset="custom",
        **{"from": first.isoformat(), "to": end.isoformat()},
    )


def _periods(result: KpiResult) -> list[KpiRow]:
    """The rows of each period (not the "now" row, not a group's), in time order."""
    return sorted(
        (r for r in result.rows if r.period_start is not None and r.key is None),
        key=lambda r: r.period_start or dt.date.min,
    )


def series(result: KpiResult, metric: str, selection: Selection) -> list[Point]:
    """One metric per period (the rows without a group), each linked to the work orders
    of its period."""
    out = []
    for row in _periods(result):
        start = row.period_start
        assert start is not None
        value = row.values.get(metric)
        href = period_href(selection, metric, start, result.period)
        out.append(Point(period_label(start, result.period), value.value if value else None, href))
    return out


@dataclass(frozen=True)
class Cell:
    metric: str
    text: str
    href: str | None  # None: nothing to list (no value, or not made of work orders)


def part_for(metric: str) -> str:
    """A rate's or score's drill-down lists the work orders that met it; others, all
    counted (the work orders behind a count or a mean)."""
    return "numerator" if CATALOGUE[metric].kind in ("rate", "score") else "denominator"


def period_table(
    result: KpiResult, totals: KpiResult, metrics: Sequence[str], selection: Selection, t: Words
) -> list[tuple[str, list[Cell]]]:
    """A row per period (a cell per metric, each linked to the work orders behind it),
    then the whole range's row (``totals``: the same query, period none)."""

    def cells(values: dict[str, Value], href: Callable[[str], str | None]) -> list[Cell]:
        out = []
        for metric in metrics:
            value = value_of(values, metric)
            text = number(value, CATALOGUE[metric].unit, t)
            out.append(Cell(metric, text, href(metric) if value is not None else None))
        return out

    def within(start: dt.date | None) -> Callable[[str], str | None]:
        def href(metric: str) -> str | None:
            part = part_for(metric)
            if start is None:
                return drill_href(selection, metric, part=part)
            return period_href(selection, metric, start, result.period, part=part)

        return href

    rows = [
        (period_label(row.period_start, result.period), cells(row.values, within(row.period_start)))
        for row in _periods(result)
        if row.period_start is not None
    ]
    whole = totals.rows[0].values if totals.rows else {}
    rows.append((t("dash.quality.total"), cells(whole, within(None))))
    return rows


def breakdown(
    result: KpiResult, metric: str, selection: Selection, t: Words, *, limit: int = 12
) -> list[Point]:
    """One metric per group (largest first, at most ``limit``), each linked to the work
    orders of its group (the group's filter added)."""
    group = result.group_by
    rows = [r for r in result.rows if r.values.get(metric) is not None]
    rows.sort(key=lambda r: -(r.values[metric].value or 0))
    out = []
    for row in rows[:limit]:
        name = row.label or row.key or t("dash.group.none")
        name = _group_word(group, name, t) if row.key else name
        filter_name = {"engineer": "engineer_id", "customer": "customer_id"}.get(group or "", group)
        href = (
            drill_href(selection, metric, **{filter_name: row.key})
            if filter_name and row.key
            else None
        )
        out.append(Point(name, row.values[metric].value, href))
    return out


def _group_word(group: str | None, key: str, t: Words) -> str:
    """A channel's or type's code in words; other groups' labels are names already."""
    if group in ("channel", "type"):
        try:
            return t(f"dash.{group}.{key}")
        except KeyError:
            return key
    return key


def value_of(values: dict[str, Value], metric: str) -> float | None:
    found = values.get(metric)
    return found.value if found else None


def table(points: Sequence[Point], unit: str, t: Words) -> list[tuple[str, str]]:
    """A chart's numbers as rows (the accessible fallback under each chart)."""
    return [(p.label, number(p.value, unit, t)) for p in points]


def words(t: Words, prefix: str, keys: Iterable[str]) -> list[tuple[str, str]]:
    """(code, words) for a select's options."""
    return [(key, t(f"{prefix}.{key}")) for key in keys]


def status_word(status: str, t: Words) -> str:
    try:
        return t(f"dash.status.{status}")
    except KeyError:
        return status


def type_word(kind: str, t: Words) -> str:
    try:
        return t(f"dash.type.{kind}")
    except KeyError:
        return kind


def when(moment: dt.datetime | None, zone: Any) -> str:
    """A moment in the organisation's zone, to the minute."""
    if moment is None:
        return DASH
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
