"""Solomon (1987) VRPTW text files into the model, in the DIMACS convention.

DIMACS (../shared/data/vrptw/SOURCES.md): the distance between two customers is the
Euclidean distance truncated to one decimal, travel time equals distance, and the objective
is the total distance only. We hold everything in tenths (``Problem.scale`` = 10), so the
truncated distance is an exact integer: ``floor(10 * hypot(dx, dy))``. Ready times, due
dates and service times are multiplied by 10 as well. The fleet is NUMBER identical vehicles
of CAPACITY, starting and ending at the depot (customer 0) within the depot's window.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from server.dispatch.vrp.model import Job, Problem, Solution, Vehicle, Window

SCALE = 10


@dataclass(frozen=True)
class BestKnown:
    vehicles: int
    distance: float  # DIMACS


def parse(text: str, name: str = "") -> Problem:
    """A Solomon instance from its text."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    name = name or lines[0][0]
    head = next(i for i, ln in enumerate(lines) if ln[0].upper() == "NUMBER")
    count, capacity = int(lines[head + 1][0]), int(lines[head + 1][1])
    rows = [ln for ln in lines[head + 2 :] if ln[0].isdigit()]
    if not rows or int(rows[0][0]) != 0:
        raise ValueError(f"{name}: the customer table must start with the depot (0)")
    xy = [(float(r[1]), float(r[2])) for r in rows]
    travel = tuple(
        tuple(math.floor(SCALE * math.hypot(ax - bx, ay - by) + 1e-9) for bx, by in xy)
        for ax, ay in xy
    )
    depot = rows[0]
    shift = Window(SCALE * int(float(depot[4])), SCALE * int(float(depot[5])))
    jobs = tuple(
        Job(
            id=r[0],
            location=index,
            service=SCALE * int(float(r[6])),
            windows=(Window(SCALE * int(float(r[4])), SCALE * int(float(r[5]))),),
            demand=int(float(r[3])),
        )
        for index, r in enumerate(rows[1:], start=1)
    )
    vehicles = tuple(
        Vehicle(id=f"v{i + 1}", start=0, end=0, shift=shift, capacity=capacity)
        for i in range(count)
    )
    return Problem(name=name, travel=travel, jobs=jobs, vehicles=vehicles, scale=SCALE)


def read(path: Path) -> Problem:
    return parse(path.read_text(encoding="utf-8"), path.stem.upper())


def best_known(csv_path: Path) -> dict[str, BestKnown]:
    """Instance name -> best-known (DIMACS columns of solomon_bks.csv)."""
    with csv_path.open(encoding="utf-8", newline="") as fh:
        return {
            row["instance"].upper(): BestKnown(
                int(row["dimacs_vehicles"]), float(row["dimacs_distance"])
            )
            for row in csv.DictReader(fh)
        }


def gap(distance: float, best: BestKnown) -> float:
    """Relative gap to the best-known distance (0.01 = 1 %)."""
    return (distance - best.distance) / best.distance


def as_dict(problem: Problem, solution: Solution) -> dict[str, object]:
    """A plan in Solomon units (times and distances divided by ``Problem.scale``), for JSON."""

    def unit(value: int) -> float:
        return value / problem.scale

    return {
        "instance": problem.name,
        "convention": "DIMACS (distances truncated to one decimal; cost = total distance)",
        "distance": unit(solution.objective.travel),
        "vehicles": solution.objective.vehicles,
        "routes": [
            {
                "vehicle": route.vehicle,
                "customers": [int(s.job) if s.job.isdigit() else s.job for s in route.stops],
                "departure": unit(route.departure),
                "back": unit(route.back),
                "stops": [
                    {
                        "customer": s.job,
                        "arrival": unit(s.arrival),
                        "start": unit(s.start),
                        "end": unit(s.end),
                    }
                    for s in route.stops
                ],
            }
            for route in solution.routes
            if route.stops
        ],
        "unassigned": [{"customer": u.job, "reason": u.reason} for u in solution.unassigned],
    }
