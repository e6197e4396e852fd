"""The minimal-disruption re-plan (server/dispatch/plans/stable.py): one urgent job into a
full day moves at most 10 % of the planned jobs to another engineer, and every plan passes
the independent checker."""

from __future__ import annotations

import random
import time

from server.dispatch import vrp
from server.dispatch.plans.build import PENALTY, WEIGHT
from server.dispatch.plans.stable import MAX_MOVED_SHARE, moved, solve_stable
from server.dispatch.travel import Haversine

HOUR = 3600


def _case(seed: int, engineers: int = 6, jobs: int = 40) -> tuple[vrp.Problem, list[vrp.Job]]:
    """Engineers start from homes around a city, 08:00-17:00; 40 jobs of 45-90 minutes,
    some with a morning or afternoon window; priorities P2-P4."""
    rng = random.Random(seed)
    points = [
        (31.2 + rng.uniform(-0.12, 0.12), 121.45 + rng.uniform(-0.12, 0.12))
        for _ in range(engineers + jobs + 1)
    ]
    seconds, _ = Haversine().arrays(points)
    travel = tuple(tuple(int(x) for x in row) for row in seconds)
    vehicles = tuple(
        vrp.Vehicle(
            f"e{i}",
            i,
            i,
            vrp.Window(8 * HOUR, 17 * HOUR),
            skills=frozenset({"hvac:1", "hvac:2"} if i % 2 else {"hvac:1"}),
        )
        for i in range(engineers)
    )
    made = []
    for n in range(jobs + 1):
        window = rng.choice([(8 * HOUR, 17 * HOUR), (8 * HOUR, 12 * HOUR), (13 * HOUR, 16 * HOUR)])
        priority = rng.choice(["P2", "P3", "P3", "P4"])
        made.append(
            vrp.Job(
                f"j{n}",
                engineers + n,
                rng.choice([45, 60, 75, 90]) * 60,
                (vrp.Window(*window),),
                skills=frozenset({rng.choice(["hvac:1", "hvac:2"])}),
                priority=WEIGHT[priority],
                penalty=PENALTY[priority],
            )
        )
    urgent = vrp.Job(
        "urgent",
        engineers + jobs,
        60 * 60,
        (vrp.Window(10 * HOUR, 12 * HOUR),),
        skills=frozenset({"hvac:2"}),
        priority=WEIGHT["P1"],
        penalty=PENALTY["P1"],
    )
    return vrp.Problem("field", travel, tuple(made[:jobs]), vehicles), [urgent]


def _with(problem: vrp.Problem, extra: list[vrp.Job]) -> vrp.Problem:
    return vrp.Problem(problem.name, problem.travel, problem.jobs + tuple(extra), problem.vehicles)


def test_one_urgent_job_moves_at_most_a_tenth_of_the_planned_jobs() -> None:
    problem, urgent = _case(7)
    started = time.perf_counter()
    first = vrp.solve(problem, seconds=2)
    assert vrp.check(problem, first) == []
    base = {s.job: r.vehicle for r in first.routes for s in r.stops}
    assert len(base) >= 30  # a full day: the share below is of a real plan
    again = _with(problem, urgent)
    known = frozenset(j.id for j in problem.jobs) - set(base)
    result = solve_stable(again, base, seconds=2, known=known)
    took = time.perf_counter() - started
    assert vrp.check(result.problem, result.solution) == []
    # The pins and holds only narrow the problem: the plan is feasible for the day itself.
    assert [v.kind for v in vrp.check(again, result.solution)] in ([], ["cost"])
    served = {s.job for r in result.solution.routes for s in r.stops}
    assert "urgent" in served
    share = len(moved(base, result.solution)) / len(base)
    dropped = len(set(base) - served)
    print(f"moved {share:.1%} of {len(base)}, dropped {dropped}, {took:.1f} s")
    assert share <= MAX_MOVED_SHARE


def test_a_full_re_solve_would_move_more_than_the_bar() -> None:
    """What the pins prevent: solving the day afresh reshuffles it (the test above is not
    met by accident)."""
    problem, urgent = _case(7)
    first = vrp.solve(problem, seconds=1)
    base = {s.job: r.vehicle for r in first.routes for s in r.stops}
    fresh = vrp.solve(_with(problem, urgent), seconds=1, seed=1)
    assert len(moved(base, fresh)) / len(base) > MAX_MOVED_SHARE
