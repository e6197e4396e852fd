"""``solve(problem, seconds=, seed=)``: the day plan, by PyVRP (docs/adr/0011-day-plan-solver.md).

How the model maps onto PyVRP 0.14, which has neither skills nor multiple windows:
- every (job, window) pair is its own PyVRP client at its own PyVRP location; a job with
  several windows becomes a mutually exclusive client group, so exactly one copy is served;
- skills and pins become *profiles*: vehicles that may not serve a job get a profile whose
  travel time into that job's copies is ``FORBIDDEN``. Such an arc makes any route through it
  infeasible (time warp), and only a feasible result is returned, so the arc is never used;
- identical vehicles (same start, end, shift, limits and forbidden jobs) share a vehicle type;
- load dimension 0 is ``Job.demand`` against ``Vehicle.capacity``, dimension 1 counts jobs
  against ``Vehicle.max_jobs``; ``max_work`` is PyVRP's shift duration.
PyVRP runs in this thread, deterministic for a seed and a time limit reached the same way.
"""

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxRuntime

from server.dispatch.vrp.model import (
    Job,
    Objective,
    Problem,
    Route,
    Solution,
    Stop,
    Unassigned,
    Vehicle,
)

FORBIDDEN = 10**9  # travel time into a job a vehicle may not serve
UNLIMITED = 2**40


class NoFeasiblePlan(Exception):
    """The required jobs cannot all be served (make them optional to get a partial plan)."""


@dataclass(frozen=True)
class _Copy:
    job: Job
    window: int  # index into job.windows


@dataclass(frozen=True)
class _Built:
    data: pyvrp.ProblemData
    copies: tuple[_Copy, ...]  # PyVRP client index -> job copy
    type_vehicles: tuple[tuple[Vehicle, ...], ...]  # PyVRP vehicle type -> its vehicles


def solve(problem: Problem, *, seconds: float, seed: int = 0) -> Solution:
    """The best plan found in ``seconds`` (single thread)."""
    for job in problem.jobs:
        if job.penalty is None and not problem.vehicles:
            raise NoFeasiblePlan(f"{problem.name}: required job {job.id}: no engineer")
        if job.penalty is None and len(_banned_for(problem, job)) == len(problem.vehicles):
            raise NoFeasiblePlan(f"{problem.name}: required job {job.id}: {_reason(problem, job)}")
    if not problem.jobs or not problem.vehicles:
        return _translate(problem, None, [])
    built = _build(problem)
    with warnings.catch_warnings():
        # PyVRP warns when it cannot find a feasible plan; we say so with NoFeasiblePlan.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            built.data, stop=MaxRuntime(seconds), seed=seed, collect_stats=False, display=False
        )
    if not result.is_feasible():
        raise NoFeasiblePlan(f"{problem.name}: no feasible plan found in {seconds} s")
    return _translate(problem, built, result.best.routes())


def _may_serve(vehicle: Vehicle, job: Job) -> bool:
    return job.skills <= vehicle.skills and job.pinned_to in (None, vehicle.id)


def _forbidden(problem: Problem, vehicle: Vehicle) -> frozenset[str]:
    return frozenset(j.id for j in problem.jobs if not _may_serve(vehicle, j))


def _build(problem: Problem) -> _Built:
    copies = tuple(_Copy(j, w) for j in problem.jobs for w in range(len(j.windows)))
    depot_locations = sorted(
        {v.start for v in problem.vehicles} | {v.end for v in problem.vehicles}
    )
    depot_index = {loc: i for i, loc in enumerate(depot_locations)}
    # PyVRP locations: the depots first, then one per job copy.
    where = np.array(depot_locations + [c.job.location for c in copies])
    base = np.asarray(problem.travel, dtype=np.int64)[np.ix_(where, where)]
    # Vehicles alike in all but their id share a type; the forbidden jobs pick the profile.
    types: dict[tuple[Vehicle, frozenset[str]], list[Vehicle]] = defaultdict(list)
    profiles: dict[frozenset[str], int] = {frozenset(): 0}
    for vehicle in problem.vehicles:
        banned = _forbidden(problem, vehicle)
        profiles.setdefault(banned, len(profiles))
        types[(replace(vehicle, id=""), banned)].append(vehicle)
    matrices = [_profile_matrix(base, copies, len(depot_locations), b) for b in profiles]
    vehicle_types = [
        _vehicle_type(group[0], len(group), depot_index, profiles[banned])
        for (_, banned), group in types.items()
    ]
    clients, groups = _clients(copies, len(depot_locations))
    # Coordinates are unused (the matrices say everything); PyVRP's stubs spell an
    # ndarray's shape as ``int``, hence the ignores.
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(0, 0) for _ in where],
        clients=clients,
        depots=[pyvrp.Depot(location=i) for i in range(len(depot_locations))],
        vehicle_types=vehicle_types,
        distance_matrices=matrices,  # type: ignore[arg-type]
        duration_matrices=matrices,  # type: ignore[arg-type]
        groups=groups,
    )
    return _Built(data, copies, tuple(tuple(g) for g in types.values()))


