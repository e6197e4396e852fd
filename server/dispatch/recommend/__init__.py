"""Recommend engineers for one work order: pure computation, no database, no HTTP.

    from server.dispatch import recommend as rec

    result = rec.recommend(request, days)          # Recommendation
    result.candidates[0].engineer_id               # the best engineer
    rec.explain(result.filtered[0].reason, "zh_CN")  # "缺少技能：制冷（需要 3 级）"

API (all inputs frozen dataclasses from ``model``, validated when built):

- ``recommend(request, days, *, travel=None, weights=None, limit=20) -> Recommendation``:
  ``request`` a ``Request``; ``days`` the ``EngineerDay`` of every engineer to consider
  (unique ids); ``travel`` a ``Travel`` (default ``Haversine()``: road factor 1.3,
  40 km/h); ``weights`` a ``Weights``; ``limit`` how many candidates to return, best first
  (None: all; ``Recommendation.feasible`` counts them all anyway). It builds the tours
  only for the engineers that pass the hard filters (``Fleet.for_request``, one request).
- ``Fleet(days, travel)`` then ``fleet.recommend(request, weights=None, limit=20)``: the same,
  keeping the request-independent arrays (every engineer's tours) for further requests on
  the same days.
- ``explain(reason, locale="en") -> str``: a ``Reason`` (a filter's, or one of
  ``Candidate.reasons``) in English ("en") or Simplified Chinese ("zh_CN").
- ``tour_plan(request, day, candidate, travel=None) -> TourPlan``: the whole schedule of
  the shift the candidate inserts into (for a "new day" view and for auto-assign).
- ``evaluate(request, day, travel=None, weights=None) -> Candidate | Reason``: one
  engineer, by the plain-Python reference (slow; the definition the engine is tested
  against).

The rules:

1. **Hard filters**, in this order, the first failure is the engineer's reason:
   ``missing_skill`` / ``skill_too_low`` (skills by name, in name order), ``off_shift``
   (no shift in which the job could start inside its window and finish before the shift
   ends), ``outside_territory`` (a job or an engineer without territory passes),
   ``declined``, ``no_location`` (no start or end location), ``full_jobs`` (max_jobs
   reached), then ``plan_outside_shift`` / ``plan_infeasible`` / ``plan_over_shift`` (the
   day as planned does not fit: fix it first), ``full_hours`` (max_work reached),
   ``job_no_location`` and ``sla_impossible`` (the work order itself cannot be routed).
2. **Cheapest feasible insertion** into each remaining engineer's day: every position of
   every shift's tour. A shift is one tour: leave the start location no earlier than the
   shift start (just in time for the first job), serve the jobs in their planned order, be
   back at the end location by the shift end. Planned jobs keep their engineer and order
   (pinned or not) but their times are recomputed forward, each as early as its window
   allows: a planned start is not a promise, a job's window and SLA deadline are (a job
   must *finish* by its SLA deadline, so its latest start is min(window end, deadline -
   service)). Work is leaving the start to reaching the end, waiting included, summed over
   the shifts. An engineer with no feasible position is filtered with the reason of the
   position that got furthest (``too_late``/``misses_sla`` for the job itself, then
   ``breaks_window``/``breaks_sla`` for a planned job, ``shift_ends``, ``over_hours``;
   among equals the smallest overshoot).
3. **Score**: nine components in points, lower is better, ``score`` = their sum
   (``score.py``); each engineer's best position is its cheapest, ties to the earlier
   position; candidates are ranked by score, ties by engineer id.

For a day in progress the caller passes what is left: the engineer's current position as
the start (or the job in progress as the start location and its end as the shift start),
shifts from now on, and only the jobs not yet started.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.dispatch.recommend import reference
from server.dispatch.recommend.engine import Fleet
from server.dispatch.recommend.explain import LOCALES, TEMPLATES, explain
from server.dispatch.recommend.model import (
    Candidate,
    EngineerDay,
    Filtered,
    LatLon,
    PlannedStop,
    Priority,
    Reason,
    Recommendation,
    Request,
    Weights,
)
from server.dispatch.recommend.reference import TourPlan, Visit, evaluate, tour_plan
from server.dispatch.recommend.travel import Haversine, Travel


def recommend(
    request: Request,
    days: Sequence[EngineerDay],
    *,
    travel: Travel | None = None,
    weights: Weights | None = None,
    limit: int | None = 20,
) -> Recommendation:
    """Rank the engineers of ``days`` for ``request`` (see the module docstring)."""
    fleet = Fleet.for_request(days, travel or Haversine())
    return fleet.recommend(request, weights=weights, limit=limit)


__all__ = [
    "LOCALES",
    "TEMPLATES",
    "Candidate",
    "EngineerDay",
    "Filtered",
    "Fleet",
    "Haversine",
    "LatLon",
    "PlannedStop",
    "Priority",
    "Reason",
    "Recommendation",
    "Request",
    "TourPlan",
    "Travel",
    "Visit",
    "Weights",
    "evaluate",
    "explain",
    "recommend",
    "reference",
    "tour_plan",
]
