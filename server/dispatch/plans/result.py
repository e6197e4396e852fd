"""A solved day plan as the stored ``DayPlan.result`` (JSON), and back.

``result`` holds what people read (routes with instants, unassigned work orders with
reasons, engineers skipped, the objective) and ``model``: the solver's problem and
solution exactly as checked, so anyone can run the independent checker
(``server.dispatch.vrp.check``) on a stored plan again (``checked_model``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from server.dispatch import vrp
from server.dispatch.plans.build import WEIGHT, Built, Left, words
from server.dispatch.recommend import Reason
from server.tickets import format_number


def _at(built: Built, seconds: int) -> str:
    return (built.day_start + dt.timedelta(seconds=seconds)).isoformat()


def _reason(job: vrp.Job, words: str) -> Reason:
    """The solver's words for a job it left out, as a reason."""
    if job.pinned_to is not None:
        return Reason("pinned_no_room")
    if words.startswith("no window"):
        return Reason("unreachable_window")
    return Reason("no_room")


def _route(built: Built, route: vrp.Route) -> dict[str, Any]:
    problem = built.problem
    vehicle = problem.vehicle(route.vehicle)
    where, stops, travel, work = vehicle.start, [], 0, 0
    for position, stop in enumerate(route.stops, start=1):
        job, ticket = problem.job(stop.job), built.jobs[stop.job]
        leg = problem.travel[where][job.location]
        travel, work, where = travel + leg, work + job.service, job.location
        stops.append(
            {
                "ticket_id": stop.job,
                "number": format_number(ticket.number),
                "priority": ticket.priority,
                "position": position,
                "travel_seconds": leg,
                "arrival": _at(built, stop.arrival),
                "start": _at(built, stop.start),
                "end": _at(built, stop.end),
            }
        )
    back = problem.travel[where][vehicle.end] if route.stops else 0
    return {
        "engineer_id": route.vehicle,
        "name": built.engineers[route.vehicle].name,
        "departure": _at(built, route.departure),
        "back": _at(built, route.back),
        "travel_seconds": travel + back,
        "return_travel_seconds": back,
        "work_seconds": work,
        "stops": stops,
    }


def _left(built: Built, left: Left) -> dict[str, Any]:
    job = built.jobs[left.ticket_id]
    return {
        "ticket_id": left.ticket_id,
        "number": format_number(job.number),
        "priority": job.priority,
        "reason": left.reason,
        "detail": left.detail,
        "params": left.params,
    }


def to_result(
    built: Built, problem: vrp.Problem, solution: vrp.Solution, **extra: Any
) -> dict[str, Any]:
    """The stored result of ``solution`` to ``problem`` (built from ``built``)."""
    routes = [_route(built, r) for r in solution.routes if r.stops]
    left = list(built.left)
    for item in solution.unassigned:
        reason = _reason(problem.job(item.job), item.reason)
        left.append(Left(item.job, reason.code, words(reason), dict(reason.params)))
    served = {s.job for r in solution.routes for s in r.stops}
    weighted = sum(
        WEIGHT.get(built.jobs[j].priority, 1) * built.jobs[j].service_seconds for j in served
    )
    return {
        "day_start": built.day_start.isoformat(),
        "routes": routes,
        "unassigned": [_left(built, x) for x in sorted(left, key=lambda x: x.ticket_id)],
        "engineers_skipped": built.skipped,
        "objective": {
            "travel_seconds": solution.objective.travel,
            "assigned_jobs": len(served),
            "unassigned_jobs": len(left),
            "assigned_weighted_work": weighted,
            "penalty": solution.objective.penalty,
        },
        "model": model_json(problem, solution),
        **extra,
    }


def model_json(problem: vrp.Problem, solution: vrp.Solution) -> dict[str, Any]:
    def plain(obj: Any) -> Any:
        data = dataclasses.asdict(obj)
        return _lists(data)

    return {"problem": plain(problem), "solution": plain(solution)}


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def checked_model(result: dict[str, Any]) -> tuple[vrp.Problem, vrp.Solution]:
    """The stored problem and solution, rebuilt for ``vrp.check``."""
    p, s = result["model"]["problem"], result["model"]["solution"]

    def window(w: dict[str, int]) -> vrp.Window:
        return vrp.Window(w["start"], w["end"])

    problem = vrp.Problem(
        name=p["name"],
        travel=tuple(tuple(row) for row in p["travel"]),
        jobs=tuple(
            vrp.Job(
                **{
                    **j,
                    "windows": tuple(window(w) for w in j["windows"]),
                    "skills": frozenset(j["skills"]),
                }
            )
            for j in p["jobs"]
        ),
        vehicles=tuple(
            vrp.Vehicle(**{**v, "shift": window(v["shift"]), "skills": frozenset(v["skills"])})
            for v in p["vehicles"]
        ),
        scale=p["scale"],
    )
    solution = vrp.Solution(
        routes=tuple(
            vrp.Route(
                r["vehicle"], r["departure"], tuple(vrp.Stop(**x) for x in r["stops"]), r["back"]
            )
            for r in s["routes"]
        ),
        unassigned=tuple(vrp.Unassigned(**u) for u in s["unassigned"]),
        objective=vrp.Objective(**s["objective"]),
        notes=tuple(s["notes"]),
    )
    return problem, solution
