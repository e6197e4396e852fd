"""The KPI catalogue: every metric once, with its label (en, zh_CN), unit, anchor and the
SQL aggregate that computes it (docs/kpis.md is the user's account of the same rules).

A view's SQL is assembled from here: one pass over ``kpi_work_orders`` per anchor, whose
``WHERE`` puts the anchor's instant in the range and whose ``SELECT`` holds every requested
metric of that anchor as ``FILTER``-ed aggregates, grouped by the period bucket (the anchor
in the organisation's time zone, ``date_trunc``) and the group key. No work order is looked
at in Python. The passes (``Source``):

- ``work_orders``: anchors ``created_at``, ``resolved_at``, ``surveyed_at``;
- ``engineer_days``: anchor ``day`` over ``kpi_engineer_days`` (utilisation, travel share);
- ``backlog``: open at each period's end (``server.reports.live``);
- ``now``: the open work orders as they are now, with the tickets' ``sla_state``;
- ``parts``: the stock ledger's consume and return lines (``server.reports.stock``).

Aggregates read the fact columns through the alias ``f`` (``d`` for engineer days, ``m``
for ledger lines, ``t`` for tickets in the ``now`` pass); ``:window`` is ``window_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from server.languages import Language
from server.reports.schemas import Anchor, Kind, MetricInfo, Unit

Source = Literal["work_orders", "engineer_days", "backlog", "now", "parts"]
WINDOW = "make_interval(days => CAST(:window AS integer))"
H = 3600


@dataclass(frozen=True)
class Metric:
    name: str
    en: str
    zh: str
    unit: Unit
    kind: Kind
    anchor: Anchor
    description: str
    # The aggregates: count/sum (value,), rate/score (numerator, denominator),
    # mean/median (value, count); () for the metrics a pass of their own computes.
    sql: tuple[str, ...] = ()
    # The work orders behind the numerator and the denominator (the drill-down), when the
    # metric counts work orders: conditions over ``f`` (and ``t`` for the "now" ones).
    rows: tuple[str, str] | None = None
    # What the aggregates' values are divided by (3600: seconds summed, hours shown). Means
    # and medians aggregate the integer columns as they are: integer sums and sorts are
    # several times cheaper than numeric ones over a million rows.
    scale: int = 1

    @property
    def source(self) -> Source:
        return _SOURCES[self.anchor]

    def info(self, lang: Language) -> MetricInfo:
        return MetricInfo(
            name=self.name,
            label=self.zh if lang == "zh_CN" else self.en,
            unit=self.unit,
            kind=self.kind,
            anchor=self.anchor,
            description=self.description,
        )

    def label(self, lang: Language) -> str:
        return self.zh if lang == "zh_CN" else self.en


_SOURCES: dict[Anchor, Source] = {
    "created_at": "work_orders",
    "resolved_at": "work_orders",
    "surveyed_at": "work_orders",
    "day": "engineer_days",
    "period_end": "backlog",
    "now": "now",
    "movement": "parts",
}


Aggregates = tuple[tuple[str, ...], tuple[str, str]]


def _count(where: str | None = None) -> Aggregates:
    """Work orders (meeting ``where``): the aggregate, and the drill-down's rows."""
    agg = f"count(*) FILTER (WHERE {where})" if where else "count(*)"
    return (agg,), (where or "TRUE", where or "TRUE")


def _rate(numerator: str, denominator: str | None = None) -> Aggregates:
    """Work orders meeting ``numerator`` among those meeting ``denominator`` (all: None)."""
    among = f"({denominator}) AND ({numerator})" if denominator else f"({numerator})"
    return (f"count(*) FILTER (WHERE {among})", _count(denominator)[0][0]), (
        among,
        denominator or "TRUE",
    )


def _mean(expr: str) -> Aggregates:
    known = f"({expr}) IS NOT NULL"
    return (f"sum({expr})", f"count({expr})"), (known, known)


