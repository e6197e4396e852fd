"""The claim pool's verdict (server/dispatch/eligibility.py ``reasons``), one case per reason;
test_one_rule.py holds the recommendation and the planner to the same rules."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from server.dispatch.eligibility import Code, codes, job_date, reasons
from server.dispatch.recommend import Reason, explain
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
        ({"skills": {"electrical": 5}}, {}, Reason("missing_skill", {"skill": "hvac", "level": 2})),
        (
            {"skills": {"hvac": 1}},
            {},
            Reason("skill_too_low", {"skill": "hvac", "level": 2, "has": 1}),
        ),
        (
            {"territory": "south"},
            {},
            Reason("outside_territory", {"territory": "north", "engineer_territory": "south"}),
        ),
        ({"shifts": ()}, {}, Reason("off_shift")),
        (
            {"max_jobs": 1, "stops": (_job(),)},
            {},
            Reason("full_jobs", {"planned": 1, "max_jobs": 1}),
        ),
        ({"start": None, "end": None}, {}, Reason("no_location")),
        ({}, {"location": None}, Reason("job_no_location")),
    ],
    ids=[
        "missing_skill",
        "skill_too_low",
        "outside_territory",
        "off_shift",
        "full_jobs",
        "no_location",
        "job_no_location",
    ],
)
def test_each_filter_has_its_reason_and_words(
    day: dict[str, object], job: dict[str, object], expected: Reason
) -> None:
    assert reasons(_day(**day), _job(**job)) == [expected]
    for locale in ("en", "zh_CN"):
        assert "{" not in explain(expected, locale)


def test_a_decliner_is_not_eligible() -> None:
    day = _day()
    assert codes(reasons(day, _job(declined=frozenset({day.engineer_id})))) == [Code.DECLINED]


def test_every_reason_that_applies_is_given_in_order() -> None:
    day = _day(skills={"hvac": 1}, territory="south", shifts=(), start=None, end=None)
    job = _job(skills=required_skills(["hvac:2", "gas"]), location=None)
    assert codes(reasons(day, job)) == [
        "missing_skill",
        "skill_too_low",
        "outside_territory",
        "off_shift",
        "no_location",
        "job_no_location",
    ]
    assert reasons(day, job)[0] == Reason("missing_skill", {"skill": "gas", "level": 1})


def test_the_claim_pools_off_shift_has_words_without_a_window() -> None:
    assert explain(Reason("off_shift"), "en") == "No shift that day"
    assert explain(Reason("off_shift"), "zh_CN") == "当天没有班次"


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
