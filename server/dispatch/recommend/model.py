"""The recommendation's inputs and outputs, as frozen data validated at construction.

Times are integer seconds on one absolute clock (e.g. epoch seconds); durations are integer
seconds; locations are (latitude, longitude) in degrees. A bad value (NaN or out-of-range
coordinates, a window that ends before it starts, a negative duration) raises a ValueError
naming the object and the field when the object is built, never later in the engine.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import chain
from types import MappingProxyType
from typing import Any, ClassVar

LatLon = tuple[float, float]


class Priority(IntEnum):
    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4


def _point(owner: str, name: str, point: LatLon | None) -> None:
    if point is None:
        return
    try:
        lat, lon = point
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} {point!r} is not (latitude, longitude)") from None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError(f"{owner}: {name} {point!r} must be finite numbers")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{owner}: {name} {point!r} is outside [-90, 90] x [-180, 180]")


def _window(owner: str, name: str, start: int, end: int) -> None:
    if end < start:
        raise ValueError(f"{owner}: {name} ends at {end}, before it starts at {start}")


def _not_negative(owner: str, name: str, value: float | None) -> None:
    if value is not None and not value >= 0:  # also refuses NaN
        raise ValueError(f"{owner}: {name} is {value}, expected a number >= 0")


def _levels(owner: str, skills: Mapping[str, int]) -> Mapping[str, int]:
    for name, level in skills.items():
        if level < 1:
            raise ValueError(f"{owner}: skill {name!r} has level {level}, expected >= 1")
    return MappingProxyType(dict(skills))


# The engine's numbers of a planned stop and of a day, packed as bytes when the object is
# built (not dataclass fields: never compared, hashed or shown), so that building a fleet
# joins one bytes object per engineer instead of reading every field of every stop in
# Python (server.dispatch.recommend.fleet). None when a value does not pack (not an int64,
# e.g. a float time): the fleet then reads the fields one by one.
NO_BOUND = 1 << 50  # "no bound" (a missing max_jobs, max_work or SLA): beyond any clock
STOP_PACK = struct.Struct("<4q2d")  # planned start, service, earliest, latest start, lat, lon
DAY_PACK = struct.Struct("<d5q4d")  # rating, max_jobs, max_work, jobs, shifts, located,
# start lat, start lon, end lat, end lon


def _pack_day(day: EngineerDay) -> tuple[bytes, bytes, bytes] | None:
    """(the day's numbers, its shift bounds, its route's stops), or None (see above)."""
    try:
        located = day.start is not None and day.end is not None
        start_lat, start_lon = day.start if day.start is not None else (0.0, 0.0)
        end_lat, end_lon = day.end if day.end is not None else (0.0, 0.0)
        numbers = DAY_PACK.pack(
            day.rating,
            NO_BOUND if day.max_jobs is None else day.max_jobs,
            NO_BOUND if day.max_work is None else day.max_work,
            len(day.route),
            len(day.shifts),
            located,
            start_lat,
            start_lon,
            end_lat,
            end_lon,
        )
        bounds = array("q", chain.from_iterable(day.shifts)).tobytes()
        stops = [stop._packed for stop in day.route]
        if None in stops:
            return None
        return numbers, bounds, b"".join(stops)  # type: ignore[arg-type]  # no None here
    except (struct.error, TypeError, ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class Request:
    """The work order to place. ``earliest``..``latest`` bounds its service start: for an
    urgent job ``earliest`` is now; for a scheduled one, the appointment window. With an
    SLA, the job must also *finish* by ``sla_deadline``: the engine folds that into the
    latest start (``latest_start``). ``skills`` maps a skill to its minimum level (1: any)."""

    job_id: str
    location: LatLon | None
    service: int
    earliest: int
    latest: int
    skills: Mapping[str, int] = field(default_factory=dict)
    sla_deadline: int | None = None
    priority: Priority = Priority.P3
    territory: str | None = None
    preferred: frozenset[str] = frozenset()  # the customer's preferred engineer ids
    declined: frozenset[str] = frozenset()  # engineer ids who declined this job
    parts: frozenset[str] = frozenset()  # part ids the job needs (reserved or typical)

    def __post_init__(self) -> None:
        owner = f"request {self.job_id}"
        _point(owner, "location", self.location)
        _not_negative(owner, "service", self.service)
        _window(owner, "window", self.earliest, self.latest)
        object.__setattr__(self, "skills", _levels(owner, self.skills))
        object.__setattr__(self, "priority", Priority(self.priority))

    @property
    def latest_start(self) -> int:
        """The latest service start: the window's end, or earlier to finish by the SLA."""
        if self.sla_deadline is None:
            return self.latest
        return min(self.latest, self.sla_deadline - self.service)

    @property
    def sla_binds(self) -> bool:
        """True when the SLA deadline, not the window, sets the latest start."""
        return self.sla_deadline is not None and self.sla_deadline - self.service < self.latest


