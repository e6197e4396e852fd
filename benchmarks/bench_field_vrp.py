"""Field realism: ours (``server.dispatch.vrp.solve``) vs. OR-Tools on field-service days
generated from Solomon instances (benchmarks/field_cases.py: skills, engineers starting at
home or at the depot, staggered shifts, a fleet too small for every job, urgent jobs with
SLA deadlines, priorities P1-P4 as penalties that dominate travel).

Cases: BENCH_FIELD_CASES (default 24), case i takes family i mod 6 (C1, C2, R1, R2, RC1,
RC2), the family's instance 5 x (i div 6) mod its size, seed i, and a fleet of
ceil(0.8 x the DIMACS best-known vehicle count) engineers (at most 25), so not every job
fits. Both solvers get BENCH_FIELD_SECONDS (default 10) per case, one thread each, in two
parallel processes (one core each), as bench_solomon does.

OR-Tools gets the same model: the same integer matrix as arc cost, allowed vehicles per job
(the engineers with the job's skills: the others removed from the job's ``VehicleVar``, as
``SetAllowedVehiclesForIndex`` would, whose Python binding is broken in 9.15), each engineer's own
start and end node, a time dimension (transit = service at the origin + travel, waiting
allowed, the job's window on its node, the shift on the engineer's start and end), a
capacity dimension, one disjunction per job with the job's penalty, and
PARALLEL_CHEAPEST_INSERTION + GUIDED_LOCAL_SEARCH. Its routes are turned into a plan with
times computed from its time dimension and the matrix; both plans go through the
independent checker (``server.dispatch.vrp.check``) and every violation found counts as a
hard violation; a solver that returns nothing counts as a failure.

Per case: the priority-weighted assigned work (sum of the weights P1 1000, P2 300, P3 100,
P4 30 of the served jobs), the travel (Solomon units), the P1 jobs served, the violations.
The headline ``ratio`` is the mean over cases of ours / OR-Tools' weighted assigned work
(above 1: ours assigns more); the goal is judged on the share of cases where ours assigns
at least as much as OR-Tools; ``checks_met`` says ours had 0 hard violations and no failure.
``mean_travel_ratio`` is ours / OR-Tools' travel over the cases where both assign the same
weighted work (where they differ, travel is not comparable); ``mean_travel_ratio_all`` is
the same over every case.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import ortools_search
from benchmarks.common import Goal
from benchmarks.field_cases import FieldCase, field_case, weighted_work
from server.dispatch import vrp

DESCRIPTION = (
    "Field realism (Solomon + skills, homes, shifts, SLAs, priorities): ours vs. OR-Tools, "
    "priority-weighted assigned work"
)
GOAL = Goal("share of cases with weighted assigned work >= OR-Tools' >= 0.9", at_least=0.9)
DATA = Path(
    os.environ.get("BENCH_SOLOMON_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "vrptw"
)
SECONDS = float(os.environ.get("BENCH_FIELD_SECONDS", "10"))
CASES = int(os.environ.get("BENCH_FIELD_CASES", "24"))
FAMILIES = ("C1", "C2", "R1", "R2", "RC1", "RC2")
FLEET_SHARE = 0.8  # of the best-known vehicle count
MAX_FLEET = 25


def cases(count: int, data: Path = DATA) -> list[FieldCase]:
    """The benchmark's cases, deterministically."""
    by_family: dict[str, list[Path]] = {f: [] for f in FAMILIES}
    for path in sorted((data / "solomon").glob("*.txt")):
        by_family[path.stem.upper()[:-2]].append(path)
    known = vrp.solomon.best_known(data / "solomon_bks.csv")
    found = []
    for i in range(count):
        paths = by_family[FAMILIES[i % len(FAMILIES)]]
        base = vrp.solomon.read(paths[(5 * (i // len(FAMILIES))) % len(paths)])
        fleet = min(MAX_FLEET, math.ceil(FLEET_SHARE * known[base.name].vehicles))
        found.append(field_case(base, seed=i, fleet=fleet))
    return found


def _ours(problem: vrp.Problem, seconds: float) -> vrp.Solution | None:
    try:
        return vrp.solve(problem, seconds=seconds, seed=0)
    except vrp.NoFeasiblePlan:
        return None


# At the top of benchmarks/results/field_vrp.json too.
SUMMARY = (
    "cases",
    "hard_violations",
    "ortools_hard_violations",
    "assigned_no_worse_share",
    "mean_weighted_assigned_ratio",
    "mean_travel_ratio_all",
    "rows",
)


def ortools(problem: vrp.Problem, seconds: float) -> vrp.Solution | None:
    """OR-Tools on the same model (see the module docstring), as a checked-format plan."""
    from ortools.constraint_solver import pywrapcp

    jobs, fleet = problem.jobs, problem.vehicles
    depots = sorted({v.start for v in fleet} | {v.end for v in fleet})
    # Nodes: the jobs, then one node per engineer start/end place.
    place = [j.location for j in jobs] + depots
    node_of = {loc: len(jobs) + i for i, loc in enumerate(depots)}
    manager = pywrapcp.RoutingIndexManager(
        len(place), len(fleet), [node_of[v.start] for v in fleet], [node_of[v.end] for v in fleet]
    )
    routing = pywrapcp.RoutingModel(manager)
    service = [j.service for j in jobs] + [0] * len(depots)
    demand = [j.demand for j in jobs] + [0] * len(depots)

    def travel(i: int, j: int) -> int:
        return problem.travel[place[int(manager.IndexToNode(i))]][
            place[int(manager.IndexToNode(j))]
        ]

    def transit(i: int, j: int) -> int:
        return service[int(manager.IndexToNode(i))] + travel(i, j)

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(travel))
    # The dimension's capacity bounds every cumul: the latest of the shifts and the windows.
    horizon = max([v.shift.end for v in fleet] + [j.windows[0].end for j in jobs])
    routing.AddDimension(routing.RegisterTransitCallback(transit), horizon, horizon, False, "T")
    clock = routing.GetDimensionOrDie("T")
    load = routing.RegisterUnaryTransitCallback(lambda i: demand[manager.IndexToNode(i)])
    capacities = [v.capacity if v.capacity is not None else sum(demand) for v in fleet]
    routing.AddDimensionWithVehicleCapacity(load, 0, capacities, True, "Load")
    for node, job in enumerate(jobs):
        index = manager.NodeToIndex(node)
        clock.CumulVar(index).SetRange(job.windows[0].start, job.windows[0].end)
        # SetAllowedVehiclesForIndex's Python binding refuses every list in OR-Tools 9.15
        # ("argument 2 of type absl::Span<int const>"), so the classic equivalent: take the
        # engineers without the skills out of the job's vehicle variable.
        banned = [k for k, v in enumerate(fleet) if not job.skills <= v.skills]
        routing.VehicleVar(index).RemoveValues(banned)
        routing.AddDisjunction([index], job.penalty or 0)
    for k, vehicle in enumerate(fleet):
        for index in (routing.Start(k), routing.End(k)):
            clock.CumulVar(index).SetRange(vehicle.shift.start, vehicle.shift.end)
    found = ortools_search.solve(routing, seconds)
    if found is None:
        return None
    routes = []
    for k, vehicle in enumerate(fleet):
        index = found.Value(routing.NextVar(routing.Start(k)))
        if routing.IsEnd(index):
            continue  # an engineer OR-Tools did not use: no route, as ours reports it
        departure = found.Min(clock.CumulVar(routing.Start(k)))
        free, where, stops = departure, vehicle.start, []
        while not routing.IsEnd(index):
            job = jobs[manager.IndexToNode(index)]
            start = found.Min(clock.CumulVar(index))
            arrival = free + problem.travel[where][job.location]
            stops.append(vrp.Stop(job.id, arrival, start, start + job.service))
            free, where = start + job.service, job.location
            index = found.Value(routing.NextVar(index))
        back = max(found.Min(clock.CumulVar(index)), free + problem.travel[where][vehicle.end])
        routes.append(vrp.Route(vehicle.id, departure, tuple(stops), back))
    return _solution(problem, routes)


def _solution(problem: vrp.Problem, routes: list[vrp.Route]) -> vrp.Solution:
    """Routes with the objective computed from the matrix (the checker recomputes it)."""
    location = {j.id: j.location for j in problem.jobs}
    travel = 0
    for route in routes:
        vehicle = problem.vehicle(route.vehicle)
        path = [vehicle.start, *(location[s.job] for s in route.stops), vehicle.end]
        travel += sum(problem.travel[a][b] for a, b in itertools.pairwise(path))
    served = {s.job for r in routes for s in r.stops}
    objective = vrp.Objective(
        travel=travel,
        vehicles=sum(1 for r in routes if r.stops),
        penalty=sum(j.penalty or 0 for j in problem.jobs if j.id not in served),
        assigned_priority=sum(j.priority for j in problem.jobs if j.id in served),
    )
    missing = tuple(vrp.Unassigned(j.id, "not routed") for j in problem.jobs if j.id not in served)
    return vrp.Solution(tuple(routes), missing, objective)


def measure(case: FieldCase, solution: vrp.Solution | None, elapsed: float) -> dict[str, Any]:
    """One solver's figures on one case."""
    problem = case.problem
    if solution is None:
        return {"solved": False, "weighted": 0, "violations": 0, "seconds": elapsed}
    violations = vrp.check(problem, solution)
    served = {s.job for r in solution.routes for s in r.stops}
    return {
        "solved": True,
        "weighted": weighted_work(case, served),
        "travel": solution.objective.travel / problem.scale,
        "served": len(served),
        "p1_served": sum(1 for j in served if case.level[j] == 1),
        "engineers": solution.objective.vehicles,
        "violations": len(violations),
        "violation_examples": [str(v) for v in violations[:3]],
        "seconds": elapsed,
    }


def _solve_all(engine: str, seconds: float, count: int) -> list[dict[str, Any]]:
    """One engine over every case, in this (child) process."""
    solve = _ours if engine == "ours" else ortools
    rows = []
    for case in cases(count):
        started = time.perf_counter()
        solution = solve(case.problem, seconds)
        rows.append(measure(case, solution, round(time.perf_counter() - started, 2)))
    return rows


def _table(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for case, a, b in zip(cases(len(ours)), ours, theirs, strict=True):
        problem = case.problem
        rows.append(
            {
                "case": problem.name,
                "jobs": len(problem.jobs),
                "urgent": len(case.urgent),
                "p1_jobs": sum(1 for v in case.level.values() if v == 1),
                "engineers": len(problem.vehicles),
                "weighted_total": weighted_work(case, {j.id for j in problem.jobs}),
                "ours": a,
                "ortools": b,
                "weighted_ratio": a["weighted"] / b["weighted"] if b["weighted"] else None,
                "travel_ratio": a["travel"] / b["travel"]
                if a["solved"] and b["solved"] and b["travel"]
                else None,
                "no_worse": a["solved"] and a["weighted"] >= b["weighted"],
            }
        )
    return rows


async def run() -> dict[str, Any]:
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        loop = asyncio.get_running_loop()
        ours, theirs = await asyncio.gather(
            loop.run_in_executor(pool, _solve_all, "ours", SECONDS, CASES),
            loop.run_in_executor(pool, _solve_all, "ortools", SECONDS, CASES),
        )
    return _summary(_table(ours, theirs), time.perf_counter() - started)


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _summary(rows: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    n = len(rows)
    hard = sum(r["ours"]["violations"] for r in rows)
    failures = sum(not r["ours"]["solved"] for r in rows)
    no_worse = round(sum(r["no_worse"] for r in rows) / n, 4)
    weighted = _mean([r["weighted_ratio"] for r in rows if r["weighted_ratio"] is not None])
    tied = [
        r["travel_ratio"]
        for r in rows
        if r["travel_ratio"] is not None and r["ours"]["weighted"] == r["ortools"]["weighted"]
    ]
    every = [r["travel_ratio"] for r in rows if r["travel_ratio"] is not None]
    return {
        "description": DESCRIPTION,
        "seconds_per_case": SECONDS,
        "cases": n,
        "hard_violations": hard,
        "failures": failures,
        "ortools_hard_violations": sum(r["ortools"]["violations"] for r in rows),
        "ortools_failures": sum(not r["ortools"]["solved"] for r in rows),
        "assigned_no_worse_share": no_worse,
        "assigned_better": sum(r["ours"]["weighted"] > r["ortools"]["weighted"] for r in rows),
        "assigned_tied": sum(r["ours"]["weighted"] == r["ortools"]["weighted"] for r in rows),
        "mean_weighted_assigned_ratio": weighted,
        "mean_travel_ratio": _mean(tied),
        "mean_travel_ratio_cases": len(tied),
        "mean_travel_ratio_means": "ours / OR-Tools travel, cases with equal weighted work",
        "mean_travel_ratio_all": _mean(every),
        "ratio": weighted if weighted is not None else 0.0,
        "ratio_means": "mean of ours / OR-Tools' priority-weighted assigned work (>1: ours more)",
        "judged": no_worse,
        "checks_met": hard == 0 and failures == 0,
        "brief": {"no_worse": no_worse, "hard_violations": hard, "weighted_ratio": weighted},
        "figures": {"cases": n, "seconds_per_case": SECONDS, "wall_s": round(wall, 1)},
        "rows": rows,
        "summary_keys": SUMMARY,
    }