def _profile_matrix(
    base: np.ndarray, copies: tuple[_Copy, ...], depots: int, banned: frozenset[str]
) -> np.ndarray:
    matrix = base.copy()
    for index, copy in enumerate(copies):
        if copy.job.id in banned:
            matrix[:, depots + index] = FORBIDDEN
    np.fill_diagonal(matrix, 0)
    return matrix


def _vehicle_type(
    vehicle: Vehicle, count: int, depot_index: dict[int, int], profile: int
) -> pyvrp.VehicleType:
    capacity = UNLIMITED if vehicle.capacity is None else vehicle.capacity
    max_jobs = UNLIMITED if vehicle.max_jobs is None else vehicle.max_jobs
    return pyvrp.VehicleType(
        num_available=count,
        capacity=[capacity, max_jobs],
        start_depot=depot_index[vehicle.start],
        end_depot=depot_index[vehicle.end],
        tw_early=vehicle.shift.start,
        tw_late=vehicle.shift.end,
        shift_duration=UNLIMITED if vehicle.max_work is None else vehicle.max_work,
        profile=profile,
    )


def _clients(
    copies: tuple[_Copy, ...], depots: int
) -> tuple[list[pyvrp.Client], list[pyvrp.ClientGroup]]:
    members: dict[str, list[int]] = defaultdict(list)
    for index, copy in enumerate(copies):
        members[copy.job.id].append(index)
    grouped = {job_id: m for job_id, m in members.items() if len(m) > 1}
    groups: list[pyvrp.ClientGroup] = []
    group_of: dict[str, int] = {}
    for job_id, indices in grouped.items():
        group_of[job_id] = len(groups)
        required = copies[indices[0]].job.penalty is None
        groups.append(pyvrp.ClientGroup(list(indices), required=required))
    clients = []
    for index, copy in enumerate(copies):
        job, window = copy.job, copy.job.windows[copy.window]
        in_group = job.id in group_of
        clients.append(
            pyvrp.Client(
                location=depots + index,
                delivery=[job.demand, 1],
                service_duration=job.service,
                tw_early=window.start,
                tw_late=window.end,
                prize=job.penalty or 0,
                required=job.penalty is None and not in_group,
                group=group_of.get(job.id),
            )
        )
    return clients, groups


def _translate(problem: Problem, built: _Built | None, found: list[pyvrp.Route]) -> Solution:
    routes: list[Route] = []
    if built is not None:
        taken: dict[int, int] = defaultdict(int)
        for pyvrp_route in found:
            kind = pyvrp_route.vehicle_type()
            vehicle = built.type_vehicles[kind][taken[kind]]
            taken[kind] += 1
            stops = tuple(
                Stop(
                    job=built.copies[act.idx].job.id,
                    arrival=act.start_time - act.wait_duration,
                    start=act.start_time,
                    end=act.end_time,
                )
                for act in pyvrp_route.schedule()
                if act.is_client()
            )
            routes.append(
                Route(vehicle.id, pyvrp_route.start_time(), stops, pyvrp_route.end_time())
            )
    served = {s.job for r in routes for s in r.stops}
    unassigned = tuple(
        Unassigned(j.id, _reason(problem, j)) for j in problem.jobs if j.id not in served
    )
    jobs = {j.id: j for j in problem.jobs}
    objective = Objective(
        travel=sum(_travel(problem, r, jobs) for r in routes),
        vehicles=sum(1 for r in routes if r.stops),
        penalty=sum(j.penalty or 0 for j in problem.jobs if j.id not in served),
        assigned_priority=sum(j.priority for j in problem.jobs if j.id in served),
    )
    return Solution(tuple(routes), unassigned, objective)


def _travel(problem: Problem, route: Route, jobs: dict[str, Job]) -> int:
    vehicle = problem.vehicle(route.vehicle)
    path = [vehicle.start, *(jobs[s.job].location for s in route.stops), vehicle.end]
    return sum(problem.travel[a][b] for a, b in itertools.pairwise(path))


def _reason(problem: Problem, job: Job) -> str:
    """Why a job was left out, the first cause that explains it."""
    allowed = [v for v in problem.vehicles if v.id not in _banned_for(problem, job)]
    if not problem.vehicles:
        return "no engineer in the plan"
    if not allowed:
        if job.pinned_to is not None:
            return f"pinned to {job.pinned_to}, which cannot serve it or is not in the plan"
        return f"no engineer has the skills {sorted(job.skills)}"
    for vehicle in allowed:
        out = problem.travel[vehicle.start][job.location]
        back = problem.travel[job.location][vehicle.end]
        for window in job.windows:
            start = max(vehicle.shift.start + out, window.start)
            if start <= window.end and start + job.service + back <= vehicle.shift.end:
                return "no room in any engineer's day (cheaper to leave out than to serve)"
    return "no window can be reached within any qualified engineer's shift"


def _banned_for(problem: Problem, job: Job) -> set[str]:
    return {v.id for v in problem.vehicles if not _may_serve(v, job)}
