"""The day-plan problem and its solution, as plain frozen data (no database, no solver).

Units: every time and travel figure is an integer in one unit the caller chooses (seconds for
field service; tenths of a Solomon unit for the benchmark instances, ``Problem.scale``
= 10). Locations are indices into ``Problem.travel``, the travel-time matrix. Times are
absolute on one clock (e.g. seconds since the plan day's midnight).

A job is *required* when ``penalty`` is None (a plan without it is infeasible); otherwise
it is optional and leaving it out costs ``penalty`` in the objective. A job with several
windows is served once, starting inside one of them. A vehicle is an engineer and the van.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Window:
    """[start, end]: service may start at any instant in it (arrival may be earlier: wait)."""

    start: int
    end: int


@dataclass(frozen=True)
class Job:
    id: str
    location: int
    service: int
    windows: tuple[Window, ...]
    skills: frozenset[str] = frozenset()
    demand: int = 0  # against Vehicle.capacity (van space; Solomon demand)
    priority: int = 1  # reported in the objective; callers fold it into ``penalty``
    penalty: int | None = None  # None: required
    pinned_to: str | None = None  # a vehicle id: only that vehicle may serve it


@dataclass(frozen=True)
class Vehicle:
    id: str
    start: int  # location the day starts from
    end: int  # location the day must end at
    shift: Window  # leave start no earlier than shift.start, reach end by shift.end
    skills: frozenset[str] = frozenset()
    capacity: int | None = None  # total Job.demand
    max_jobs: int | None = None
    max_work: int | None = None  # departure to return, waiting included


@dataclass(frozen=True)
class Problem:
    name: str
    travel: tuple[tuple[int, ...], ...]  # travel[i][j]: time from location i to j
    jobs: tuple[Job, ...]
    vehicles: tuple[Vehicle, ...]
    scale: int = 1  # model units per reported unit (Solomon/DIMACS: 10)

    def job(self, job_id: str) -> Job:
        return self._jobs_by_id()[job_id]

    def vehicle(self, vehicle_id: str) -> Vehicle:
        return {v.id: v for v in self.vehicles}[vehicle_id]

    def _jobs_by_id(self) -> dict[str, Job]:
        return {j.id: j for j in self.jobs}


@dataclass(frozen=True)
class Stop:
    job: str
    arrival: int
    start: int  # service start (arrival plus any wait)
    end: int  # service end


@dataclass(frozen=True)
class Route:
    vehicle: str
    departure: int  # leaves Vehicle.start
    stops: tuple[Stop, ...]
    back: int  # reaches Vehicle.end


@dataclass(frozen=True)
class Unassigned:
    job: str
    reason: str


@dataclass(frozen=True)
class Objective:
    travel: int  # sum of the routes' travel times, model units
    vehicles: int  # routes with at least one job
    penalty: int  # sum of the unassigned optional jobs' penalties
    assigned_priority: int  # sum of the assigned jobs' priorities


@dataclass(frozen=True)
class Solution:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    objective: Objective
    notes: tuple[str, ...] = field(default=())