@dataclass(frozen=True)
class PlannedStop:
    """A job already on an engineer's day, in route order. ``planned_start`` places it in
    one of the shifts; the engine recomputes the times (see the package docstring)."""

    job_id: str
    location: LatLon
    service: int
    planned_start: int
    earliest: int
    latest: int
    sla_deadline: int | None = None
    pinned: bool = False  # claimed, in progress or confirmed: kept, never reordered
    _packed: ClassVar[bytes | None]  # set per object when built, see STOP_PACK

    def __post_init__(self) -> None:
        # the common case checked inline (a fleet's days hold tens of thousands of stops);
        # anything else goes through the checks that name the field
        service, earliest, latest, sla = self.service, self.earliest, self.latest, self.sla_deadline
        try:
            lat, lon = self.location
            fine = (
                -90.0 <= lat <= 90.0
                and -180.0 <= lon <= 180.0
                and service >= 0
                and not latest < earliest
            )
        except (TypeError, ValueError):
            fine = False
        if not fine:
            self._check()
        try:
            last = latest if sla is None else min(latest, sla - service)
            packed = STOP_PACK.pack(self.planned_start, service, earliest, last, lat, lon)
        except (struct.error, TypeError, ValueError, OverflowError, UnboundLocalError):
            packed = None  # the fleet reads this stop field by field
        object.__setattr__(self, "_packed", packed)

    def _check(self) -> None:
        owner = f"planned job {self.job_id}"
        if self.location is None:
            raise ValueError(f"{owner}: a planned job needs a location")
        _point(owner, "location", self.location)
        _not_negative(owner, "service", self.service)
        _window(owner, "window", self.earliest, self.latest)

    @property
    def latest_start(self) -> int:
        if self.sla_deadline is None:
            return self.latest
        return min(self.latest, self.sla_deadline - self.service)


@dataclass(frozen=True)
class EngineerDay:
    """An engineer's day: shifts as sorted, non-overlapping (start, end) windows (empty:
    off shift; leave and other exceptions already taken out by the caller), the planned
    route in order, and limits. Each shift is one tour from ``start`` to ``end``."""

    id: str
    name: str
    skills: Mapping[str, int]
    territory: str | None
    rating: float
    shifts: tuple[tuple[int, int], ...]
    start: LatLon | None
    end: LatLon | None
    max_jobs: int | None = None
    max_work: int | None = None  # seconds, leaving the start to reaching the end, per day
    route: tuple[PlannedStop, ...] = ()
    parts: frozenset[str] = frozenset()  # part ids in the van
    _packed: ClassVar[tuple[bytes, bytes, bytes] | None]  # set per object, see _pack_day

    def __post_init__(self) -> None:
        owner = f"engineer {self.id}"
        _point(owner, "start", self.start)
        _point(owner, "end", self.end)
        if not 0 <= self.rating <= 5:  # also refuses NaN
            raise ValueError(f"{owner}: rating {self.rating} is not in [0, 5]")
        _not_negative(owner, "max_jobs", self.max_jobs)
        _not_negative(owner, "max_work", self.max_work)
        previous_end: int | None = None
        for start, end in self.shifts:
            _window(owner, "shift", start, end)
            if previous_end is not None and start < previous_end:
                raise ValueError(f"{owner}: shifts must be sorted and must not overlap")
            previous_end = end
        object.__setattr__(self, "skills", _levels(owner, self.skills))
        object.__setattr__(self, "shifts", tuple(self.shifts))
        object.__setattr__(self, "route", tuple(self.route))
        object.__setattr__(self, "_packed", _pack_day(self))


