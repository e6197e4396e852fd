"""The executable definition of a recommendation, in plain Python: every filter in order,
every insertion position simulated from scratch, the same score. Slow (the benchmark's
baseline) and obvious; the tests hold the vectorised engine to it, answer for answer (the
engine only borrows ``split_tours`` and ``base_plans`` for the words on a plan that is
already broken, a rare case).

``tour_plan`` gives the whole schedule of the tour a candidate changes (for the endpoint's
"new day" view, auto-assign and the feasibility check).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from server.dispatch import eligibility
from server.dispatch.eligibility import Code
from server.dispatch.recommend import score
from server.dispatch.recommend.model import (
    Candidate,
    EngineerDay,
    Filtered,
    LatLon,
    PlannedStop,
    Reason,
    Recommendation,
    Request,
    Weights,
)
from server.dispatch.recommend.travel import Haversine, Travel, seconds


@dataclass(frozen=True)
class Visit:
    job_id: str
    arrival: int
    start: int
    end: int


@dataclass(frozen=True)
class TourPlan:
    """One shift's tour: leave the start location at ``departure`` (just in time for the
    first job), serve ``visits`` in order, reach the end location at ``back``."""

    shift: int
    departure: int
    visits: tuple[Visit, ...]
    back: int

    @property
    def work(self) -> int:
        return self.back - self.departure if self.visits else 0


def split_tours(day: EngineerDay) -> list[list[PlannedStop]] | Reason:
    """The route cut into one list per shift (by each job's planned start), or the reason
    the plan does not fit the shifts."""
    tours: list[list[PlannedStop]] = [[] for _ in day.shifts]
    current = 0
    for stop in day.route:
        # the last shift containing it: at the instant one shift ends and the next one
        # begins, a job belongs to the later one
        index = max(
            (i for i, (a, b) in enumerate(day.shifts) if a <= stop.planned_start <= b),
            default=None,
        )
        if index is None or index < current:
            return Reason("plan_outside_shift", {"job": stop.job_id})
        current = index
        tours[index].append(stop)
    return tours


def _simulate(
    request: Request | None,
    day: EngineerDay,
    shift: int,
    stops: Sequence[PlannedStop | None],
    travel: Travel,
) -> tuple[TourPlan, tuple[int, int, Reason] | None]:
    """The tour's schedule (None in ``stops`` is the request) and its first violation as
    (stage, overshoot, reason): 1 the new job late, 2 a planned job late, 3 back too late."""
    assert day.start is not None and day.end is not None
    shift_start, shift_end = day.shifts[shift]
    where: LatLon = day.start
    free = shift_start
    visits: list[Visit] = []
    failure: tuple[int, int, Reason] | None = None
    for stop in stops:
        loc, service, earliest, latest = _job(request, stop)
        arrival = free + seconds(travel, where, loc)
        start = max(arrival, earliest)
        if start > latest and failure is None:
            failure = _late(request, stop, start, latest)
        job_id = stop.job_id if stop is not None else request.job_id  # type: ignore[union-attr]
        visits.append(Visit(job_id, arrival, start, start + service))
        where, free = loc, start + service
    if not visits:
        return TourPlan(shift, shift_start, (), shift_start), None
    departure = visits[0].start - seconds(travel, day.start, _job(request, stops[0])[0])
    visits[0] = replace(visits[0], arrival=visits[0].start)  # left just in time: no wait
    back = free + seconds(travel, where, day.end)
    if back > shift_end and failure is None:
        failure = (
            3,
            back - shift_end,
            Reason("shift_ends", {"shift_end": shift_end, "back": back}),
        )
    return TourPlan(shift, departure, tuple(visits), back), failure


def _job(request: Request | None, stop: PlannedStop | None) -> tuple[LatLon, int, int, int]:
    if stop is not None:
        return stop.location, stop.service, stop.earliest, stop.latest_start
    assert request is not None and request.location is not None
    return request.location, request.service, request.earliest, request.latest_start


def _late(
    request: Request | None, stop: PlannedStop | None, start: int, latest: int
) -> tuple[int, int, Reason]:
    params: dict[str, Any]
    if stop is None:
        assert request is not None
        if request.sla_binds:
            params = {"deadline": request.sla_deadline, "finish": start + request.service}
            return 1, start - latest, Reason("misses_sla", params)
        return 1, start - latest, Reason("too_late", {"latest": latest, "start": start})
    if stop.sla_deadline is not None and stop.latest_start < stop.latest:
        params = {"job": stop.job_id, "deadline": stop.sla_deadline}
        params["finish"] = start + stop.service
        return 2, start - latest, Reason("breaks_sla", params)
    params = {"job": stop.job_id, "latest": latest, "start": start}
    return 2, start - latest, Reason("breaks_window", params)


def filter_reason(request: Request, day: EngineerDay) -> Reason | None:
    """The first hard filter the engineer fails, before any routing, or None. The rules are
    ``server.dispatch.eligibility``'s, in the recommendation's order."""
    gap = eligibility.skill_gap(day.skills, request.skills)
    if gap is not None:
        return gap.reason()
    if not eligibility.fits_a_shift(day.shifts, request.earliest, request.latest, request.service):
        return Reason(Code.OFF_SHIFT, {"earliest": request.earliest, "latest": request.latest})
    if not eligibility.territory_ok(request.territory, day.territory):
        assert request.territory is not None and day.territory is not None
        return eligibility.territory_reason(request.territory, day.territory)
    if eligibility.has_declined(day.id, request.declined):
        return Reason(Code.DECLINED, {})
    if not eligibility.can_be_routed(day.start, day.end):
        return Reason(Code.NO_LOCATION, {})
    if not eligibility.has_room(len(day.route), day.max_jobs):
        return Reason(Code.FULL_JOBS, {"max_jobs": day.max_jobs, "planned": len(day.route)})
    return None


def base_plans(day: EngineerDay, travel: Travel) -> list[TourPlan] | Reason:
    """The day as planned (every shift's tour), or why it is already infeasible."""
    tours = split_tours(day)
    if isinstance(tours, Reason):
        return tours
    plans = []
    for shift, stops in enumerate(tours):
        plan, failure = _simulate(None, day, shift, stops, travel)
        if failure is not None:
            reason = failure[2]
            if reason.code == "shift_ends":
                return Reason("plan_over_shift", dict(reason.params))
            return Reason("plan_infeasible", {"job": reason.params["job"]})
        plans.append(plan)
    return plans


def evaluate(
    request: Request,
    day: EngineerDay,
    travel: Travel | None = None,
    weights: Weights | None = None,
) -> Candidate | Reason:
    """The engineer's best insertion, or the reason there is none."""
    travel, weights = travel or Haversine(), weights or Weights()
    reason = filter_reason(request, day)
    if reason is not None:
        return reason
    plans = base_plans(day, travel)
    if isinstance(plans, Reason):
        return plans
    tours = split_tours(day)
    assert not isinstance(tours, Reason)
    base_work = sum(p.work for p in plans)
    services = sum(s.service for s in day.route)
    if day.max_work is not None and (
        base_work > day.max_work or services + request.service > day.max_work
    ):
        return Reason("full_hours", {"max_work": day.max_work, "planned_work": base_work})
    if not eligibility.job_located(request.location):
        return Reason(Code.JOB_NO_LOCATION, {})
    if request.latest_start < request.earliest:
        assert request.sla_deadline is not None
        params = {"deadline": request.sla_deadline, "finish": request.earliest + request.service}
        return Reason("sla_impossible", params)
    return _best_insertion(request, day, travel, weights, tours, plans, base_work)


def _best_insertion(
    request: Request,
    day: EngineerDay,
    travel: Travel,
    weights: Weights,
    tours: list[list[PlannedStop]],
    plans: list[TourPlan],
    base_work: int,
) -> Candidate | Reason:
    best: Candidate | None = None
    failure: tuple[int, int, Reason] | None = None
    offset = 0
    for shift, stops in enumerate(tours):
        for position in range(len(stops) + 1):
            with_job: list[PlannedStop | None] = [*stops[:position], None, *stops[position:]]
            plan, late = _simulate(request, day, shift, with_job, travel)
            work = base_work - plans[shift].work + plan.work
            if late is None and day.max_work is not None and work > day.max_work:
                params = {"max_work": day.max_work, "work": work}
                late = (4, work - day.max_work, Reason("over_hours", params))
            if late is not None:
                if failure is None or (-late[0], late[1]) < (-failure[0], failure[1]):
                    failure = late
                continue
            found = _candidate(
                request, day, weights, travel, plan, stops, position, offset, (work, base_work)
            )
            if best is None or found.score < best.score:
                best = found
        offset += len(stops)
    if best is not None:
        return best
    assert failure is not None
    return failure[2]


def _candidate(
    request: Request,
    day: EngineerDay,
    weights: Weights,
    travel: Travel,
    plan: TourPlan,
    stops: list[PlannedStop],
    position: int,
    offset: int,
    works: tuple[int, int],
) -> Candidate:
    """The candidate inserting before ``stops[position]`` (the shift's tour) with the day's
    work ``works`` = (with the job, as planned); ``offset`` stops come in earlier shifts."""
    work, base_work = works
    assert day.start is not None and day.end is not None and request.location is not None
    before = day.start if position == 0 else stops[position - 1].location
    after = day.end if position == len(stops) else stops[position].location
    added = seconds(travel, before, request.location) + seconds(travel, request.location, after)
    if stops:
        added -= seconds(travel, before, after)
    visit = plan.visits[position]
    slack = None if request.sla_deadline is None else request.sla_deadline - visit.end
    missing = len(request.parts - day.parts)
    surplus = sum(day.skills[name] - level for name, level in request.skills.items())
    preferred = day.id in request.preferred
    parts = score.components(
        weights,
        request.priority,
        travel_added=added,
        delay=visit.start - request.earliest,
        sla_slack=slack,
        rating=day.rating,
        jobs=len(day.route),
        work=base_work,
        preferred=preferred,
        skill_surplus=surplus,
        missing_parts=missing,
        work_after=work,
    )
    return Candidate(
        engineer_id=day.id,
        position=offset + position,
        shift=plan.shift,
        arrival=visit.arrival,
        start=visit.start,
        end=visit.end,
        travel_added=added,
        sla_slack=slack,
        load=(len(day.route), base_work),
        rating=day.rating,
        has_parts=missing == 0,
        missing_parts=missing,
        parts_needed=len(request.parts),
        preferred=preferred,
        skill_surplus=surplus,
        work=work,
        score=float(score.total(parts)),
        components={name: float(v) for name, v in parts.items()},
    )


def recommend(
    request: Request,
    days: Sequence[EngineerDay],
    travel: Travel | None = None,
    weights: Weights | None = None,
    limit: int | None = None,
) -> Recommendation:
    """What ``server.dispatch.recommend.recommend`` answers, one engineer at a time."""
    travel, weights = travel or Haversine(), weights or Weights()
    found: list[Candidate] = []
    filtered: list[Filtered] = []
    for day in days:
        result = evaluate(request, day, travel, weights)
        if isinstance(result, Reason):
            filtered.append(Filtered(day.id, result))
        else:
            found.append(result)
    found.sort(key=lambda c: (c.score, c.engineer_id))
    shown = found if limit is None else found[:limit]
    return Recommendation(request.job_id, tuple(shown), tuple(filtered), len(found))


def tour_plan(
    request: Request, day: EngineerDay, candidate: Candidate, travel: Travel | None = None
) -> TourPlan:
    """The schedule of the shift ``candidate`` inserts into, with the job in place."""
    tours = split_tours(day)
    if isinstance(tours, Reason):
        raise ValueError(f"engineer {day.id}: {tours.code}")
    before = sum(len(t) for t in tours[: candidate.shift])
    stops: list[PlannedStop | None] = list(tours[candidate.shift])
    stops.insert(candidate.position - before, None)
    plan, _ = _simulate(request, day, candidate.shift, stops, travel or Haversine())
    return plan
