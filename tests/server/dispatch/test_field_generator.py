"""The field-realism generator behind benchmarks/bench_field_vrp.py: same seed, same case;
the cases have what the brief asks for; our plan of one passes the independent checker."""

from __future__ import annotations

from pathlib import Path

from benchmarks.field_cases import PENALTY_SCALE, SKILLS, WEIGHTS, FieldCase, field_case
from server.dispatch.vrp import check, solomon, solve

DATA = Path(__file__).resolve().parents[2] / "fixtures" / "vrptw" / "solomon"


def _case(name: str = "R101", seed: int = 3, fleet: int = 12) -> FieldCase:
    return field_case(solomon.read(DATA / f"{name}.txt"), seed=seed, fleet=fleet)


def test_the_same_seed_gives_the_same_case_and_another_seed_another() -> None:
    assert _case(seed=3) == _case(seed=3)
    assert _case(seed=3).problem.jobs != _case(seed=4).problem.jobs
    assert _case(seed=3).problem.vehicles != _case(seed=4).problem.vehicles


def test_every_job_needs_at_most_two_skills_and_some_engineer_has_them() -> None:
    case = _case()

    for job in case.problem.jobs:
        assert len(job.skills) <= 2
        assert job.skills <= set(SKILLS)
        assert any(job.skills <= v.skills for v in case.problem.vehicles), job.id
    assert {len(j.skills) for j in case.problem.jobs} == {0, 1, 2}
    assert len({v.skills for v in case.problem.vehicles}) > 1


def test_a_lone_engineer_is_given_every_skill_the_jobs_need() -> None:
    case = _case(fleet=1)

    (engineer,) = case.problem.vehicles
    assert engineer.skills == set().union(*(j.skills for j in case.problem.jobs))
    assert engineer.skills == set(SKILLS)


def test_engineers_start_at_their_own_places_within_staggered_shifts() -> None:
    case = _case(fleet=12)
    horizon = solomon.read(DATA / "R101.txt").vehicles[0].shift
    fleet = case.problem.vehicles

    assert len(fleet) == 12
    assert len({v.start for v in fleet}) > 3
    assert len({v.shift for v in fleet}) == 12
    for v in fleet:
        assert horizon.start <= v.shift.start < v.shift.end <= horizon.end
        assert v.shift.end - v.shift.start < horizon.end - horizon.start


def test_urgent_jobs_have_a_tighter_deadline_and_a_high_priority() -> None:
    case = _case()
    original = {j.id: j for j in solomon.read(DATA / "R101.txt").jobs}

    assert 5 <= len(case.urgent) <= 30
    for job in case.problem.jobs:
        window, before = job.windows[0], original[job.id].windows[0]
        assert window.start == before.start
        if job.id in case.urgent:
            assert case.level[job.id] in (1, 2)
            assert window.end == max(before.start, before.start + (before.end - before.start) // 3)
        else:
            assert case.level[job.id] in (2, 3, 4)
            assert window == before
        assert job.priority == WEIGHTS[case.level[job.id]]
        assert job.penalty == WEIGHTS[case.level[job.id]] * PENALTY_SCALE


def test_our_plan_of_a_generated_case_passes_the_checker_and_serves_p1_first() -> None:
    case = _case(name="C101", seed=0, fleet=6)

    plan = solve(case.problem, seconds=2.0, seed=0)

    assert check(case.problem, plan) == []
    served = {s.job for r in plan.routes for s in r.stops}
    assert plan.unassigned  # six engineers cannot do a hundred jobs
    share = {
        level: sum(1 for j in served if case.level[j] == level)
        / sum(1 for v in case.level.values() if v == level)
        for level in (1, 4)
    }
    assert share[1] > share[4]
