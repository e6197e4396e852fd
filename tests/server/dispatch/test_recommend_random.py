"""The vectorised engine against the plain-Python reference (every engineer, every position
simulated from scratch, the same score) on a few hundred seeded random cases, and every
candidate it returns through the day planner's independent checker.
"""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from server.dispatch import vrp
from server.dispatch.recommend import (
    Candidate,
    EngineerDay,
    Fleet,
    Haversine,
    Recommendation,
    Request,
    recommend,
    reference,
    tour_plan,
)
from server.dispatch.recommend.travel import FloatArray, IntArray, Travel, seconds
from tests.fixtures.recommend import random_case

SEEDS = range(400)


class Bumpy:
    """A travel time that is neither symmetric nor metric (as a road matrix may be): going
    through a third point is sometimes quicker, so an insertion can pull later jobs earlier."""

    def __call__(
        self, from_lat: FloatArray, from_lon: FloatArray, to_lat: FloatArray, to_lon: FloatArray
    ) -> IntArray:
        base = Haversine()(from_lat, from_lon, to_lat, to_lon)
        wobble = np.abs(np.sin(from_lat * 1e4 + to_lon * 3e3)) + 0.3
        return np.rint(base * wobble).astype(np.int64)


class Shortcut:
    """Haversine, but a twentieth of it to or from one point (the new job): an insertion
    there makes the jobs after it start earlier and the day shorter."""

    def __init__(self, point: tuple[float, float] | None) -> None:
        self.lat, self.lon = point or (0.0, 0.0)

    def __call__(
        self, from_lat: FloatArray, from_lon: FloatArray, to_lat: FloatArray, to_lon: FloatArray
    ) -> IntArray:
        base = Haversine()(from_lat, from_lon, to_lat, to_lon)
        near = ((from_lat == self.lat) & (from_lon == self.lon)) | (
            (to_lat == self.lat) & (to_lon == self.lon)
        )
        return np.where(near, base // 20, base)


TRAVELS = {"haversine": lambda r: Haversine(), "bumpy": lambda r: Bumpy(), "shortcut": Shortcut}


def _both(seed: int, kind: str) -> tuple[Request, list[EngineerDay], Recommendation]:
    request, days = random_case(seed)
    travel = TRAVELS[kind](request.location)
    ours = recommend(request, days, travel=travel, limit=None)
    assert ours == reference.recommend(request, days, travel, limit=None), f"seed {seed}"
    # the per-request path builds tours only for the engineers past the hard filters;
    # a kept Fleet builds them all: the same answer
    assert Fleet(days, travel).recommend(request, limit=None) == ours, f"seed {seed}"
    return request, days, ours


@pytest.mark.parametrize("kind", TRAVELS)
def test_engine_equals_the_brute_force_reference_on_random_cases(kind: str) -> None:
    codes: collections.Counter[str] = collections.Counter()
    candidates = ties = 0
    for seed in SEEDS:
        _, _, ours = _both(seed, kind)
        codes.update(f.reason.code for f in ours.filtered)
        candidates += len(ours.candidates)
        scores = [c.score for c in ours.candidates]
        ties += len(scores) - len(set(scores))
    # the cases reach what they are meant to: many candidates, real ties, most reasons
    assert candidates > 200
    assert ties > 5
    assert len(codes) >= 15, codes


def test_days_that_did_not_pack_answer_the_same() -> None:
    """A day whose numbers did not pack (model._pack_day: e.g. a float time) is read field by
    field: the same answers, alone or mixed with packed days."""
    for seed in SEEDS[:60]:
        request, days = random_case(seed)
        ours = recommend(request, days, limit=None)
        for day in days[::2]:
            object.__setattr__(day, "_packed", None)
        assert recommend(request, days, limit=None) == ours, f"seed {seed}"
        for day in days:
            object.__setattr__(day, "_packed", None)
        assert recommend(request, days, limit=None) == ours, f"seed {seed}"
        assert Fleet(days, Haversine()).recommend(request, limit=None) == ours, f"seed {seed}"


def test_top_one_is_the_brute_force_best() -> None:
    compared = 0
    for seed in SEEDS:
        request, days = random_case(seed)
        top = recommend(request, days, limit=1).candidates
        everyone = [reference.evaluate(request, day) for day in days]
        found = [c for c in everyone if isinstance(c, Candidate)]
        if not found:
            assert top == ()
            continue
        best = min(found, key=lambda c: (c.score, c.engineer_id))
        assert top == (best,), f"seed {seed}"
        compared += 1
    assert compared > 100


def test_a_candidate_score_is_the_sum_of_its_components() -> None:
    for seed in range(50):
        request, days = random_case(seed)
        for candidate in recommend(request, days, limit=None).candidates:
            assert candidate.score == sum(candidate.components.values())


@pytest.mark.parametrize("kind", TRAVELS)
def test_every_candidate_passes_the_day_planners_checker(kind: str) -> None:
    checked = 0
    for seed in SEEDS:
        request, days = random_case(seed)
        travel = TRAVELS[kind](request.location)
        by_id = {d.id: d for d in days}
        for candidate in recommend(request, days, travel=travel, limit=None).candidates:
            problem, solution = _as_vrp(request, by_id[candidate.engineer_id], candidate, travel)
            assert vrp.check(problem, solution) == [], f"seed {seed} {candidate}"
            checked += 1
    assert checked > 200


def _as_vrp(
    request: Request, day: EngineerDay, candidate: Candidate, travel: Travel
) -> tuple[vrp.Problem, vrp.Solution]:
    """The tour the candidate changes as a vrp problem (start 0, end 1, jobs from 2) and
    the engine's schedule as its solution; skill levels become "name:level" skills."""
    assert day.start is not None and day.end is not None and request.location is not None
    plan = tour_plan(request, day, candidate, travel)
    new = next(v for v in plan.visits if v.job_id == request.job_id)
    assert (new.arrival, new.start, new.end) == (candidate.arrival, candidate.start, candidate.end)
    stops = {s.job_id: s for s in day.route}
    points = [day.start, day.end]
    jobs = []
    for visit in plan.visits:
        if visit.job_id == request.job_id:
            window = vrp.Window(request.earliest, request.latest_start)
            skills = frozenset(f"{n}:{lv}" for n, lv in request.skills.items())
            jobs.append(vrp.Job(visit.job_id, len(points), request.service, (window,), skills))
            points.append(request.location)
        else:
            stop = stops[visit.job_id]
            window = vrp.Window(stop.earliest, stop.latest_start)
            pinned = day.id if stop.pinned else None
            jobs.append(
                vrp.Job(stop.job_id, len(points), stop.service, (window,), pinned_to=pinned)
            )
            points.append(stop.location)
    matrix = tuple(tuple(seconds(travel, a, b) for b in points) for a in points)
    others = reference.base_plans(day, travel)
    assert isinstance(others, list)
    other_work = sum(p.work for p in others if p.shift != candidate.shift)
    other_jobs = len(day.route) - (len(plan.visits) - 1)
    assert other_work + plan.work == candidate.work
    vehicle = vrp.Vehicle(
        day.id,
        start=0,
        end=1,
        shift=vrp.Window(*day.shifts[candidate.shift]),
        skills=frozenset(f"{n}:{lv}" for n, top in day.skills.items() for lv in range(1, top + 1)),
        max_jobs=None if day.max_jobs is None else day.max_jobs - other_jobs,
        max_work=None if day.max_work is None else day.max_work - other_work,
    )
    route = vrp.Route(
        day.id,
        plan.departure,
        tuple(vrp.Stop(v.job_id, v.arrival, v.start, v.end) for v in plan.visits),
        plan.back,
    )
    path = [0, *(j.location for j in jobs), 1]
    driven = sum(matrix[a][b] for a, b in itertools.pairwise(path))
    objective = vrp.Objective(travel=driven, vehicles=1, penalty=0, assigned_priority=len(jobs))
    problem = vrp.Problem("recommend", matrix, tuple(jobs), (vehicle,))
    return problem, vrp.Solution((route,), (), objective)