@dataclass(frozen=True)
class Weights:
    """What each score component costs, in points (lower score is better). Per-minute
    weights multiply minutes; bonuses are subtracted. See docs/dispatch.md."""

    travel_per_minute: float = 1.0
    # per minute between the earliest start and the start, by priority P1..P4
    arrival_per_minute: tuple[float, float, float, float] = (3.0, 1.5, 0.5, 0.25)
    sla_margin: int = 3600  # seconds: less slack than this before the deadline costs
    sla_per_minute: float = 2.0  # per minute of slack missing from the margin
    rating_per_star: float = 10.0  # per star below 5
    load_per_job: float = 3.0  # per job already planned
    load_per_hour: float = 2.0  # per hour of work already planned
    preferred_bonus: float = 30.0
    skill_bonus_per_level: float = 2.0  # per level above the minimum, summed over skills
    missing_part: float = 15.0  # per needed part not in the van
    overtime_after: int = 8 * 3600  # seconds of work in the day
    overtime_per_minute: float = 2.0


@dataclass(frozen=True)
class Reason:
    """A machine-readable reason: a code and its parameters (see explain.py for text)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A feasible engineer: insert the job before ``position`` in the day's route (0: first;
    len(route): last), in shift ``shift`` (an index into ``EngineerDay.shifts``).
    ``load`` is what was planned before (jobs, work seconds). ``score`` equals the sum of
    ``components`` in their order; lower is better."""

    engineer_id: str
    position: int
    shift: int
    arrival: int
    start: int
    end: int
    travel_added: int
    sla_slack: int | None  # deadline minus end; None without an SLA
    load: tuple[int, int]
    rating: float
    has_parts: bool  # the van holds every part the job needs (True when it needs none)
    missing_parts: int
    parts_needed: int
    preferred: bool
    skill_surplus: int
    work: int  # the day's work with the job, seconds
    score: float
    components: Mapping[str, float]

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why this engineer fits, as structured reasons (render with ``explain``)."""
        found = [
            Reason("arrives", {"start": self.start, "travel_added": self.travel_added}),
            Reason("load", {"jobs": self.load[0], "work": self.load[1]}),
            Reason("rating", {"rating": self.rating}),
        ]
        if self.sla_slack is not None:
            found.append(Reason("sla_slack", {"slack": self.sla_slack}))
        if self.preferred:
            found.append(Reason("preferred", {}))
        if self.missing_parts:
            found.append(Reason("missing_parts", {"count": self.missing_parts}))
        elif self.parts_needed:
            found.append(Reason("has_parts", {}))
        if self.skill_surplus:
            found.append(Reason("skill_surplus", {"levels": self.skill_surplus}))
        return tuple(found)


@dataclass(frozen=True)
class Filtered:
    engineer_id: str
    reason: Reason


@dataclass(frozen=True)
class Recommendation:
    """``candidates`` best first (at most the ``limit`` asked for; ``feasible`` counts them
    all) and ``filtered``: every other engineer with the reason, in the input order."""

    job_id: str
    candidates: tuple[Candidate, ...]
    filtered: tuple[Filtered, ...]
    feasible: int
