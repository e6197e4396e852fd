"""The independent checker: one hand-built plan per kind of violation.

The plan under test: v1 leaves the depot (0) at 0, serves a at location 1 (10-15) and b at
location 2 (25-30), and is back at 50; travel 10 + 10 + 20 = 40.
"""

from __future__ import annotations

from dataclasses import replace

from server.dispatch.vrp import Job, Objective, Route, Solution, Stop, Unassigned, Window, check
from tests.fixtures.dispatch import job, problem, vehicle

A, B = Stop("a", 10, 10, 15), Stop("b", 25, 25, 30)
GOOD = Route("v1", 0, (A, B), 50)
OBJECTIVE = Objective(travel=40, vehicles=1, penalty=0, assigned_priority=2)


def _kinds(jobs: tuple[Job, ...], routes: tuple[Route, ...], **changes: object) -> list[str]:
    """The kinds of violation of ``routes`` (objective OBJECTIVE unless changed) on v1, v2."""
    vehicles = (vehicle("v1", **changes.pop("v1", {})), vehicle("v2"))  # type: ignore[arg-type]
    unassigned = changes.pop("unassigned", ())
    objective = changes.pop("objective", OBJECTIVE)
    plan = Solution(routes, unassigned, objective)  # type: ignore[arg-type]
    return [v.kind for v in check(problem(jobs, vehicles), plan)]


JOBS = (job("a", 1), job("b", 2))


def test_a_correct_plan_passes() -> None:
    assert _kinds(JOBS, (GOOD,)) == []


def test_waiting_for_a_window_and_leaving_late_is_allowed() -> None:
    jobs = (job("a", 1, windows=(Window(100, 120), Window(300, 400))), job("b", 2))
    late = Route("v1", 250, (Stop("a", 260, 300, 305), Stop("b", 315, 315, 320)), 400)

    assert _kinds(jobs, (late,)) == []


def test_a_job_served_twice_is_a_duplicate() -> None:
    twice = Route("v2", 0, (Stop("b", 20, 20, 25),), 45)
    objective = replace(OBJECTIVE, travel=80, vehicles=2, assigned_priority=2)

    assert _kinds(JOBS, (GOOD, twice), objective=objective) == ["duplicate"]


def test_a_required_job_left_out_is_missing() -> None:
    only_a = Route("v1", 0, (A,), 30)
    objective = replace(OBJECTIVE, travel=20, assigned_priority=1)

    assert _kinds(JOBS, (only_a,), objective=objective, unassigned=(Unassigned("b", "x"),)) == [
        "missing"
    ]


def test_an_optional_job_left_out_costs_its_penalty_and_is_fine() -> None:
    jobs = (job("a", 1), job("b", 2, penalty=70))
    only_a = Route("v1", 0, (A,), 30)
    objective = Objective(travel=20, vehicles=1, penalty=70, assigned_priority=1)

    assert _kinds(jobs, (only_a,), objective=objective, unassigned=(Unassigned("b", "x"),)) == []


def test_a_job_not_in_the_problem_is_unknown() -> None:
    extra = Route("v1", 0, (A, B, Stop("zz", 35, 35, 40)), 70)

    assert "unknown" in _kinds(JOBS, (extra,))


def test_a_pinned_job_on_another_vehicle_is_caught() -> None:
    jobs = (job("a", 1, pinned_to="v2"), job("b", 2))

    assert _kinds(jobs, (GOOD,)) == ["pinned"]


def test_a_job_needing_a_skill_the_engineer_lacks_is_caught() -> None:
    jobs = (job("a", 1, skills=frozenset({"gas"})), job("b", 2))

    assert _kinds(jobs, (GOOD,), v1={"skills": frozenset({"electric"})}) == ["skills"]


def test_service_starting_after_the_window_is_caught() -> None:
    jobs = (job("a", 1, windows=(Window(0, 5),)), job("b", 2))

    assert _kinds(jobs, (GOOD,)) == ["time"]


def test_arriving_sooner_than_travel_allows_is_caught() -> None:
    rushed = Route("v1", 0, (Stop("a", 5, 5, 10), Stop("b", 20, 20, 25)), 45)

    assert _kinds(JOBS, (rushed,)) == ["time"]


def test_an_end_that_is_not_start_plus_service_is_caught() -> None:
    short = Route("v1", 0, (Stop("a", 10, 10, 12), B), 50)

    assert _kinds(JOBS, (short,)) == ["time"]


def test_leaving_before_the_shift_is_caught() -> None:
    assert _kinds(JOBS, (GOOD,), v1={"shift": Window(1, 1000)}) == ["shift"]


def test_coming_back_after_the_shift_end_is_caught() -> None:
    assert _kinds(JOBS, (GOOD,), v1={"shift": Window(0, 45)}) == ["shift"]


def test_returning_sooner_than_the_drive_home_is_caught() -> None:
    assert _kinds(JOBS, (replace(GOOD, back=40),)) == ["shift"]


def test_demand_over_capacity_is_caught() -> None:
    jobs = (job("a", 1, demand=6), job("b", 2, demand=5))

    assert _kinds(jobs, (GOOD,), v1={"capacity": 10}) == ["capacity"]


def test_more_jobs_than_the_engineer_takes_is_caught() -> None:
    assert _kinds(JOBS, (GOOD,), v1={"max_jobs": 1}) == ["capacity"]


def test_a_day_longer_than_the_working_time_is_caught() -> None:
    assert _kinds(JOBS, (GOOD,), v1={"max_work": 49}) == ["capacity"]


def test_a_misreported_objective_is_caught() -> None:
    assert _kinds(JOBS, (GOOD,), objective=replace(OBJECTIVE, travel=39)) == ["cost"]


def test_two_routes_for_one_vehicle_are_caught() -> None:
    first, second = Route("v1", 0, (A,), 30), Route("v1", 100, (Stop("b", 120, 120, 125),), 145)
    objective = replace(OBJECTIVE, travel=60, vehicles=2)

    assert _kinds(JOBS, (first, second), objective=objective) == ["duplicate"]
