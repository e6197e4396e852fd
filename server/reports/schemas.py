"""What the KPI service takes and gives (docs/kpis.md). Plain dataclasses: the service
returns them, the API serialises them as they are (FastAPI reads dataclasses), the dashboard
(``server/reports/dashboard``) renders them.

A value is one ``Value``: a rate carries ``numerator`` and ``denominator`` (``value`` =
100 x numerator / denominator, null when the denominator is 0), a mean or median carries
``count`` (the values averaged; ``value`` null when there are none), a count carries only
``value``. Nothing is NaN and no missing number is shown as 0.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Literal

Period = Literal["day", "week", "month", "none"]
GroupBy = Literal[
    "engineer", "team", "territory", "customer", "product_model", "priority", "channel", "type"
]
GROUP_BYS: tuple[GroupBy, ...] = (
    "engineer",
    "team",
    "territory",
    "customer",
    "product_model",
    "priority",
    "channel",
    "type",
)
Part = Literal["numerator", "denominator"]
Kind = Literal["count", "sum", "rate", "score", "mean", "median", "ratio"]
# Which instant puts a work order (or an engineer's day, a ledger line) in a period.
Anchor = Literal["created_at", "resolved_at", "surveyed_at", "day", "period_end", "now", "movement"]
Unit = Literal["count", "percent", "hours", "days", "score", "money", "quantity", "ratio"]


@dataclass(frozen=True)
class Filters:
    """Work orders (and engineer days, ledger lines) counted: every filter set must match."""

    engineer_id: uuid.UUID | None = None
    team: str | None = None
    territory: str | None = None
    customer_id: uuid.UUID | None = None
    product_model: str | None = None
    priority: str | None = None
    channel: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class KpiQuery:
    """A checked query (``server.reports.query.parse`` builds one from the API's parameters).

    ``start`` and ``end`` are local dates in the organisation's time zone, ``end``
    inclusive. ``metrics`` empty means every metric of the catalogue."""

    start: dt.date
    end: dt.date
    period: Period = "month"
    group_by: GroupBy | None = None
    filters: Filters = field(default_factory=Filters)
    window_days: int = 30
    metrics: tuple[str, ...] = ()
    # Internal (headlines): with period none, split the range in two at this local date, so
    # one pass computes a range and the range before it.
    split: dt.date | None = None
    # Internal (scorecards): grouped passes also give each period's total over all groups,
    # under the key ``TOTAL``.
    totals: bool = False


TOTAL = "*"  # the key of a period's total row (KpiQuery.totals)


@dataclass
class MetricInfo:
    """One metric of the catalogue, in the reader's language."""

    name: str
    label: str
    unit: Unit
    kind: Kind
    anchor: Anchor
    description: str


@dataclass
class Value:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    count: int | None = None


@dataclass
class KpiRow:
    """One period x group. ``period_start``: the first local day of the period (the range's
    start when ``period`` is none; null for the "now" metrics' row when periods are asked
    for). ``key``: the group's value (an id, a name, a code; null: not set / not grouped)."""

    period_start: dt.date | None
    key: str | None
    label: str | None
    values: dict[str, Value]


@dataclass
class KpiResult:
    start: dt.date
    end: dt.date
    period: Period
    group_by: GroupBy | None
    time_zone: str
    window_days: int
    metrics: list[str]
    rows: list[KpiRow]


@dataclass
class Headline:
    """A metric over the range beside the same metric over the range just before it, of
    the same length (``change`` = value - previous; null when either is null)."""

    metric: str
    label: str
    unit: Unit
    value: Value
    previous: Value
    change: float | None
    previous_start: dt.date
    previous_end: dt.date


@dataclass
class DrillItem:
    """A work order behind a number (``id``: the work order's)."""

    id: uuid.UUID
    number: str
    title: str
    status: str
    priority: str
    type: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    engineer_id: uuid.UUID | None
    engineer: str | None


@dataclass
class ScorecardLine:
    metric: str
    label: str
    unit: Unit
    value: Value
    organisation: Value


@dataclass
class Scorecard:
    engineer_id: uuid.UUID
    engineer: str
    team: str | None
    lines: list[ScorecardLine]


@dataclass
class Scorecards:
    start: dt.date
    end: dt.date
    time_zone: str
    metrics: list[str]
    organisation: dict[str, Value]
    engineers: list[Scorecard]


@dataclass
class BacklogGroup:
    key: str | None
    label: str | None
    open: int
    age_days_mean: float | None
    age_days_median: float | None
    age_days_p90: float | None
    sla_breached: int
    sla_at_risk: int


@dataclass
class BacklogPoint:
    period_start: dt.date
    open: int  # open at the period's end (or now, for the period still running)


@dataclass
class BacklogReport:
    time_zone: str
    total: BacklogGroup
    groups: list[BacklogGroup]
    trend: list[BacklogPoint]


@dataclass
class FaultTrendPoint:
    month: dt.date
    count: int


@dataclass
class FaultRow:
    fault_code: str | None
    count: int  # repair work orders with this fault code
    share: float | None  # percent of the model's work orders in the range
    trend: list[FaultTrendPoint]


@dataclass
class FaultModel:
    product_model: str | None
    work_orders: int
    repairs: int
    faults: list[FaultRow]


@dataclass
class FaultReport:
    start: dt.date
    end: dt.date
    time_zone: str
    models: list[FaultModel]


@dataclass
class PartsRow:
    period_start: dt.date | None
    key: str | None
    label: str | None
    consumed_qty: float
    consumed_cost: float
    turnover: float | None  # only for the whole organisation (no filter, no group)


@dataclass
class PartsReport:
    start: dt.date
    end: dt.date
    period: Period
    group_by: GroupBy | None
    time_zone: str
    rows: list[PartsRow]