def _median(expr: str) -> Aggregates:
    known = f"({expr}) IS NOT NULL"
    return (f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {expr})", f"count({expr})"), (
        known,
        known,
    )


FIRST_TIME_FIX = (
    f"f.visits = 1 AND f.reopened = 0 AND (f.next_on_asset_at IS NULL "
    f"OR f.next_on_asset_at > f.resolved_at + {WINDOW})"
)
# A repair that came back: marked as repeated by a later work order, or the same fault on
# the same asset within N days of its resolution. Counted on the original work order (at
# its resolution, against who resolved it), not on the call-back.
REPEAT = f"f.marked_repeat_at IS NOT NULL OR f.same_fault_next_at <= f.resolved_at + {WINDOW}"
# Open: not resolved, closed or cancelled (ended_at is set by all three).
OPEN = "f.ended_at IS NULL AND f.cancelled_at IS NULL"
# A work order's parts cost rule (docs/parts.md): consumed less good returns; a defective
# return is the broken unit out of the equipment and credits nothing.
PARTS_QTY = (
    "CASE WHEN m.kind = 'consume' THEN m.quantity "
    "WHEN m.kind = 'return' AND m.condition = 'good' THEN -m.quantity ELSE 0 END"
)
PARTS_COST = f"({PARTS_QTY}) * m.unit_cost"


def _durations(name: str, column: str, en: str, zh: str, anchor: Anchor, what: str) -> list[Metric]:
    """The mean and the median of a duration in hours (``name`` and ``name_median``)."""
    return [
        Metric(name, en, zh, "hours", "mean", anchor, f"Mean {what}", *_mean(column), scale=H),
        Metric(
            f"{name}_median",
            f"{en} (median)",
            f"{zh}（中位数）",
            "hours",
            "median",
            anchor,
            f"Median {what}",
            *_median(column),
            scale=H,
        ),
    ]


CREATED: list[Metric] = [
    Metric(
        "work_orders",
        "Work orders",
        "工单数",
        "count",
        "count",
        "created_at",
        "Work orders created in the period, cancelled ones included.",
        *_count(),
    ),
    *_durations(
        "first_response_hours",
        "f.first_response_business_s",
        "First response time",
        "首次响应时间",
        "created_at",
        "business hours (the SLA policy's calendar; elapsed hours without one) from "
        "creation to the first response; work orders not yet responded to are left out.",
    ),
    *_durations(
        "schedule_hours",
        "f.schedule_s",
        "Time to schedule",
        "派工时长",
        "created_at",
        "hours from creation to the first assignment of an engineer.",
    ),
    *_durations(
        "arrive_hours",
        "f.arrive_s",
        "Time to arrive",
        "到场时长",
        "created_at",
        "hours from creation to the first check-in on site.",
    ),
    Metric(
        "response_sla",
        "Response SLA met",
        "响应SLA达成率",
        "percent",
        "rate",
        "created_at",
        "Work orders responded to by their response deadline, among those with a response "
        "target whose outcome is decided (responded, or past the deadline).",
        *_rate("f.response_met", "f.response_met IS NOT NULL"),
    ),
    Metric(
        "complaint_rate",
        "Complaint rate",
        "投诉率",
        "percent",
        "rate",
        "created_at",
        "Work orders of type complaint among all work orders created.",
        *_rate("f.type = 'complaint'"),
    ),
    Metric(
        "complaints",
        "Complaints",
        "投诉数",
        "count",
        "count",
        "created_at",
        "Work orders of type complaint created in the period.",
        *_count("f.type = 'complaint'"),
    ),
]

