"""The one qualification rule (server/dispatch/eligibility.py), one case per reason."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from server.dispatch.eligibility import Reason, job_date, reasons
from server.dispatch.snapshot import EngineerDay, Job, Point, required_skills

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
SHIFT = (NOW.replace(hour=8), NOW.replace(hour=17))


def _job(**fields: object) -> Job:
    values: dict[str, object] = {
        "ticket_id": uuid.uuid4(),
        "number": 1,
        "title": "Chiller",
        "status": "new",
        "priority": "P3",
        "customer_id": uuid.uuid4(),
        "location": Point(31.2, 121.5),
        "service_seconds": 3600,
        "skills": required_skills(["hvac:2"]),
        "window_start": None,
        "window_end": None,
        "sla_deadline": None,
        "territory": "north",
        "assignee_id": None,
        "pinned": False,
        "open_for_claim": True,
        "planned_start": None,
        "plan_position": None,
        "parts": frozenset(),
        "preferred": frozenset(),
        "declined": frozenset(),
        **fields,
    }
    return Job(**values)  # type: ignore[arg-type]


def _day(**fields: object) -> EngineerDay:
    values: dict[str, object] = {
        "engineer_id": uuid.uuid4(),
        "name": "Li",
        "skills": {"hvac": 3},
        "territory": "north",
        "rating": 4.5,
        "shifts": (SHIFT,),
        "start": Point(31.0, 121.0),
        "end": Point(31.0, 121.0),
        "max_jobs": 2,
        "max_seconds": None,
        "stops": (),
        "van_parts": frozenset(),
        **fields,
    }
    return EngineerDay(**values)  # type: ignore[arg-type]


def test_a_qualified_engineer_has_no_reasons() -> None:
    assert reasons(_day(), _job()) == []


@pytest.mark.parametrize(
    ("day", "job", "expected"),
    [
        ({"skills": {"electrical": 5}}, {}, [Reason.MISSING_SKILL]),
        ({"skills": {"hvac": 1}}, {}, [Reason.SKILL_LEVEL]),
        ({"territory": "south"}, {}, [Reason.OUTSIDE_TERRITORY]),
        ({"shifts": ()}, {}, [Reason.OFF_SHIFT]),
        ({"max_jobs": 1, "stops": (_job(),)}, {}, [Reason.FULL]),
        ({}, {"location": None}, [Reason.NO_LOCATION]),
    ],
    ids=["missing_skill", "skill_level", "outside_territory", "off_shift", "full", "no_location"],
)
def test_each_filter_has_its_reason(
    day: dict[str, object], job: dict[str, object], expected: list[Reason]
) -> None:
    assert reasons(_day(**day), _job(**job)) == expected


def test_a_decliner_is_not_eligible() -> None:
    day = _day()
    assert reasons(day, _job(declined=frozenset({day.engineer_id}))) == [Reason.DECLINED]


def test_every_reason_that_applies_is_given_in_order() -> None:
    day = _day(skills={"hvac": 1}, territory="south", shifts=())
    job = _job(skills=required_skills(["hvac:2", "gas"]), location=None)
    assert reasons(day, job) == [
        Reason.MISSING_SKILL,
        Reason.SKILL_LEVEL,
        Reason.OUTSIDE_TERRITORY,
        Reason.OFF_SHIFT,
        Reason.NO_LOCATION,
    ]


def test_either_territory_unknown_is_no_obstacle() -> None:
    assert reasons(_day(territory=None), _job()) == []
    assert reasons(_day(), _job(territory=None)) == []


def test_a_skill_named_without_level_needs_any_level() -> None:
    assert reasons(_day(skills={"hvac": 1}), _job(skills=required_skills(["hvac"]))) == []


def test_room_left_is_not_full_and_the_job_itself_does_not_count() -> None:
    job = _job()
    assert reasons(_day(max_jobs=2, stops=(_job(),)), job) == []
    assert reasons(_day(max_jobs=1, stops=(job,)), job) == []
    assert reasons(_day(max_jobs=None, stops=(_job(), _job())), job) == []


def test_the_jobs_date_is_its_window_else_today_in_the_orgs_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    late = dt.datetime(2026, 12, 7, 20, 0, tzinfo=dt.UTC)  # 04:00 on the 8th in Shanghai
    assert job_date(_job(window_start=late), shanghai, NOW) == dt.date(2026, 12, 8)
    assert job_date(_job(), shanghai, late) == dt.date(2026, 12, 8)
    assert job_date(_job(), ZoneInfo("UTC"), late) == dt.date(2026, 12, 7)
