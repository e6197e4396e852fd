"""The score of a feasible insertion: nine components in points, lower is better.

One formula for the engine (numpy arrays, one cell per engineer and position) and the
reference (plain numbers): the arithmetic below works on both and performs the same
floating-point operations in the same order, so both produce identical scores and a tie is
a real tie (broken by engineer id, then the earlier position in the day).

| component | points                                                          |
|-----------|-----------------------------------------------------------------|
| travel    | travel_per_minute x minutes of travel the insertion adds         |
| arrival   | arrival_per_minute[priority] x minutes from earliest to start    |
| sla       | sla_per_minute x minutes of slack short of sla_margin (SLA only) |
| rating    | rating_per_star x (5 - rating)                                   |
| load      | load_per_job x jobs planned + load_per_hour x hours planned      |
| preferred | - preferred_bonus for the customer's preferred engineer          |
| skills    | - skill_bonus_per_level x levels above the minimum               |
| parts     | missing_part x needed parts not in the van                       |
| overtime  | overtime_per_minute x minutes of the day's work past overtime_after |
"""

from __future__ import annotations

from typing import Any

import numpy as np

from server.dispatch.recommend.model import Priority, Weights

COMPONENTS = (
    "travel",
    "arrival",
    "sla",
    "rating",
    "load",
    "preferred",
    "skills",
    "parts",
    "overtime",
)


def components(
    weights: Weights,
    priority: Priority,
    *,
    travel_added: Any,
    delay: Any,
    sla_slack: Any,
    rating: Any,
    jobs: Any,
    work: Any,
    preferred: Any,
    skill_surplus: Any,
    missing_parts: Any,
    work_after: Any,
) -> dict[str, Any]:
    """Each component for numbers or broadcastable arrays; ``sla_slack`` None: no SLA."""
    w = weights
    sla: Any = 0.0
    if sla_slack is not None:
        sla = w.sla_per_minute * (np.maximum(0, w.sla_margin - sla_slack) / 60)
    return {
        "travel": w.travel_per_minute * (travel_added / 60),
        "arrival": w.arrival_per_minute[priority - 1] * (delay / 60),
        "sla": sla,
        "rating": w.rating_per_star * (5 - rating),
        "load": w.load_per_job * jobs + w.load_per_hour * (work / 3600),
        # 0 - x, not -w * x: no "-0.0" for an engineer without the bonus
        "preferred": w.preferred_bonus * (0 - preferred),
        "skills": w.skill_bonus_per_level * (0 - skill_surplus),
        "parts": w.missing_part * missing_parts,
        "overtime": w.overtime_per_minute * (np.maximum(0, work_after - w.overtime_after) / 60),
    }


def total(parts: dict[str, Any]) -> Any:
    """The score: the components added in COMPONENTS order, starting from 0.0."""
    score: Any = 0.0
    for name in COMPONENTS:
        score = score + parts[name]
    return score