RESOLVED: list[Metric] = [
    Metric(
        "resolved",
        "Resolved",
        "已解决工单数",
        "count",
        "count",
        "resolved_at",
        "Work orders resolved in the period (the last resolution of a reopened one).",
        *_count(),
    ),
    *_durations(
        "resolve_hours",
        "f.resolve_s",
        "Time to resolve",
        "解决时长",
        "resolved_at",
        "hours from creation to resolution.",
    ),
    *_durations(
        "resolve_net_hours",
        "f.resolve_s - f.waiting_s",
        "Time to resolve without waiting",
        "解决时长（不含等待客户）",
        "resolved_at",
        "hours from creation to resolution, less the time on hold waiting for the customer.",
    ),
    Metric(
        "resolution_sla",
        "Resolution SLA met",
        "解决SLA达成率",
        "percent",
        "rate",
        "resolved_at",
        "Work orders resolved by their resolution deadline, among the resolved ones with a "
        "resolution target.",
        *_rate("f.resolution_met", "f.resolution_met IS NOT NULL"),
    ),
    Metric(
        "first_time_fix",
        "First-time fix rate",
        "一次修复率",
        "percent",
        "rate",
        "resolved_at",
        "Resolved on the first visit (one visit, never reopened) with no repair or complaint "
        "on the same equipment created within window_days after the resolution (cancelled "
        "ones and planned maintenance do not count), among the resolved work orders with "
        "at least one visit.",
        *_rate(FIRST_TIME_FIX, "f.visits >= 1"),
    ),
    Metric(
        "first_contact_resolution",
        "First-contact resolution",
        "首次联系解决率",
        "percent",
        "rate",
        "resolved_at",
        "Resolved by the service desk at the first contact: no visit, no labour recorded and "
        "never reopened, among all resolved.",
        *_rate("f.visits = 0 AND f.work_s + f.travel_s = 0 AND f.reopened = 0"),
    ),
    Metric(
        "repeat_rate",
        "Repeat repair rate",
        "重复维修率",
        "percent",
        "rate",
        "resolved_at",
        "Resolved work orders whose repair came back: a later work order was marked a "
        "repeat of it, or the same equipment had the same fault code again within "
        "window_days of the resolution; among all resolved. Counted on the original work "
        "order and its engineer, not on the call-back.",
        *_rate(REPEAT),
    ),
    Metric(
        "labour_cost_per_wo",
        "Labour cost per work order",
        "单均人工成本",
        "money",
        "mean",
        "resolved_at",
        "Mean labour cost (work and travel hours x the engineer's hourly cost) of the "
        "resolved work orders.",
        *_mean("f.labour_cost"),
    ),
    Metric(
        "parts_cost_per_wo",
        "Parts cost per work order",
        "单均备件成本",
        "money",
        "mean",
        "resolved_at",
        "Mean parts cost (consumed less returned, at the recorded unit cost) of the "
        "resolved work orders.",
        *_mean("f.parts_cost"),
    ),
    Metric(
        "work_hours_per_wo",
        "Work hours per work order",
        "单均工时",
        "hours",
        "mean",
        "resolved_at",
        "Mean hours of work (not travel) recorded on the resolved work orders.",
        *_mean("f.work_s"),
        scale=H,
    ),
]

SURVEYED: list[Metric] = [
    Metric(
        "csat",
        "CSAT",
        "客户满意度（CSAT）",
        "score",
        "mean",
        "surveyed_at",
        "Mean satisfaction answer (1-5) of the survey responses received in the period.",
        *_mean("f.csat"),
    ),
    Metric(
        "csat_satisfied",
        "Satisfied customers",
        "满意率",
        "percent",
        "rate",
        "surveyed_at",
        "Satisfaction answers of 4 or 5 among all satisfaction answers.",
        *_rate("f.csat >= 4", "f.csat IS NOT NULL"),
    ),
    Metric(
        "nps",
        "NPS",
        "净推荐值（NPS）",
        "score",
        "score",
        "surveyed_at",
        "Net promoter score: % of answers 9-10 less % of answers 0-6 (-100 to 100).",
        (
            "count(*) FILTER (WHERE f.nps >= 9) - count(*) FILTER (WHERE f.nps <= 6)",
            "count(f.nps)",
        ),
        # The work orders behind the number: the promoters' (the score's plus); the
        # denominator's list holds every answer.
        ("f.nps >= 9", "f.nps IS NOT NULL"),
    ),
    Metric(
        "ces",
        "CES",
        "客户费力度（CES）",
        "score",
        "mean",
        "surveyed_at",
        "Mean customer effort answer (1-7; lower is easier).",
        *_mean("f.ces"),
    ),
    Metric(
        "responses",
        "Survey responses",
        "问卷回复数",
        "count",
        "count",
        "surveyed_at",
        "Survey responses received in the period (one per work order).",
        *_count(),
    ),
]

