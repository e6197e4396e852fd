"""Field-service day plans generated from Solomon instances, deterministically for a seed.

A Solomon instance gives the places, the matrix (tenths), the windows, services and
demands. On top of it ``field_case`` adds what a field-service day has and Solomon lacks:

- **skills**: four trades; each job needs 0-2 of them (45 % none, 40 % one, 15 % two);
  each engineer has 1-3, and where no engineer covers a job's skills the missing ones are
  given to a random engineer, so every job is servable by someone's skills;
- **engineers** (``fleet`` of them, the caller keeps it small enough that not every job
  fits): each starts at home (a random customer's place) or, one in three, at the depot,
  and ends at home, or, one in four, at the depot;
- **shifts**: 55-85 % of the depot's horizon, staggered at random within it (an engineer
  whose home is more than half the horizon's drive from the depot ends at home);
- **urgent jobs** (15 %): an SLA deadline, the window's end pulled in to a third of the
  window (never before its start), and priority P1 (two thirds) or P2;
- **priorities** for the rest: P2 20 %, P3 40 %, P4 40 %. An optional job's ``penalty``
  is its priority's weight (P1 1000, P2 300, P3 100, P4 30) x ``PENALTY_SCALE`` = 100, so
  leaving out even a P4 job (3,000 tenths) costs more than the longest detour a Solomon
  map allows (about 2 x 1,414 tenths): assigned work dominates travel, priority first.
  ``Job.priority`` holds the weight, so ``Objective.assigned_priority`` is the
  priority-weighted assigned work.

Capacities (van space) stay Solomon's. Everything is drawn from ``random.Random(seed)``
in a fixed order, so a seed and an instance give the same case on any machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from server.dispatch.vrp import Job, Problem, Vehicle, Window

SKILLS = ("electric", "gas", "plumbing", "refrigeration")
WEIGHTS = {1: 1000, 2: 300, 3: 100, 4: 30}  # priority level -> weight (P1 most important)
PENALTY_SCALE = 100
URGENT_SHARE = 0.15


@dataclass(frozen=True)
class FieldCase:
    problem: Problem
    level: dict[str, int]  # job id -> priority level 1-4
    urgent: frozenset[str]  # job ids with an SLA deadline
    seed: int
    base: str  # the Solomon instance


def field_case(base: Problem, *, seed: int, fleet: int) -> FieldCase:
    """The Solomon instance ``base`` as a field-service day for ``fleet`` engineers."""
    rng = random.Random(seed)
    horizon = base.vehicles[0].shift
    jobs, level, urgent = _jobs(base, rng)
    vehicles = _cover_skills(jobs, _engineers(base, rng, fleet, horizon), rng)
    problem = replace(base, name=f"{base.name}-field-s{seed}", jobs=jobs, vehicles=vehicles)
    return FieldCase(problem, level, frozenset(urgent), seed, base.name)


def _jobs(base: Problem, rng: random.Random) -> tuple[tuple[Job, ...], dict[str, int], set[str]]:
    jobs, level, urgent = [], {}, set()
    for job in base.jobs:
        count = rng.choices((0, 1, 2), weights=(45, 40, 15))[0]
        skills = frozenset(rng.sample(SKILLS, count))
        window = job.windows[0]
        if rng.random() < URGENT_SHARE:
            urgent.add(job.id)
            level[job.id] = 1 if rng.random() < 2 / 3 else 2
            deadline = window.start + (window.end - window.start) // 3
            window = Window(window.start, max(window.start, deadline))
        else:
            level[job.id] = rng.choices((2, 3, 4), weights=(20, 40, 40))[0]
        weight = WEIGHTS[level[job.id]]
        jobs.append(
            replace(
                job,
                skills=skills,
                windows=(window,),
                priority=weight,
                penalty=weight * PENALTY_SCALE,
            )
        )
    return tuple(jobs), level, urgent


def _engineers(base: Problem, rng: random.Random, fleet: int, horizon: Window) -> list[Vehicle]:
    depot = base.vehicles[0].start
    places = sorted({j.location for j in base.jobs})
    capacity = base.vehicles[0].capacity
    span = horizon.end - horizon.start
    engineers = []
    for index in range(fleet):
        home = depot if rng.random() < 1 / 3 else rng.choice(places)
        end = depot if rng.random() < 1 / 4 else home
        if base.travel[home][end] > span // 2:
            end = home  # a day that is all driving is no day
        length = int(span * rng.uniform(0.55, 0.85))
        begin = horizon.start + rng.randint(0, span - length)
        count = rng.randint(1, 3)
        engineers.append(
            Vehicle(
                id=f"e{index + 1}",
                start=home,
                end=end,
                shift=Window(begin, begin + length),
                skills=frozenset(rng.sample(SKILLS, count)),
                capacity=capacity,
            )
        )
    return engineers


def _cover_skills(
    jobs: tuple[Job, ...], vehicles: list[Vehicle], rng: random.Random
) -> tuple[Vehicle, ...]:
    for job in jobs:
        if not any(job.skills <= v.skills for v in vehicles):
            pick = rng.randrange(len(vehicles))
            vehicles[pick] = replace(vehicles[pick], skills=vehicles[pick].skills | job.skills)
    return tuple(vehicles)


def weighted_work(case: FieldCase, served: set[str]) -> int:
    """The sum of the priority weights of the served jobs."""
    return sum(WEIGHTS[case.level[j]] for j in served)
