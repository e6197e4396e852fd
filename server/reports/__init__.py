"""KPIs (docs/kpis.md): the facts one row per work order and per engineer and day
(``refresh`` keeps them up to date from the operational tables), and the metrics read
from them."""

from server.reports import refresh
from server.reports.models import EngineerDayFact, RefreshMark, Rollup, WorkOrderFact

__all__ = [
    "EngineerDayFact",
    "RefreshMark",
    "Rollup",
    "WorkOrderFact",
    "refresh",
]