ENGINEER_DAYS: list[Metric] = [
    Metric(
        "utilisation",
        "Utilisation",
        "工程师利用率",
        "percent",
        "rate",
        "day",
        "Hours of work recorded on jobs / hours of scheduled working time (shifts less time "
        "off plus extra time), over the engineers' days in the period.",
        ("sum(d.work_s) / 3600.0", "sum(d.scheduled_s) / 3600.0"),
    ),
    Metric(
        "travel_share",
        "Travel share",
        "路途时间占比",
        "percent",
        "rate",
        "day",
        "Hours of travel / hours of work and travel recorded, over the engineers' days.",
        ("sum(d.travel_s) / 3600.0", "sum(d.work_s + d.travel_s) / 3600.0"),
    ),
]

LIVE: list[Metric] = [
    Metric(
        "backlog",
        "Backlog",
        "积压工单",
        "count",
        "count",
        "period_end",
        "Open work orders (not resolved, closed or cancelled) at the end of each period; "
        "for the period still running, now.",
        (),
        ("TRUE", "TRUE"),
    ),
    Metric(
        "backlog_age_days",
        "Backlog age",
        "积压工单平均天数",
        "days",
        "mean",
        "now",
        "Mean age in days of the work orders open now.",
        *_mean("extract(epoch FROM (:now - f.created_at))"),
        scale=86400,
    ),
    Metric(
        "sla_breached_now",
        "SLA breached now",
        "当前已超SLA",
        "count",
        "count",
        "now",
        "Open work orders past a deadline now.",
        *_count("t.sla_state = 'breached'"),
    ),
    Metric(
        "sla_at_risk_now",
        "SLA at risk now",
        "当前SLA临近超时",
        "count",
        "count",
        "now",
        "Open work orders near a deadline now (the SLA policy's warning threshold).",
        *_count("t.sla_state = 'at_risk'"),
    ),
]

PARTS: list[Metric] = [
    Metric(
        "parts_consumed_qty",
        "Parts consumed",
        "备件消耗数量",
        "quantity",
        "sum",
        "movement",
        "Quantity of parts consumed on work orders less the parts returned from them, by "
        "the time the ledger line was recorded.",
        (f"coalesce(sum({PARTS_QTY}), 0)",),
    ),
    Metric(
        "parts_consumed_cost",
        "Parts consumed (cost)",
        "备件消耗成本",
        "money",
        "sum",
        "movement",
        "Cost (quantity x the unit cost recorded on the line) of the parts consumed less "
        "the parts returned.",
        (f"coalesce(sum({PARTS_COST}), 0)",),
    ),
    Metric(
        "parts_turnover",
        "Parts turnover",
        "备件周转率",
        "ratio",
        "ratio",
        "movement",
        "Cost of the parts consumed from stock in the period / the average stock value "
        "(at the period's start and end); the whole organisation only.",
    ),
]

CATALOGUE: dict[str, Metric] = {
    m.name: m for m in (*CREATED, *RESOLVED, *SURVEYED, *ENGINEER_DAYS, *LIVE, *PARTS)
}
# The work-order passes' anchors, in the order a view runs them.
WORK_ORDER_ANCHORS: tuple[Anchor, ...] = ("created_at", "resolved_at", "surveyed_at")


def infos(lang: Language) -> list[MetricInfo]:
    return [metric.info(lang) for metric in CATALOGUE.values()]
