"""From dispatch's facts (server/dispatch/snapshot.py) to the solver's problem (vrp.Problem).

Time is in seconds from the plan day's first instant (midnight in the organisation's time
zone). Ids: a vehicle is ``str(engineer_id)``, a job ``str(ticket_id)``.

- **Vehicles**: engineers with a shift on the date and a start point; the others are
  *skipped* with a reason (``off_shift``, ``no_location``, ``shift_over``). The shift window
  is the first shift's start to the last shift's end: the gaps between shifts (lunch, time
  off in mid-day) are not modelled yet, so a route may run through them. Planning today,
  no one leaves before now.
- **The hard rules are eligibility.py's** (skills with levels, territory, declines, the
  engineer's start point, the job's location, a shift that day: docs/dispatch.md, "One
  rule, three engines"); the solver takes them as tokens, an encoding of those functions
  (tests/server/dispatch/test_one_rule.py holds it to them). A job needing hvac level 3
  requires ``hvac:3``; an engineer with hvac 4 holds ``hvac:1`` .. ``hvac:4``. A territory
  is a token too (``territory:T``): a job of territory T goes to an engineer of T or of no
  territory. A job some engineers declined requires ``job:<id>``, which every other
  engineer holds.
- **Jobs**: the open work orders; window [max(window start, day start, now), latest start
  (window end, SLA)], the day's end when open. Left out before the solver, with a reason:
  ``job_no_location``, ``impossible_window`` (empty, or outside every engineer's shift),
  ``no_engineer``, ``no_engineer_with_skills``, ``no_engineer_in_territory``,
  ``declined_by_all``, ``pinned_engineer_unavailable``.
- **Optional, by priority**: leaving a job out costs ``PENALTY[priority]`` (in seconds of
  travel): P1 >> P2 >> P3 >> P4, each four times the next, the smallest (P4: 50,000 s, about
  14 hours) above any one job's detour, so the solver serves the most important work first
  and only then saves travel. The figures stay far below the solver's cost of a forbidden
  arc (10^9 s times its smallest time-warp weight, 0.1): much larger prizes make PyVRP
  prefer infeasible routes to leaving a job out, and it then finds no plan.
- **Pinned**: a work order pinned (claimed, confirmed) or already accepted or under way
  (travelling, on site, on hold) stays with its engineer (``pinned_to``). It is optional
  with the largest penalty rather than required, so a plan exists even when it cannot fit
  (the solver would otherwise give no plan at all); if it does not fit it is reported
  unassigned (``pinned_no_room``) and applying the plan leaves it as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.dispatch import eligibility, vrp
from server.dispatch.recommend import Reason, explain
from server.dispatch.snapshot import EngineerDay, Job, Point
from server.dispatch.travel import TravelProvider
from shared.lifecycle import Status

PENALTY = {"P1": 3_200_000, "P2": 800_000, "P3": 200_000, "P4": 50_000}
PINNED_PENALTY = 50_000_000
WEIGHT = {"P1": 4, "P2": 3, "P3": 2, "P4": 1}  # priority-weighted work
KEEP_STATUSES = frozenset(
    {Status.ACCEPTED.value, Status.TRAVELLING.value, Status.ON_SITE.value, Status.ON_HOLD.value}
)


@dataclass(frozen=True)
class Left:
    """A job the plan does not route, and why (a code and words)."""

    ticket_id: str
    reason: str
    detail: str
    params: dict[str, Any] = field(default_factory=dict)  # to word it in any language


@dataclass
class Built:
    problem: vrp.Problem
    day_start: dt.datetime
    jobs: dict[str, Job]
    engineers: dict[str, EngineerDay]
    left: list[Left] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _seconds(instant: dt.datetime, day_start: dt.datetime) -> int:
    return int((instant - day_start).total_seconds())


def skill_tokens(skills: Mapping[str, int]) -> frozenset[str]:
    """What an engineer holds: every level up to their own."""
    return frozenset(f"{name}:{n}" for name, level in skills.items() for n in range(1, level + 1))


def _vehicle_or_skip(
    day: EngineerDay, day_start: dt.datetime, now: int
) -> tuple[int, int] | Reason:
    """The shift window in seconds, or why the engineer cannot be routed."""
    if not eligibility.works_on(day.shifts):
        return Reason(eligibility.Code.OFF_SHIFT)
    if not eligibility.can_be_routed(day.start, day.end or day.start):
        return Reason(eligibility.Code.NO_LOCATION)
    start = max(_seconds(day.shifts[0][0], day_start), now)
    end = _seconds(day.shifts[-1][1], day_start)
    if end <= start:
        return Reason("shift_over")
    return start, end


def words(reason: Reason) -> str:
    """The stored English words of a planner's reason (explain.py has them in Chinese too)."""
    return explain(reason, "en")


NOBODY = Reason("no_engineer")


def _window(job: Job, day_start: dt.datetime, day_end: int, now: int) -> vrp.Window | None:
    start = max(0, now)
    if job.window_start is not None:
        start = max(start, _seconds(job.window_start, day_start))
    latest = job.latest_start()
    end = day_end if latest is None else min(day_end, _seconds(latest, day_start))
    return vrp.Window(start, end) if start <= end else None


@dataclass
class _Fleet:
    vehicles: list[tuple[EngineerDay, int, int]]  # (day, shift start, shift end)
    territories: set[str]

    def tokens(self, day: EngineerDay, declines: Mapping[str, frozenset[str]]) -> frozenset[str]:
        own = skill_tokens(day.skills)
        places = self.territories if day.territory is None else {day.territory}
        own |= {f"territory:{t}" for t in places}
        mine = str(day.engineer_id)
        return own | {f"job:{j}" for j, who in declines.items() if mine not in who}


