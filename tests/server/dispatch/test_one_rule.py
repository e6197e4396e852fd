"""One rule, three engines (docs/dispatch.md): on seeded random (engineer, job) pairs built as
snapshot facts, the claim pool (``eligibility.reasons``), the recommendation (its plain
reference and its vectorised engine, through the candidates service's ``request_of`` /
``day_of``) and the day planner (the vehicles ``build`` allows a job) agree on skills with
levels, territory, declines and locations. Shift and capacity differ on purpose; the last
tests pin down exactly how."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections import Counter
from dataclasses import replace
from zoneinfo import ZoneInfo

from server.dispatch import eligibility
from server.dispatch import recommend as rec
from server.dispatch.candidates.service import Ask, day_of, request_of, resolve_mode
from server.dispatch.eligibility import Code
from server.dispatch.plans.build import build
from server.dispatch.recommend.reference import evaluate
from server.dispatch.snapshot import EngineerDay, Job, Point
from server.dispatch.travel import Haversine
from server.engineers import shifts

UTC = ZoneInfo("UTC")
DATE = dt.date(2026, 12, 8)
DAY = shifts.day_bounds(DATE, UTC)
NOW = dt.datetime(2026, 12, 8, 6, 0, tzinfo=dt.UTC)
HOME = Point(31.2, 121.5)
SKILLS = ("electrical", "gas", "hvac", "plumbing")
TERRITORIES = (None, "north", "south")
# The codes the three engines must agree on; shift and capacity are compared separately.
RULES = frozenset(
    {
        Code.MISSING_SKILL,
        Code.SKILL_TOO_LOW,
        Code.OUTSIDE_TERRITORY,
        Code.DECLINED,
        Code.NO_LOCATION,
        Code.JOB_NO_LOCATION,
    }
)
# The recommendation gives its first failing filter, in this order.
ORDER = ("skill", Code.OUTSIDE_TERRITORY, Code.DECLINED, Code.NO_LOCATION, Code.JOB_NO_LOCATION)


def _at(hour: float) -> dt.datetime:
    return DAY[0] + dt.timedelta(hours=hour)


def _point(rng: random.Random) -> Point:
    return Point(31.2 + rng.uniform(-0.1, 0.1), 121.5 + rng.uniform(-0.1, 0.1))


def _skills(rng: random.Random, most: int) -> dict[str, int]:
    names = rng.sample(SKILLS, rng.randint(0, most))
    return {name: rng.randint(1, 5) for name in names}


def _engineer(rng: random.Random, **fields: object) -> EngineerDay:
    start = None if rng.random() < 0.1 else _point(rng)
    values: dict[str, object] = {
        "engineer_id": uuid.UUID(int=rng.getrandbits(128)),
        "name": "E",
        "skills": _skills(rng, 4),
        "territory": rng.choice(TERRITORIES),
        "rating": 4.0,
        "shifts": ((_at(8), _at(18)),),
        "start": start,
        "end": start,
        "max_jobs": None,
        "max_seconds": None,
        "stops": (),
        "van_parts": frozenset(),
        **fields,
    }
    return EngineerDay(**values)  # type: ignore[arg-type]


def _job(rng: random.Random, engineers: list[EngineerDay], **fields: object) -> Job:
    declined = frozenset(e.engineer_id for e in engineers if rng.random() < 0.15)
    values: dict[str, object] = {
        "ticket_id": uuid.UUID(int=rng.getrandbits(128)),
        "number": rng.randint(1, 10**6),
        "title": "Job",
        "status": "new",
        "priority": "P3",
        "customer_id": uuid.uuid4(),
        "location": None if rng.random() < 0.1 else _point(rng),
        "service_seconds": 3600,
        "skills": _skills(rng, 2),
        "window_start": _at(9),
        "window_end": _at(13),
        "sla_deadline": None,
        "territory": rng.choice(TERRITORIES),
        "assignee_id": None,
        "pinned": False,
        "open_for_claim": True,
        "planned_start": None,
        "plan_position": None,
        "parts": frozenset(),
        "preferred": frozenset(),
        "declined": declined,
        **fields,
    }
    return Job(**values)  # type: ignore[arg-type]


def _case(seed: int) -> tuple[list[EngineerDay], list[Job]]:
    rng = random.Random(seed)
    engineers = [_engineer(rng) for _ in range(30)]
    return engineers, [_job(rng, engineers) for _ in range(12)]


def _ask(job: Job) -> Ask:
    return resolve_mode(job, "scheduled", NOW, UTC)


def _group(code: str) -> str:
    return "skill" if code in (Code.MISSING_SKILL, Code.SKILL_TOO_LOW) else code


def _rule_reasons(day: EngineerDay, job: Job) -> list[rec.Reason]:
    return [r for r in eligibility.reasons(day, job) if r.code in RULES]


def _expect_recommendation(found: list[rec.Reason], got: rec.Reason | None) -> None:
    """``got`` (the recommendation's reason, None: passed the rules) is what ``found``
    (the claim pool's) says, in the recommendation's order."""
    if not found:
        assert got is None
        return
    assert got is not None and got in found, (found, got)
    first = min((_group(r.code) for r in found), key=ORDER.index)
    assert _group(got.code) == first, (found, got)
    if first == "skill":  # the first skill by name, missing or too low
        assert got.params["skill"] == min(
            r.params["skill"] for r in found if _group(r.code) == first
        )


def test_the_claim_pool_and_the_recommendation_agree_on_the_rules() -> None:
    seen: Counter[str] = Counter()
    pairs = 0
    for seed in range(3):
        engineers, jobs = _case(seed)
        for job in jobs:
            ask = _ask(job)
            request = request_of(job, ask)
            days = [day_of(e, ask, leave_out=job.ticket_id, tz=UTC) for e in engineers]
            fast = rec.recommend(request, days, limit=None)
            fast_reasons = {f.engineer_id: f.reason for f in fast.filtered}
            for engineer, day in zip(engineers, days, strict=True):
                found = _rule_reasons(engineer, job)
                reference = evaluate(request, day)
                got = reference if isinstance(reference, rec.Reason) else None
                got = got if got is not None and got.code in RULES else None
                _expect_recommendation(found, got)
                vectorised = fast_reasons.get(day.id)
                assert (vectorised if vectorised and vectorised.code in RULES else None) == got
                seen.update(r.code for r in found)
                seen["eligible" if not found else "refused"] += 1
                pairs += 1
    assert pairs == 3 * 30 * 12
    # Not vacuous: every rule refused some pairs and many passed them all.
    assert set(seen) >= {*RULES, "eligible"}, seen
    assert seen["eligible"] >= 100, seen


def test_the_planner_allows_a_vehicle_exactly_when_the_rules_pass() -> None:
    checked = Counter[str]()
    for seed in range(3):
        engineers, jobs = _case(100 + seed)
        built = asyncio.run(build(engineers, jobs, day=DAY, now=NOW, travel=Haversine()))
        skipped = {s["engineer_id"]: s["reason"] for s in built.skipped}
        left = {item.ticket_id: item.reason for item in built.left}
        vehicles = {v.id: v for v in built.problem.vehicles}
        routed = {j.id: j for j in built.problem.jobs}
        for engineer in engineers:
            routable = eligibility.can_be_routed(engineer.start, engineer.end)
            assert (skipped.get(str(engineer.engineer_id)) == Code.NO_LOCATION) == (not routable)
        for job in jobs:
            key = str(job.ticket_id)
            if job.location is None:
                assert left[key] == Code.JOB_NO_LOCATION
                checked["job_no_location"] += 1
                continue
            passing = [
                e for e in engineers if str(e.engineer_id) in vehicles and not _rule_reasons(e, job)
            ]
            if not passing:
                assert left[key] in {
                    "no_engineer_with_skills",
                    "no_engineer_in_territory",
                    "declined_by_all",
                }
                checked["left_by_the_rules"] += 1
                continue
            assert key in routed, left.get(key)
            for vehicle_id, vehicle in vehicles.items():
                allowed = routed[key].skills <= vehicle.skills
                assert allowed == any(str(e.engineer_id) == vehicle_id for e in passing)
                checked["allowed" if allowed else "forbidden"] += 1
    assert checked["allowed"] >= 100 and checked["forbidden"] >= 100, checked
    assert checked["job_no_location"] >= 1, checked


def test_the_planners_reason_for_a_job_nobody_may_take_names_the_rule() -> None:
    rng = random.Random(7)
    engineer = _engineer(rng, skills={"hvac": 2}, territory="north", start=HOME, end=HOME)
    cases = {
        "no_engineer_with_skills": {"skills": {"hvac": 3}},
        "no_engineer_in_territory": {"skills": {"hvac": 2}, "territory": "south"},
        "declined_by_all": {"territory": "north", "declined": frozenset({engineer.engineer_id})},
    }
    for expected, fields in cases.items():
        job = _job(rng, [], **{"location": Point(31.21, 121.5), "skills": {}, **fields})
        built = asyncio.run(build([engineer], [job], day=DAY, now=NOW, travel=Haversine()))
        assert [item.reason for item in built.left] == [expected]


# Shift and capacity: the same functions, asked different questions (docs/dispatch.md).


def test_a_shift_that_day_is_enough_for_the_pool_not_for_the_recommendation() -> None:
    rng = random.Random(1)
    early = _engineer(rng, skills={}, territory=None, start=HOME, end=HOME)
    early = replace(early, shifts=((_at(6), _at(9)),))
    job = _job(rng, [], location=Point(31.21, 121.5), skills={}, territory=None)
    assert eligibility.reasons(early, job) == []  # works that day: may claim it
    ask = _ask(job)
    got = evaluate(request_of(job, ask), day_of(early, ask, leave_out=None, tz=UTC))
    assert isinstance(got, rec.Reason) and got.code == Code.OFF_SHIFT  # 09:00-13:00 misses it
    off = replace(early, shifts=())
    assert eligibility.codes(eligibility.reasons(off, job)) == [Code.OFF_SHIFT]
    got = evaluate(request_of(job, ask), day_of(off, ask, leave_out=None, tz=UTC))
    assert isinstance(got, rec.Reason) and got.code == Code.OFF_SHIFT


def test_capacity_counts_the_planned_day_the_engine_sees() -> None:
    rng = random.Random(2)
    base = _engineer(rng, skills={}, territory=None, start=HOME, end=HOME)
    job = _job(rng, [], location=Point(31.21, 121.5), skills={}, territory=None)
    planned = _job(rng, [], location=Point(31.22, 121.5), status="assigned", planned_start=_at(14))
    busy = _job(rng, [], location=Point(31.22, 121.5), status="on_site", planned_start=_at(7))
    ask = _ask(job)
    for stops, pool_full, engine_full in [
        ((planned,), True, True),  # a planned, routable job counts in both
        ((job,), False, False),  # the job itself never counts
        ((busy,), True, False),  # in progress: the engine starts after it, the pool counts it
    ]:
        day = replace(base, max_jobs=1, stops=stops)
        assert (Code.FULL_JOBS in eligibility.codes(eligibility.reasons(day, job))) == pool_full
        got = evaluate(request_of(job, ask), day_of(day, ask, leave_out=job.ticket_id, tz=UTC))
        assert (isinstance(got, rec.Reason) and got.code == Code.FULL_JOBS) == engine_full
