"""The minimal-disruption re-plan: re-optimise an applied plan's day without reshuffling it.

``solve_stable(problem, base, seconds=)``: ``base`` maps each job of the applied plan to
its engineer.

1. Every base job is pinned to its engineer (``pinned_to``) and costs ``HOLD`` to leave
   out (more than any priority); the jobs new since then are free.
2. If a new job is still unassigned, release the base jobs nearest to it (by travel time,
   among those an engineer who could serve it holds; jobs whose windows overlap its window
   first, as likelier in its way), 1, then more, never more than
   ``MAX_MOVED_SHARE`` of the base jobs, and solve again; the first pass that places more
   of the new jobs wins. Only released jobs can change engineer, so at most that share
   moves.
3. Still not placed: the kept jobs get their own priority's penalty back (still pinned),
   so an urgent job may push less important work out of an engineer's day; that work is
   reported unassigned, never moved.

The time limit is shared: a third for the first pass, a third over the release passes, a
third for the last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from server.dispatch import vrp

MAX_MOVED_SHARE = 0.10
# A kept job's cost when left out in the first passes: above any priority's penalty, so
# the new work is placed by moving a few jobs before dropping any.
HOLD = 12_800_000


@dataclass(frozen=True)
class Stable:
    problem: vrp.Problem  # the problem actually solved (its pins), for the checker
    solution: vrp.Solution
    passes: int
    released: int


def _pin(
    problem: vrp.Problem, pins: Mapping[str, str], held: frozenset[str], hold: int | None
) -> vrp.Problem:
    """Pin ``pins`` to their engineer; ``held`` jobs cost ``hold`` when left out (None: their
    own penalty)."""
    vehicles = {v.id: v for v in problem.vehicles}
    jobs = []
    for job in problem.jobs:
        to = pins.get(job.id)
        if job.pinned_to is None and to in vehicles and job.skills <= vehicles[to].skills:
            job = replace(job, pinned_to=to)
        if hold is not None and job.id in held and job.penalty is not None:
            job = replace(job, penalty=max(job.penalty, hold))
        jobs.append(job)
    return replace(problem, jobs=tuple(jobs))


def _new_left(solution: vrp.Solution, known: frozenset[str]) -> list[str]:
    return sorted(u.job for u in solution.unassigned if u.job not in known)


APART = 10**6  # ranks a job whose windows miss the target's after every job whose do


def _overlap(a: vrp.Job, b: vrp.Job) -> bool:
    return any(x.start <= y.end and y.start <= x.end for x in a.windows for y in b.windows)


def _nearest(problem: vrp.Problem, targets: list[str], pins: Mapping[str, str], k: int) -> set[str]:
    """The ``k`` pinned base jobs nearest to any target job, held by an engineer who could
    serve that target."""
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    scored: dict[str, int] = {}
    for target in (jobs[t] for t in targets):
        able = {v for v, veh in vehicles.items() if target.skills <= veh.skills}
        for job_id, to in pins.items():
            job = jobs.get(job_id)
            if job is None or to not in able:
                continue
            there = problem.travel[target.location][job.location]
            back = problem.travel[job.location][target.location]
            # A job that may run when the target must is likelier in its way.
            apart = 0 if _overlap(job, target) else APART
            score = there + back + apart
            scored[job_id] = min(scored.get(job_id, score), score)
    return set(sorted(scored, key=lambda j: (scored[j], j))[:k])


def solve_stable(
    problem: vrp.Problem,
    base: Mapping[str, str],
    *,
    seconds: float,
    known: frozenset[str] = frozenset(),
    seed: int = 0,
) -> Stable:
    """``base``: the applied plan's routed jobs -> engineer; ``known``: its unassigned jobs
    (they are not new: the re-plan does not move planned work for them)."""
    ids = {job.id for job in problem.jobs}
    pins = {j: v for j, v in base.items() if j in ids}
    held, known = frozenset(pins), known | frozenset(base)
    first = _pin(problem, pins, held, HOLD)
    solution = vrp.solve(first, seconds=seconds / 3, seed=seed)
    targets = _new_left(solution, known)
    if not targets:
        return Stable(first, solution, 1, 0)
    cap = math.floor(MAX_MOVED_SHARE * len(pins))
    steps = sorted({k for k in (1, math.ceil(cap / 2), cap) if 1 <= k <= cap})
    passes = 1
    for k in steps:
        freed = _nearest(first, targets, pins, k)
        if not freed:
            break
        passes += 1
        trial = _pin(problem, {j: v for j, v in pins.items() if j not in freed}, held, HOLD)
        found = vrp.solve(trial, seconds=seconds / 3 / len(steps), seed=seed)
        if len(_new_left(found, known)) < len(targets):
            return Stable(trial, found, passes, len(freed))
    # Moving a few jobs is not enough: the new work may push less important planned work
    # out of its engineer's day (reported unassigned), still without moving anyone.
    last = _pin(problem, pins, held, None)
    found = vrp.solve(last, seconds=seconds / 3, seed=seed)
    if len(_new_left(found, known)) < len(targets):
        return Stable(last, found, passes + 1, 0)
    return Stable(first, solution, passes + 1, 0)


def moved(base: Mapping[str, str], solution: vrp.Solution) -> list[str]:
    """Base jobs now on another engineer."""
    now = {s.job: r.vehicle for r in solution.routes for s in r.stops}
    return sorted(j for j, v in base.items() if j in now and now[j] != v)