def _job_reason(job: Job, fleet: _Fleet) -> Reason | None:
    """Why no vehicle of ``fleet`` may serve ``job`` by the hard rules, or None."""
    pinned = _pinned_to(job)
    if pinned is not None:
        if not any(str(d.engineer_id) == pinned for d, _, _ in fleet.vehicles):
            return Reason("pinned_engineer_unavailable")
        return None
    skilled = [
        d for d, _, _ in fleet.vehicles if eligibility.skill_gap(d.skills, job.skills) is None
    ]
    if not skilled:
        return Reason("no_engineer_with_skills", {"skills": _skill_names(job)})
    local = [d for d in skilled if eligibility.territory_ok(job.territory, d.territory)]
    if not local:
        return Reason("no_engineer_in_territory")
    if all(eligibility.has_declined(d.engineer_id, job.declined) for d in local):
        return Reason("declined_by_all")
    return None


def _skill_names(job: Job) -> list[str]:
    return sorted(f"{name}:{level}" for name, level in job.skills.items())


def _pinned_to(job: Job) -> str | None:
    if job.assignee_id is None:
        return None
    if job.pinned or job.status in KEEP_STATUSES:
        return str(job.assignee_id)
    return None


def _job_tokens(job: Job) -> frozenset[str]:
    tokens = {f"{name}:{level}" for name, level in job.skills.items()}
    if job.territory is not None:
        tokens |= {f"territory:{job.territory}"}
    if job.declined:
        tokens |= {f"job:{job.ticket_id}"}
    return frozenset(tokens)


_Routed = tuple[Job, vrp.Window, frozenset[str], str | None]


def _fleet(built: Built, days: Sequence[EngineerDay], jobs: Sequence[Job], now: int) -> _Fleet:
    """The engineers who can be routed (the others in ``built.skipped``)."""
    fleet = _Fleet([], {j.territory for j in jobs if j.territory is not None})
    for d in days:
        shift = _vehicle_or_skip(d, built.day_start, now)
        if isinstance(shift, Reason):
            built.skipped.append(
                {
                    "engineer_id": str(d.engineer_id),
                    "name": d.name,
                    "reason": shift.code,
                    "detail": words(shift),
                    "params": dict(shift.params),
                }
            )
            continue
        fleet.vehicles.append((d, *shift))
        built.engineers[str(d.engineer_id)] = d
    return fleet


def _left_out(
    job: Job,
    window: vrp.Window | None,
    fleet: _Fleet,
) -> Reason | None:
    """Why ``job`` is not sent to the solver, or None."""
    if not fleet.vehicles:
        return NOBODY
    if not eligibility.job_located(job.location):
        return Reason(eligibility.Code.JOB_NO_LOCATION)
    if window is None:  # past, or before the day
        return Reason("impossible_window")
    if not any(s <= window.end and window.start <= e for _, s, e in fleet.vehicles):
        return Reason("impossible_window")  # no engineer works in it
    return _job_reason(job, fleet)


def _vrp_jobs(routed: list[_Routed], first_location: int) -> tuple[vrp.Job, ...]:
    return tuple(
        vrp.Job(
            id=str(job.ticket_id),
            location=first_location + i,
            service=job.service_seconds,
            windows=(window,),
            skills=tokens,
            priority=WEIGHT.get(job.priority, 1),
            penalty=_penalty(job, pinned),
            pinned_to=pinned,
        )
        for i, (job, window, tokens, pinned) in enumerate(routed)
    )


async def build(
    days: Sequence[EngineerDay],
    jobs: Sequence[Job],
    *,
    day: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
    travel: TravelProvider,
    name: str = "day plan",
) -> Built:
    """The problem for ``days`` and ``jobs`` on ``day``. Locations: each vehicle's start and
    end (2i, 2i + 1), then the routed jobs'."""
    day_start, day_end = day[0], _seconds(day[1], day[0])
    now_s = max(0, _seconds(now, day_start))
    built = Built(vrp.Problem(name, (), (), ()), day_start, {}, {})
    fleet = _fleet(built, days, jobs, now_s)
    declines = {str(j.ticket_id): frozenset(str(e) for e in j.declined) for j in jobs if j.declined}
    held = {str(d.engineer_id): fleet.tokens(d, declines) for d, _, _ in fleet.vehicles}
    points: list[Point] = []
    for d, _, _ in fleet.vehicles:
        assert d.start is not None
        points += [d.start, d.end or d.start]
    routed: list[_Routed] = []
    for job in jobs:
        built.jobs[str(job.ticket_id)] = job
        window = _window(job, day_start, day_end, now_s)
        reason = _left_out(job, window, fleet)
        if reason is not None:
            built.left.append(
                Left(str(job.ticket_id), reason.code, words(reason), dict(reason.params))
            )
            continue
        assert window is not None and job.location is not None
        routed.append((job, window, _job_tokens(job), _pinned_to(job)))
        points.append(job.location)
    matrix = await travel.matrix([(p.lat, p.lon) for p in points]) if points else None
    vehicles = tuple(
        vrp.Vehicle(
            id=str(d.engineer_id),
            start=2 * i,
            end=2 * i + 1,
            shift=vrp.Window(start, end),
            skills=held[str(d.engineer_id)],
            max_jobs=d.max_jobs,
            max_work=d.max_seconds,
        )
        for i, (d, start, end) in enumerate(fleet.vehicles)
    )
    travel_s = matrix.seconds if matrix else ()
    built.problem = vrp.Problem(name, travel_s, _vrp_jobs(routed, 2 * len(vehicles)), vehicles)
    return built


def _penalty(job: Job, pinned: str | None) -> int:
    if pinned is not None:
        return PINNED_PENALTY
    return PENALTY.get(job.priority, PENALTY["P4"])
