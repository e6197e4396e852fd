"""An independent feasibility check of a plan: written from the model's definition
(server/dispatch/vrp/model.py), sharing no code with the solver, so a solver bug cannot
hide behind itself.

Checked: every job at most once and every required job once, known ids, one route per
vehicle, pinned jobs on their vehicle, the job's skills a subset of the vehicle's, times
(leave no earlier than the shift start; arrive no earlier than the previous end plus
travel; start no earlier than arrival and inside one of the job's windows; end = start +
service; back at the end location no earlier than the last end plus travel and by the
shift end), capacity (demand, job count, working time) and the objective's travel, vehicle
count, penalty and priority recomputed from the matrix. An empty list means feasible.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

from server.dispatch.vrp.model import Job, Problem, Route, Solution, Vehicle


@dataclass(frozen=True)
class Violation:
    kind: str  # duplicate, missing, unknown, pinned, skills, time, shift, capacity, cost
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def check(problem: Problem, solution: Solution) -> list[Violation]:
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    found = _coverage(problem, solution, jobs, vehicles)
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None:
            continue
        known = [jobs[s.job] for s in route.stops if s.job in jobs]
        found += _assignment(vehicle, known)
        found += _timing(problem, vehicle, route, jobs)
        found += _capacity(vehicle, route, known)
    return found + _objective(problem, solution, jobs)


def _coverage(
    problem: Problem, solution: Solution, jobs: dict[str, Job], vehicles: dict[str, Vehicle]
) -> list[Violation]:
    found: list[Violation] = []
    served = Counter(s.job for r in solution.routes for s in r.stops)
    left = Counter(u.job for u in solution.unassigned)
    for job_id, times in (served + left).items():
        if job_id not in jobs:
            found.append(Violation("unknown", f"job {job_id} is not in the problem"))
        elif times > 1:
            found.append(Violation("duplicate", f"job {job_id} appears {times} times"))
    for job in problem.jobs:
        if job.penalty is None and served[job.id] == 0:
            found.append(Violation("missing", f"required job {job.id} is not served"))
        elif served[job.id] == 0 and left[job.id] == 0:
            found.append(Violation("missing", f"job {job.id} is neither served nor unassigned"))
    for vehicle_id, times in Counter(r.vehicle for r in solution.routes).items():
        if vehicle_id not in vehicles:
            found.append(Violation("unknown", f"vehicle {vehicle_id} is not in the problem"))
        elif times > 1:
            found.append(Violation("duplicate", f"vehicle {vehicle_id} has {times} routes"))
    return found


def _assignment(vehicle: Vehicle, jobs: list[Job]) -> list[Violation]:
    found: list[Violation] = []
    for job in jobs:
        if job.pinned_to is not None and job.pinned_to != vehicle.id:
            found.append(
                Violation("pinned", f"job {job.id} is pinned to {job.pinned_to}, on {vehicle.id}")
            )
        missing = job.skills - vehicle.skills
        if missing:
            found.append(
                Violation("skills", f"{vehicle.id} lacks {sorted(missing)} for job {job.id}")
            )
    return found


def _timing(
    problem: Problem, vehicle: Vehicle, route: Route, jobs: dict[str, Job]
) -> list[Violation]:
    found: list[Violation] = []
    where, free = vehicle.start, route.departure
    if route.departure < vehicle.shift.start:
        found.append(Violation("shift", f"{vehicle.id} leaves before its shift starts"))
    for stop in route.stops:
        job = jobs.get(stop.job)
        if job is None:
            continue
        earliest = free + problem.travel[where][job.location]
        if stop.arrival < earliest:
            found.append(Violation("time", f"job {job.id}: arrival before {earliest}"))
        if stop.start < stop.arrival:
            found.append(Violation("time", f"job {job.id}: starts before arrival"))
        if not any(w.start <= stop.start <= w.end for w in job.windows):
            found.append(Violation("time", f"job {job.id}: start {stop.start} outside windows"))
        if stop.end != stop.start + job.service:
            found.append(Violation("time", f"job {job.id}: end is not start + service"))
        where, free = job.location, stop.end
    if route.back < free + problem.travel[where][vehicle.end]:
        found.append(Violation("shift", f"{vehicle.id} is back before it can travel there"))
    if route.back > vehicle.shift.end:
        found.append(Violation("shift", f"{vehicle.id} is back at {route.back}, after its shift"))
    return found


def _capacity(vehicle: Vehicle, route: Route, jobs: list[Job]) -> list[Violation]:
    found: list[Violation] = []
    load = sum(j.demand for j in jobs)
    if vehicle.capacity is not None and load > vehicle.capacity:
        found.append(Violation("capacity", f"{vehicle.id} carries {load} > {vehicle.capacity}"))
    if vehicle.max_jobs is not None and len(jobs) > vehicle.max_jobs:
        found.append(Violation("capacity", f"{vehicle.id} has {len(jobs)} jobs"))
    work = route.back - route.departure
    if vehicle.max_work is not None and work > vehicle.max_work:
        found.append(Violation("capacity", f"{vehicle.id} works {work} > {vehicle.max_work}"))
    return found


def _objective(problem: Problem, solution: Solution, jobs: dict[str, Job]) -> list[Violation]:
    vehicles = {v.id: v for v in problem.vehicles}
    travel = 0
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None or not route.stops:
            continue
        path = [vehicle.start, *(jobs[s.job].location for s in route.stops if s.job in jobs)]
        path.append(vehicle.end)
        travel += sum(problem.travel[a][b] for a, b in itertools.pairwise(path))
    used = sum(1 for r in solution.routes if r.stops)
    served = {s.job for r in solution.routes for s in r.stops}
    penalty = sum(j.penalty or 0 for j in problem.jobs if j.id not in served)
    priority = sum(j.priority for j in problem.jobs if j.id in served)
    expected = (travel, used, penalty, priority)
    o = solution.objective
    reported = (o.travel, o.vehicles, o.penalty, o.assigned_priority)
    if expected != reported:
        return [Violation("cost", f"objective {reported} != recomputed {expected}")]
    return []
