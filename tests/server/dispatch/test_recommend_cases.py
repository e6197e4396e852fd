"""Hand-made recommendation cases: one per filter reason, an urgent job "now", a scheduled
window, empty and bad input, and the words for every reason in both languages."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from server.dispatch import recommend as rec
from server.dispatch.eligibility import Code
from server.dispatch.recommend import Fleet, Haversine, Reason, Request, explain, recommend
from server.dispatch.recommend.travel import seconds
from tests.fixtures.recommend import HOME, HOUR, at, engineer, random_case, request, stop

FAR = (31.40, 121.70)  # about 40 minutes' drive from HOME


def _only(req: Request, *days: rec.EngineerDay) -> Reason | rec.Candidate:
    result = recommend(req, days)
    assert len(result.candidates) + len(result.filtered) == len(days)
    if result.candidates:
        return result.candidates[0]
    return result.filtered[0].reason


def test_missing_skill_is_filtered_with_the_skill_and_level() -> None:
    reason = _only(request(skills={"gas": 2}), engineer("e1"))
    assert reason == Reason("missing_skill", {"skill": "gas", "level": 2})
    assert explain(reason, "en") == "Missing skill: gas (level 2 needed)"
    assert explain(reason, "zh_CN") == "缺少技能：gas（需要 2 级）"


def test_skill_level_too_low_names_both_levels() -> None:
    reason = _only(request(skills={"制冷": 3}), engineer("e1", skills={"制冷": 2}))
    assert reason == Reason("skill_too_low", {"skill": "制冷", "level": 3, "has": 2})
    assert explain(reason, "zh_CN") == "缺少技能：制冷（需要 3 级，只有 2 级）"


def test_a_higher_level_passes_and_counts_as_surplus() -> None:
    found = _only(request(skills={"refrigeration": 1}), engineer("e1"))
    assert isinstance(found, rec.Candidate)
    assert found.skill_surplus == 2
    assert found.components["skills"] == -4.0


def test_off_shift_without_shifts_or_outside_the_window() -> None:
    assert _only(request(), engineer("e1", shifts=())).code == "off_shift"  # type: ignore[union-attr]
    evening = engineer("e1", shifts=((at(18), at(23)),))
    reason = _only(request(), evening)
    assert reason == Reason("off_shift", {"earliest": at(9), "latest": at(17)})
    assert explain(reason, "en") == "Off shift between 09:00 and 17:00"


def test_territory_filters_only_when_both_have_one() -> None:
    south = engineer("e1", territory="south")
    reason = _only(request(territory="north"), south)
    assert reason == Reason(
        "outside_territory", {"territory": "north", "engineer_territory": "south"}
    )
    assert isinstance(_only(request(territory="north"), engineer("e1")), rec.Candidate)
    assert isinstance(_only(request(), south), rec.Candidate)


def test_an_engineer_who_declined_is_filtered() -> None:
    result = recommend(request(declined=frozenset({"e1"})), [engineer("e1"), engineer("e2")])
    assert [c.engineer_id for c in result.candidates] == ["e2"]
    assert result.filtered == (rec.Filtered("e1", Reason("declined", {})),)


def test_no_location_is_filtered() -> None:
    assert _only(request(), engineer("e1", start=None)) == Reason("no_location", {})
    assert _only(request(), engineer("e1", end=None)) == Reason("no_location", {})


def test_a_full_day_by_jobs_or_hours_is_filtered() -> None:
    one = (stop("a", FAR, 14),)
    assert _only(request(), engineer("e1", route=one, max_jobs=1)) == Reason(
        "full_jobs", {"max_jobs": 1, "planned": 1}
    )
    reason = _only(request(), engineer("e1", max_work=HOUR - 1))
    assert reason == Reason("full_hours", {"max_work": HOUR - 1, "planned_work": 0})
    assert explain(reason, "en") == "Day is full: 0.0 h planned, at most 1.0 h"


def test_a_plan_that_is_already_broken_is_filtered_first() -> None:
    outside = stop("a", FAR, 19)  # planned after the shift
    assert _only(request(), engineer("e1", route=(outside,))) == Reason(
        "plan_outside_shift", {"job": "a"}
    )
    split = ((at(8), at(12)), (at(13), at(18)))
    backwards = (stop("a", FAR, 14), stop("b", FAR, 9))  # the afternoon before the morning
    reason = _only(request(), engineer("e1", shifts=split, route=backwards))
    assert reason == Reason("plan_outside_shift", {"job": "b"})
    missed = stop("a", FAR, 8, earliest=at(8), latest=at(8))  # 40 minutes away at 08:00
    assert _only(request(), engineer("e1", route=(missed,))) == Reason(
        "plan_infeasible", {"job": "a"}
    )
    late = stop("a", FAR, 17, earliest=at(17), latest=at(17.5))  # back after 18:00
    reason = _only(request(), engineer("e1", route=(late,)))
    assert isinstance(reason, Reason) and reason.code == "plan_over_shift"
    assert reason.params["shift_end"] == at(18) and reason.params["back"] > at(18)


def test_a_split_shift_takes_the_job_in_the_shift_that_fits() -> None:
    split = ((at(8), at(12)), (at(13), at(18)))
    morning = (stop("a", HOME, 8.5, latest=at(11)),)
    found = _only(
        request(earliest=at(14), latest=at(16)), engineer("e1", shifts=split, route=morning)
    )
    assert isinstance(found, rec.Candidate)
    assert (found.shift, found.position, found.start) == (1, 1, at(14))


def test_work_over_the_limit_once_travel_is_counted() -> None:
    reason = _only(request(), engineer("e1", max_work=HOUR + 60))
    assert isinstance(reason, Reason) and reason.code == "over_hours"
    assert reason.params["work"] > HOUR + 60


def test_would_break_a_planned_jobs_window() -> None:
    # A must start at 09:00 sharp; the new job (08:00-09:30, one hour) fits neither before
    # A (A would start late) nor after it (too late itself): A's window is the reason, as
    # that position got further.
    tight = stop("A", FAR, 9, earliest=at(9), latest=at(9))
    req = request(earliest=at(8), latest=at(9.5))
    reason = _only(req, engineer("e1", route=(tight,)))
    assert isinstance(reason, Reason) and reason.code == "breaks_window"
    assert reason.params["job"] == "A" and reason.params["latest"] == at(9)
    assert reason.params["start"] > at(9)
    words = explain(reason, "en")
    assert words.startswith("Would break job A's window: it would start at 09:")
    assert words.endswith(", after 09:00")
    assert explain(reason, "zh_CN").startswith("会耽误工单 A 的时间窗")


def test_would_break_a_planned_jobs_sla() -> None:
    urgent = stop("B", FAR, 9, earliest=at(8), latest=at(17), sla_deadline=at(10))
    reason = _only(request(earliest=at(8), latest=at(8.5)), engineer("e1", route=(urgent,)))
    assert isinstance(reason, Reason) and reason.code == "breaks_sla"
    assert reason.params["job"] == "B" and reason.params["deadline"] == at(10)
    assert reason.params["finish"] > at(10)


def test_an_sla_that_no_one_can_meet_and_one_this_engineer_cannot() -> None:
    impossible = request(earliest=at(9), sla_deadline=at(9) + HOUR - 60)
    assert _only(impossible, engineer("e1")) == Reason(
        "sla_impossible", {"deadline": at(9) + HOUR - 60, "finish": at(10)}
    )
    # possible in principle, but the drive from FAR takes longer than five minutes
    tight = request(earliest=at(9), sla_deadline=at(10) + 300)
    reason = _only(tight, engineer("e1", start=FAR, end=FAR, shifts=((at(9), at(18)),)))
    assert isinstance(reason, Reason) and reason.code == "misses_sla"
    assert reason.params["finish"] > at(10) + 300
    assert explain(reason, "en").startswith("Cannot finish before the SLA deadline 10:05")


def test_too_late_for_the_window_and_the_shift_end() -> None:
    late = _only(request(earliest=at(9), latest=at(9)), engineer("e1", shifts=((at(9), at(18)),)))
    assert isinstance(late, Reason) and late.code == "too_late"
    short = _only(request(), engineer("e1", shifts=((at(8), at(10)),)))
    assert isinstance(short, Reason) and short.code == "shift_ends"
    assert short.params["shift_end"] == at(10) and short.params["back"] > at(10)


def test_an_urgent_job_now_goes_to_the_engineer_who_gets_there_first() -> None:
    now = at(10.5)
    urgent = request(
        earliest=now, latest=at(18), sla_deadline=now + 4 * HOUR, priority=rec.Priority.P1
    )
    near = engineer("near", start=(31.24, 121.49), shifts=((now, at(18)),), rating=3.0)
    far = engineer("far", start=FAR, end=FAR, shifts=((now, at(18)),), rating=5.0)
    gone = engineer("gone", shifts=((at(6), at(10)),))
    result = recommend(urgent, [far, gone, near])
    assert [c.engineer_id for c in result.candidates] == ["near", "far"]
    best = result.candidates[0]
    travel = seconds(Haversine(), (31.24, 121.49), urgent.location)  # type: ignore[arg-type]
    assert best.start == now + travel
    assert best.sla_slack == now + 4 * HOUR - best.end
    assert result.filtered == (rec.Filtered("gone", result.filtered[0].reason),)
    assert result.filtered[0].reason.code == "off_shift"


def test_a_scheduled_window_waits_for_its_start() -> None:
    before = stop("a", HOME, 8, service=1800, latest=at(9))  # cannot come after it
    found = _only(request(earliest=at(14), latest=at(16)), engineer("e1", route=(before,)))
    assert isinstance(found, rec.Candidate)
    assert found.position == 1 and found.start == at(14) and found.arrival < at(14)
    assert found.components["arrival"] == 0.0


def test_the_cheapest_position_is_chosen_inside_a_route() -> None:
    # home in the south-east, a south-west, b north-west, the job half-way from a to b
    a, b = stop("a", (31.10, 121.30), 9), stop("b", (31.40, 121.30), 12)
    day = engineer("e1", start=(31.10, 121.70), end=(31.10, 121.70), route=(a, b))
    # from 11:00 the job starts on time wherever it goes: travel decides
    found = _only(request(location=(31.25, 121.30), earliest=at(11), latest=at(11.5)), day)
    assert isinstance(found, rec.Candidate) and found.position == 1


def test_preferred_engineer_and_parts_change_the_ranking() -> None:
    a, b = engineer("a"), engineer("b")
    assert recommend(request(), [b, a]).candidates[0].engineer_id == "a"  # tie: by id
    preferred = recommend(request(preferred=frozenset({"b"})), [a, b]).candidates[0]
    assert preferred.engineer_id == "b" and preferred.components["preferred"] == -30.0
    van = engineer("b", parts=frozenset({"p1"}))
    parts = recommend(request(parts=frozenset({"p1"})), [a, van]).candidates
    assert [c.engineer_id for c in parts] == ["b", "a"]
    assert parts[0].has_parts and not parts[1].has_parts and parts[1].missing_parts == 1


def test_no_engineers_gives_an_empty_answer() -> None:
    result = recommend(request(), [])
    assert result == rec.Recommendation("new", (), (), 0)


def test_a_job_without_location_cannot_be_routed() -> None:
    result = recommend(request(location=None), [engineer("e1"), engineer("e2", shifts=())])
    assert [f.reason.code for f in result.filtered] == ["job_no_location", "off_shift"]


def test_a_kept_fleet_answers_like_recommend_and_limit_keeps_the_count() -> None:
    request_a, days = random_case(3)
    fleet = Fleet(days, Haversine())
    assert fleet.recommend(request_a, limit=None) == recommend(request_a, days, limit=None)
    once = Fleet.for_request(days, Haversine())  # tours of one request's survivors only
    assert once.recommend(request_a, limit=None) == fleet.recommend(request_a, limit=None)
    with pytest.raises(RuntimeError, match="one request"):
        once.recommend(request_a)
    many = [engineer(f"e{i}") for i in range(30)]
    top = recommend(request(), many, limit=5)
    assert len(top.candidates) == 5 and top.feasible == 30


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: request(location=(math.nan, 121.0)), "request new: location"),
        (lambda: request(location=(95.0, 121.0)), "outside"),
        (lambda: request(earliest=at(10), latest=at(9)), "window ends at"),
        (lambda: request(service=-1), "service is -1"),
        (lambda: request(skills={"gas": 0}), "skill 'gas' has level 0"),
        (lambda: stop("a", (31.0, math.inf), 9), "planned job a: location"),
        (lambda: stop("a", HOME, 9, earliest=at(10), latest=at(9)), "window ends"),
        (lambda: engineer("e1", start=(math.nan, 0.0)), "engineer e1: start"),
        (lambda: engineer("e1", shifts=((at(10), at(9)),)), "shift ends"),
        (lambda: engineer("e1", shifts=((at(8), at(12)), (at(11), at(14)))), "overlap"),
        (lambda: engineer("e1", rating=math.nan), "rating nan"),
        (lambda: recommend(request(), [engineer("e1"), engineer("e1")]), "unique"),
        (lambda: recommend(request(), [engineer("e1")], limit=-1), "limit is -1"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()  # type: ignore[operator]


def test_every_reason_code_has_english_and_chinese_words() -> None:
    # The engine's codes, and those the candidates service and the day planner word with the
    # same table.
    here = Path(rec.__file__).parent
    files = [*here.glob("*.py"), *(here.parent / "candidates").glob("*.py")]
    files += [*(here.parent / "plans").glob("*.py")]
    source = "".join(p.read_text() for p in files)
    codes = set(re.findall(r'Reason\(\s*"([a-z_]+)"', source))
    codes |= {code.value for code in Code}  # the hard rules' codes (server/dispatch/eligibility.py)
    assert len(codes) >= 25
    for code in codes:
        assert set(rec.TEMPLATES[code]) >= {"en", "zh_CN"}, code
    assert set(rec.TEMPLATES) == codes  # and no template for a code that does not exist


def test_every_reason_the_engine_gives_renders_in_both_languages() -> None:
    rendered = set()
    for seed in range(150):
        req, days = random_case(seed)
        result = recommend(req, days, limit=None)
        reasons = [f.reason for f in result.filtered]
        reasons += [r for c in result.candidates for r in c.reasons]
        for reason in reasons:
            for locale in rec.LOCALES:
                text = explain(reason, locale)
                assert "{" not in text and text
            rendered.add(reason.code)
    assert len(rendered) >= 20
