"""Whether an engineer may serve a work order: the hard rules, once, and their vocabulary.

Three engines apply these rules and all take them from here (docs/dispatch.md, "One rule,
three engines"): the claim pool (``reasons``), the recommendation's hard filters
(``recommend/reference.py``, the definition its vectorised engine is tested against) and
the day planner's allowed vehicles (``plans/build.py``, whose skill and territory tokens
are an encoding of these functions, held to them by tests/server/dispatch/test_one_rule.py).

The rules are small pure functions of plain values, so each engine can call them on its
own representation (snapshot facts here, the recommendation's model there):

- ``skill_gaps``: every required skill the engineer lacks (``missing_skill``) or holds
  below the level needed (``skill_too_low``), in name order;
- ``territory_ok``: the job's territory is the engineer's, or either one has none
  (``outside_territory``);
- ``has_declined``: the engineer declined (rejected) this work order before (``declined``);
- ``can_be_routed``: the engineer's day has a start and an end point (``no_location``);
- ``job_located``: the work order has a location (``job_no_location``);
- ``has_room``: fewer jobs planned than the day's maximum (``full_jobs``);
- ``works_on``: a shift on the job's date (``off_shift``, the claim pool); the
  recommendation asks more, ``fits_a_shift``: a shift in which the job can start inside its
  window and end before the shift does (``off_shift`` too).

``reasons(day, job)`` is the claim pool's verdict on snapshot facts (the engineer's day on
``job_date``): an empty list means eligible; otherwise every reason that applies, each a
``Reason`` (a code of ``Code`` and the parameters its words need: explain.py), in the order
of ``Code``.

Pure and free of the database: the snapshot's types are named for type checking only, so
the recommendation (no database, no HTTP) may import this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from server.dispatch.recommend.model import Reason

if TYPE_CHECKING:
    from server.dispatch.snapshot import EngineerDay, Job

T = TypeVar("T")


class Code(StrEnum):
    """The hard rules' reason codes, one vocabulary for the claim pool, the recommendation
    and the day planner (each has words in English and Chinese: recommend/explain.py)."""

    MISSING_SKILL = "missing_skill"
    SKILL_TOO_LOW = "skill_too_low"
    OUTSIDE_TERRITORY = "outside_territory"
    OFF_SHIFT = "off_shift"
    FULL_JOBS = "full_jobs"
    DECLINED = "declined"
    NO_LOCATION = "no_location"  # the engineer: no start or end point for the day
    JOB_NO_LOCATION = "job_no_location"  # the work order: its site has no coordinates


@dataclass(frozen=True)
class SkillGap:
    """A required skill the engineer lacks (``has`` None) or holds below ``level``."""

    skill: str
    level: int
    has: int | None

    @property
    def code(self) -> Code:
        return Code.MISSING_SKILL if self.has is None else Code.SKILL_TOO_LOW

    def reason(self) -> Reason:
        params: dict[str, Any] = {"skill": self.skill, "level": self.level}
        if self.has is not None:
            params["has"] = self.has
        return Reason(self.code, params)


def skill_gaps(engineer_skills: Mapping[str, int], job_skills: Mapping[str, int]) -> list[SkillGap]:
    """Every required skill (name -> minimum level) the engineer falls short of, by name."""
    gaps = []
    for name in sorted(job_skills):
        need, has = job_skills[name], engineer_skills.get(name)
        if has is None or has < need:
            gaps.append(SkillGap(name, need, has))
    return gaps


def skill_gap(engineer_skills: Mapping[str, int], job_skills: Mapping[str, int]) -> SkillGap | None:
    """The first skill gap in name order, or None: the engineer has every skill needed."""
    gaps = skill_gaps(engineer_skills, job_skills)
    return gaps[0] if gaps else None


def territory_ok(job_territory: str | None, engineer_territory: str | None) -> bool:
    """The same territory, or either one has none."""
    return (
        job_territory is None or engineer_territory is None or job_territory == engineer_territory
    )


def territory_reason(job_territory: str, engineer_territory: str) -> Reason:
    params = {"territory": job_territory, "engineer_territory": engineer_territory}
    return Reason(Code.OUTSIDE_TERRITORY, params)


def has_declined(engineer_id: T, declined: Set[T]) -> bool:
    return engineer_id in declined


def can_be_routed(start: object | None, end: object | None) -> bool:
    """The engineer's day has a start and an end point."""
    return start is not None and end is not None


def job_located(location: object | None) -> bool:
    return location is not None


def has_room(planned: int, max_jobs: int | None) -> bool:
    """One more job fits under the day's maximum (None: no maximum)."""
    return max_jobs is None or planned + 1 <= max_jobs


def works_on(shifts: Sequence[object]) -> bool:
    """A shift on the job's date (the claim pool's test: the engineer works that day)."""
    return len(shifts) > 0


def fits_a_shift(
    shifts: Iterable[tuple[int, int]], earliest: int, latest: int, service: int
) -> bool:
    """A shift in which service can start in ``earliest``..``latest`` and end before the
    shift does (the recommendation's test)."""
    return any(max(a, earliest) <= min(b - service, latest) for a, b in shifts)


def job_date(job: Job, tz: ZoneInfo, now: dt.datetime) -> dt.date:
    """The date whose shifts decide availability: the window's start, else ``now``'s date,
    both in the organisation's time zone."""
    return (job.window_start or now).astimezone(tz).date()


def reasons(day: EngineerDay, job: Job) -> list[Reason]:
    """Why the engineer of ``day`` may not take ``job`` (empty: they may); ``day`` is their
    day on ``job_date(job, ...)``. At most one reason per code: the first skill (by name)
    missing, the first held too low."""
    out: list[Reason] = []
    gaps = skill_gaps(day.skills, job.skills)
    for code in (Code.MISSING_SKILL, Code.SKILL_TOO_LOW):
        first = next((gap for gap in gaps if gap.code == code), None)
        if first is not None:
            out.append(first.reason())
    if not territory_ok(job.territory, day.territory):
        assert job.territory is not None and day.territory is not None
        out.append(territory_reason(job.territory, day.territory))
    if not works_on(day.shifts):
        out.append(Reason(Code.OFF_SHIFT))
    planned = sum(1 for stop in day.stops if stop.ticket_id != job.ticket_id)
    if not has_room(planned, day.max_jobs):
        out.append(Reason(Code.FULL_JOBS, {"planned": planned, "max_jobs": day.max_jobs}))
    if has_declined(day.engineer_id, job.declined):
        out.append(Reason(Code.DECLINED))
    # the day ends where it starts when no end point is known (snapshot.py, as everywhere)
    if not can_be_routed(day.start, day.end if day.end is not None else day.start):
        out.append(Reason(Code.NO_LOCATION))
    if not job_located(job.location):
        out.append(Reason(Code.JOB_NO_LOCATION))
    return out


def codes(found: Iterable[Reason]) -> list[str]:
    return [reason.code for reason in found]
