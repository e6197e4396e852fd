"""Day-plan quality on the 56 Solomon VRPTW instances: ours (PyVRP behind
``server.dispatch.vrp.solve``) vs. OR-Tools, same run, same time limit, one thread each.

Every instance is solved by both with BENCH_SOLOMON_SECONDS (default 10) each; the two
solvers run in two parallel processes (one core each on the 2-core machine), each going
through the instances in order. Every plan, ours and OR-Tools', is validated by the
independent checker (``server.dispatch.vrp.check``); an infeasible plan or "no solution"
is a failure. Gaps are to the best-known distance in the DIMACS convention (distances
truncated to one decimal, cost = total distance), as fractions (0.01 = 1 %).

OR-Tools is modelled as its VRPTW guide does, with the same integer (tenths) matrix:
arc cost = travel, a time dimension (transit = service at the origin + travel, waiting
allowed, every customer's window and the depot's as the vehicles' shift), a capacity
dimension, PARALLEL_CHEAPEST_INSERTION first solution and GUIDED_LOCAL_SEARCH.

The ratio is OR-Tools' total distance over ours on the instances both solved (above 1:
ours is shorter). The runner repeats a benchmark BENCH_RUNS times (default 3): one run of
this one takes about 2 x 56 x seconds / 2 cores (about 10 minutes at 10 s), so
``BENCH_RUNS=1`` is the sensible setting; the solvers are deterministic for a seed apart
from where the time limit cuts them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import ortools_search
from benchmarks.common import Goal
from server.dispatch import vrp

DESCRIPTION = "Solomon VRPTW, 56 instances: ours (PyVRP) vs. OR-Tools, same limit, gap (DIMACS)"
GOAL = Goal("mean gap to best-known (DIMACS) <= 0.01", at_most=0.01)
# The team's benchmark data beside the repository (all 56 instances); BENCH_SOLOMON_DATA
# names another folder of the same layout.
DATA = Path(
    os.environ.get("BENCH_SOLOMON_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "vrptw"
)
SECONDS = float(os.environ.get("BENCH_SOLOMON_SECONDS", "10"))


def _instances() -> list[Path]:
    return sorted((DATA / "solomon").glob("*.txt"))


def _ours(path: Path, seconds: float) -> vrp.Solution | None:
    try:
        return vrp.solve(vrp.solomon.read(path), seconds=seconds, seed=0)
    except vrp.NoFeasiblePlan:
        return None


# At the top of benchmarks/results/solomon.json too (gaps as fractions: 0.01 = 1 %).
SUMMARY = (
    "mean_gap",
    "worst_gap",
    "ortools_mean_gap",
    "ortools_worst_gap",
    "no_worse_share",
    "feasible_share",
    "rows",
)


def _ortools(path: Path, seconds: float) -> vrp.Solution | None:
    from ortools.constraint_solver import pywrapcp

    problem = vrp.solomon.read(path)
    jobs, fleet = problem.jobs, problem.vehicles
    manager = pywrapcp.RoutingIndexManager(len(jobs) + 1, len(fleet), 0)
    routing = pywrapcp.RoutingModel(manager)
    service = [0, *(j.service for j in jobs)]
    demand = [0, *(j.demand for j in jobs)]

    def travel(i: int, j: int) -> int:
        return problem.travel[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def transit(i: int, j: int) -> int:
        return service[manager.IndexToNode(i)] + travel(i, j)

    arc = routing.RegisterTransitCallback(travel)
    routing.SetArcCostEvaluatorOfAllVehicles(arc)
    shift = fleet[0].shift
    routing.AddDimension(routing.RegisterTransitCallback(transit), shift.end, shift.end, False, "T")
    time_dim = routing.GetDimensionOrDie("T")
    for node, job in enumerate(jobs, start=1):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(
            job.windows[0].start, job.windows[0].end
        )
    for v in range(len(fleet)):
        time_dim.CumulVar(routing.Start(v)).SetRange(shift.start, shift.end)
        time_dim.CumulVar(routing.End(v)).SetRange(shift.start, shift.end)
    load = routing.RegisterUnaryTransitCallback(lambda i: demand[manager.IndexToNode(i)])
    routing.AddDimensionWithVehicleCapacity(load, 0, [v.capacity or 0 for v in fleet], True, "Load")
    found = ortools_search.solve(routing, seconds)
    if found is None:
        return None
    routes = []
    for v, vehicle in enumerate(fleet):
        index, stops = routing.Start(v), []
        departure = found.Min(time_dim.CumulVar(index))
        free, where = departure, vehicle.start
        index = found.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            job = jobs[manager.IndexToNode(index) - 1]
            start = found.Min(time_dim.CumulVar(index))
            stops.append(
                vrp.Stop(
                    job.id, free + problem.travel[where][job.location], start, start + job.service
                )
            )
            free, where = start + job.service, job.location
            index = found.Value(routing.NextVar(index))
        back = max(found.Min(time_dim.CumulVar(index)), free + problem.travel[where][vehicle.end])
        routes.append(vrp.Route(vehicle.id, departure, tuple(stops), back))
    return _solution(problem, routes)


def _solution(problem: vrp.Problem, routes: list[vrp.Route]) -> vrp.Solution:
    """OR-Tools' routes with the objective computed from the matrix (the checker recomputes
    it again, so this cannot flatter OR-Tools)."""
    location = {j.id: j.location for j in problem.jobs}
    travel = 0
    for route in routes:
        path = [0, *(location[s.job] for s in route.stops), 0] if route.stops else []
        travel += sum(problem.travel[a][b] for a, b in itertools.pairwise(path))
    served = {s.job for r in routes for s in r.stops}
    objective = vrp.Objective(
        travel=travel,
        vehicles=sum(1 for r in routes if r.stops),
        penalty=0,
        assigned_priority=sum(j.priority for j in problem.jobs if j.id in served),
    )
    missing = tuple(vrp.Unassigned(j.id, "not routed") for j in problem.jobs if j.id not in served)
    return vrp.Solution(tuple(routes), missing, objective)


def _solve_all(engine: str, seconds: float) -> list[dict[str, Any]]:
    """One engine over every instance, in this (child) process."""
    solve = _ours if engine == "ours" else _ortools
    rows = []
    for path in _instances():
        started = time.perf_counter()
        solution = solve(path, seconds)
        elapsed = round(time.perf_counter() - started, 2)
        problem = vrp.solomon.read(path)
        if solution is None:
            rows.append({"instance": problem.name, "feasible": False, "seconds": elapsed})
            continue
        violations = vrp.check(problem, solution)
        rows.append(
            {
                "instance": problem.name,
                "feasible": not violations and not solution.unassigned,
                "violations": [str(v) for v in violations[:3]],
                "vehicles": solution.objective.vehicles,
                "distance": solution.objective.travel / problem.scale,
                "seconds": elapsed,
            }
        )
    return rows


def _table(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = vrp.solomon.best_known(DATA / "solomon_bks.csv")
    rows = []
    for a, b in zip(ours, theirs, strict=True):
        best = known[a["instance"]]
        gap = vrp.solomon.gap(a["distance"], best) if a["feasible"] else None
        other = vrp.solomon.gap(b["distance"], best) if b["feasible"] else None
        rows.append(
            {
                "instance": a["instance"],
                "bks_vehicles": best.vehicles,
                "bks_distance": best.distance,
                "vehicles": a.get("vehicles"),
                "distance": a.get("distance"),
                "gap": None if gap is None else round(gap, 5),
                "feasible": a["feasible"],
                "ortools_vehicles": b.get("vehicles"),
                "ortools_distance": b.get("distance"),
                "ortools_gap": None if other is None else round(other, 5),
                "ortools_feasible": b["feasible"],
                "no_worse": gap is not None and (other is None or gap <= other + 1e-9),
            }
        )
    return rows


async def run() -> dict[str, Any]:
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        loop = asyncio.get_running_loop()
        ours, theirs = await asyncio.gather(
            loop.run_in_executor(pool, _solve_all, "ours", SECONDS),
            loop.run_in_executor(pool, _solve_all, "ortools", SECONDS),
        )
    rows = _table(ours, theirs)
    return _summary(rows, time.perf_counter() - started)


def _summary(rows: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    gaps = [r["gap"] for r in rows if r["gap"] is not None]
    other = [r["ortools_gap"] for r in rows if r["ortools_gap"] is not None]
    both = [r for r in rows if r["gap"] is not None and r["ortools_gap"] is not None]
    n = len(rows)
    mean_gap = round(statistics.fmean(gaps), 5) if gaps else 1.0
    worst_gap = round(max(gaps), 5) if gaps else 1.0
    no_worse = round(sum(r["no_worse"] for r in rows) / n, 4)
    feasible = round(sum(r["feasible"] for r in rows) / n, 4)
    ratio = sum(r["ortools_distance"] for r in both) / sum(r["distance"] for r in both)
    return {
        "description": DESCRIPTION,
        "seconds_per_instance": SECONDS,
        "mean_gap": mean_gap,
        "worst_gap": worst_gap,
        "ortools_mean_gap": round(statistics.fmean(other), 5) if other else None,
        "ortools_worst_gap": round(max(other), 5) if other else None,
        "ortools_failures": sum(not r["ortools_feasible"] for r in rows),
        "no_worse_share": no_worse,
        "feasible_share": feasible,
        "ratio": round(ratio, 4),
        "ratio_means": "OR-Tools total distance / ours, instances both solved (>1: ours shorter)",
        "judged": mean_gap,
        "checks_met": worst_gap <= 0.03 and no_worse >= 0.9 and feasible == 1.0,
        "brief": {"mean_gap": mean_gap, "worst_gap": worst_gap, "no_worse": no_worse},
        "figures": {"instances": n, "wall_s": round(wall, 1)},
        "rows": rows,
        "summary_keys": SUMMARY,
    }
