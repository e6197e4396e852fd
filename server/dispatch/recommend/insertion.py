"""One request against a ``Tours``: the hard filters as vectorised masks, then every
insertion position of every remaining tour at once, in O(1) per position from the fleet's
forward slack, then the score and the ranking.

An insertion before column p of a tour (the job between node p-1, or the start location,
and node p, or the end location) is feasible when:
- the job starts (after travel, waiting for ``earliest`` if early) by ``latest_start``;
- the push ``d`` it causes on node p is at most ``slack[p]`` (then no later stop leaves its
  window or SLA, and the tour ends by the shift's end); a negative push (travel that is
  shorter through the job, which road matrices allow) is always feasible;
- the day's work, with the tour's new ``back - departure``, stays within ``max_work``.
Where the push lands at the end: ``max(0, d - waits[p])`` if d >= 0 (waiting absorbs it),
``max(d, -spare[p])`` if d < 0 (a stop that cannot start earlier stops it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from server.dispatch.recommend import score
from server.dispatch.recommend.fleet import Tours
from server.dispatch.recommend.model import (
    Candidate,
    Filtered,
    Reason,
    Recommendation,
    Request,
    Weights,
)
from server.dispatch.recommend.travel import IntArray

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


class _Filters:
    """The engineers still in, and the reason of each one dropped (first reason wins)."""

    def __init__(self, count: int) -> None:
        self.alive = np.ones(count, bool)
        self.reasons: dict[int, Reason] = {}

    def drop(self, mask: BoolArray, reason: Callable[[int], Reason]) -> None:
        hit = mask & self.alive
        for i in np.flatnonzero(hit).tolist():
            self.reasons[i] = reason(i)
        self.alive &= ~hit


def rank(fleet: Tours, request: Request, weights: Weights, limit: int | None) -> Recommendation:
    if limit is not None and limit < 0:
        raise ValueError(f"limit is {limit}, expected None or a number >= 0")
    count = len(fleet.days)
    f = _Filters(count)
    surplus = _hard_filters(fleet, request, f)
    fleet.build(f.alive)  # a per-request fleet: the tours of the engineers still in
    _plan_filters(fleet, request, f)
    found: list[Candidate] = []
    feasible = 0
    if f.alive.any():
        found, feasible, why = _insert(fleet, request, weights, f.alive, surplus, limit)
        f.reasons.update(why)
    filtered = tuple(Filtered(fleet.days[i].id, f.reasons[i]) for i in sorted(f.reasons))
    return Recommendation(request.job_id, tuple(found), filtered, feasible)


def _hard_filters(fleet: Tours, request: Request, f: _Filters) -> IntArray:
    """Skills, shift, territory, declined, location, job count; returns the skill surplus."""
    surplus = np.zeros(len(fleet.days), np.int64)
    for name in sorted(request.skills):
        need, has = request.skills[name], fleet.levels(name)
        f.drop(has == 0, partial(_missing_skill, name, need))
        f.drop(has < need, partial(_skill_too_low, name, need, has))
        surplus += has - need
    lo = np.maximum(fleet.shift_start, request.earliest)
    hi = np.minimum(fleet.shift_end - request.service, request.latest)
    on_shift = np.bincount(fleet.eng, lo <= hi, len(fleet.days)) > 0
    window = {"earliest": request.earliest, "latest": request.latest}
    f.drop(~on_shift, lambda i: Reason("off_shift", window))
    if request.territory is not None:
        code = fleet.territories.get(request.territory, -2)
        outside = (fleet.territory >= 0) & (fleet.territory != code)
        f.drop(outside, lambda i: _territory(request, fleet.days[i].territory))
    f.drop(_members(fleet, request.declined), lambda i: Reason("declined", {}))
    f.drop(~fleet.located, lambda i: Reason("no_location", {}))
    full = fleet.jobs + 1 > fleet.max_jobs
    f.drop(
        full,
        lambda i: Reason(
            "full_jobs", {"max_jobs": fleet.days[i].max_jobs, "planned": int(fleet.jobs[i])}
        ),
    )
    return surplus


def _plan_filters(fleet: Tours, request: Request, f: _Filters) -> None:
    """A plan that is already broken, a full day, a job that cannot be placed at all."""
    broken = np.zeros(len(fleet.days), bool)
    broken[list(fleet.plan_reason)] = True
    f.drop(broken, lambda i: fleet.plan_reason[i])
    over = (fleet.base_work > fleet.max_work) | (fleet.services + request.service > fleet.max_work)
    f.drop(
        over,
        lambda i: Reason(
            "full_hours",
            {"max_work": fleet.days[i].max_work, "planned_work": int(fleet.base_work[i])},
        ),
    )
    everyone = np.ones(len(fleet.days), bool)
    if request.location is None:
        f.drop(everyone, lambda i: Reason("job_no_location", {}))
    if request.latest_start < request.earliest:
        finish = request.earliest + request.service
        params = {"deadline": request.sla_deadline, "finish": finish}
        f.drop(everyone, lambda i: Reason("sla_impossible", params))


def _missing_skill(name: str, need: int, i: int) -> Reason:
    return Reason("missing_skill", {"skill": name, "level": need})


def _skill_too_low(name: str, need: int, has: IntArray, i: int) -> Reason:
    return Reason("skill_too_low", {"skill": name, "level": need, "has": int(has[i])})


def _territory(request: Request, theirs: str | None) -> Reason:
    return Reason(
        "outside_territory", {"territory": request.territory, "engineer_territory": theirs}
    )


def _members(fleet: Tours, ids: frozenset[str]) -> BoolArray:
    mask = np.zeros(len(fleet.days), bool)
    mask[[fleet.index[i] for i in ids if i in fleet.index]] = True
    return mask


def _insert(
    fleet: Tours,
    request: Request,
    weights: Weights,
    alive: BoolArray,
    surplus: IntArray,
    limit: int | None,
) -> tuple[list[Candidate], int, dict[int, Reason]]:
    rows = np.flatnonzero(alive[fleet.eng])
    grid = _grid(fleet, request, rows)
    eng = fleet.eng[rows]
    e = eng[:, None]
    missing = _missing_parts(fleet, request)
    parts = score.components(
        weights,
        request.priority,
        travel_added=grid["travel_added"],
        delay=grid["start"] - request.earliest,
        sla_slack=None if request.sla_deadline is None else request.sla_deadline - grid["end"],
        rating=fleet.rating[e],
        jobs=fleet.jobs[e],
        work=fleet.base_work[e],
        preferred=_members(fleet, request.preferred)[e],
        skill_surplus=surplus[e],
        missing_parts=missing[e],
        work_after=grid["work"],
    )
    total = np.where(grid["ok"], score.total(parts), np.inf)
    column = np.argmin(total, axis=1)  # the first (earliest) of equal scores
    best = total[np.arange(len(rows)), column]
    order = np.lexsort((np.arange(len(rows)), best, eng))
    first = order[np.r_[True, eng[order][1:] != eng[order][:-1]]]  # per engineer, best row
    good = first[np.isfinite(best[first])]
    failed = np.ones(len(fleet.days), bool)
    failed[eng[good]] = False
    why = _why(fleet, request, rows[failed[eng]], _subset(grid, failed[eng]))
    ranked = good[np.lexsort((fleet.id_rank[eng[good]], best[good]))]
    shown = ranked if limit is None else ranked[:limit]
    found = [
        _candidate(fleet, request, rows, grid, parts, missing, surplus, r, int(column[r]))
        for r in shown.tolist()
    ]
    return found, len(good), why


def _grid(fleet: Tours, request: Request, rows: IntArray) -> dict[str, Any]:
    """Every (row, column) insertion of the job: times, feasibility, travel and work."""
    assert request.location is not None
    width = fleet.width + 1
    lat, lon = fleet.lat[rows], fleet.lon[rows]
    job_lat, job_lon = np.float64(request.location[0]), np.float64(request.location[1])
    if getattr(fleet.travel, "symmetric", False):  # one call: node -> job is job -> node
        both = fleet.travel(lat, lon, job_lat, job_lon)  # type: ignore[arg-type]
        t_in, t_out = both[:, :width], both[:, 1:]
    else:
        t_in = fleet.travel(lat[:, :width], lon[:, :width], job_lat, job_lon)  # type: ignore[arg-type]
        t_out = fleet.travel(job_lat, job_lon, lat[:, 1:], lon[:, 1:])  # type: ignore[arg-type]
    n = fleet.n[rows][:, None]
    column = np.arange(width)[None, :]
    arrival = fleet.prev_end[rows] + t_in
    start = np.maximum(arrival, request.earliest)
    end = start + request.service
    ok = (column <= n) & (start <= request.latest_start)
    ok_job = ok.copy()
    push = np.maximum(end + t_out, fleet.earliest[rows]) - fleet.start[rows]
    ok_push = push <= fleet.slack[rows]
    ok &= ok_push
    landed = np.where(
        push >= 0,
        np.maximum(0, push - fleet.waits[rows]),
        np.maximum(push, -fleet.spare[rows]),
    )
    back = np.take_along_axis(fleet.start[rows], n, axis=1) + landed
    departure = np.where(column == 0, start - t_in, fleet.departure[rows][:, None])
    eng = fleet.eng[rows]
    work = (fleet.base_work[eng] - fleet.tour_work[rows])[:, None] + back - departure
    ok_work = work <= fleet.max_work[eng][:, None]
    ok &= ok_work
    travel_added = t_in + t_out - np.where(n > 0, fleet.leg[rows], 0)
    return {
        "arrival": np.where(column == 0, start, arrival),  # first of the tour: just in time
        "start": start,
        "end": end,
        "ok": ok,
        "valid": column <= n,
        "ok_job": ok_job,
        "ok_push": ok_push,
        "ok_work": ok_work,
        "push": push,
        "back": back,
        "work": work,
        "travel_added": travel_added,
    }


def _missing_parts(fleet: Tours, request: Request) -> IntArray:
    missing = np.zeros(len(fleet.days), np.int64)
    for part in request.parts:
        missing += ~fleet.carries(part)
    return missing


def _candidate(
    fleet: Tours,
    request: Request,
    rows: IntArray,
    grid: dict[str, Any],
    parts: dict[str, Any],
    missing: IntArray,
    surplus: IntArray,
    r: int,
    p: int,
) -> Candidate:
    row = int(rows[r])
    i = int(fleet.eng[row])
    day = fleet.days[i]
    components = {name: _cell(value, r, p) for name, value in parts.items()}
    end = int(grid["end"][r, p])
    return Candidate(
        engineer_id=day.id,
        position=int(fleet.offset[row]) + p,
        shift=int(fleet.shift[row]),
        arrival=int(grid["arrival"][r, p]),
        start=int(grid["start"][r, p]),
        end=end,
        travel_added=int(grid["travel_added"][r, p]),
        sla_slack=None if request.sla_deadline is None else request.sla_deadline - end,
        load=(len(day.route), int(fleet.base_work[i])),
        rating=day.rating,
        has_parts=bool(missing[i] == 0),
        missing_parts=int(missing[i]),
        parts_needed=len(request.parts),
        preferred=day.id in request.preferred,
        skill_surplus=int(surplus[i]),
        work=int(grid["work"][r, p]),
        score=float(score.total(components)),
        components=components,
    )


def _cell(value: Any, r: int, p: int) -> float:
    """One cell of a score component: a number, a (rows, 1) column or a (rows, columns) grid."""
    if np.ndim(value) == 0:
        return float(value)
    return float(value[r, p if value.shape[1] > 1 else 0])


def _subset(grid: dict[str, Any], mask: BoolArray) -> dict[str, Any]:
    return {name: value[mask] for name, value in grid.items()}


def _why(fleet: Tours, request: Request, rows: IntArray, grid: dict[str, Any]) -> dict[int, Reason]:
    """The reason of each engineer of ``rows`` without a feasible position: the position that
    got furthest (the job late 1, a planned job late 2, the shift end 3, the hours 4), then
    the smallest overshoot, then the earliest; as the reference (reference.evaluate)."""
    r, p = np.nonzero(grid["valid"])  # every position of every tour, in day order
    cell = {name: value[r, p] for name, value in grid.items()}
    row = rows[r]
    stage = np.where(~cell["ok_job"], 1, np.where(~cell["ok_push"], 3, 4))
    overshoot = np.select(
        [stage == 1, stage == 3],
        [cell["start"] - request.latest_start, cell["back"] - fleet.shift_end[row]],
        cell["work"] - fleet.max_work[fleet.eng[row]],
    )
    # a push beyond the slack breaks a planned job (stage 2) unless only the end is late:
    # scan the columns after the insertion for the first one pushed past its latest start
    pushed = np.flatnonzero(stage == 3)
    k_first = np.zeros(len(r), np.int64)
    late_start = np.zeros(len(r), np.int64)
    if len(pushed):
        at, q = row[pushed], p[pushed]
        start, latest = fleet.start[at], fleet.latest[at]
        waited = np.cumsum(fleet.wait[at], axis=1)
        column = np.arange(start.shape[1])[None, :]
        absorbed = waited - np.take_along_axis(waited, q[:, None], axis=1)
        delayed = start + np.maximum(0, cell["push"][pushed][:, None] - absorbed)
        later = (column >= q[:, None]) & (column < fleet.n[at][:, None])
        broken = later & (delayed > latest)
        first = np.argmax(broken, axis=1)
        hit = broken.any(axis=1)
        moved = np.take_along_axis(delayed, first[:, None], axis=1)[:, 0]
        stage[pushed[hit]] = 2
        overshoot[pushed[hit]] = (moved - np.take_along_axis(latest, first[:, None], 1)[:, 0])[hit]
        k_first[pushed], late_start[pushed] = first, moved
    eng = fleet.eng[row]
    order = np.lexsort((np.arange(len(r)), overshoot, -stage, eng))
    firsts = order[np.r_[True, eng[order][1:] != eng[order][:-1]]] if len(order) else order
    lists = {
        "eng": eng[firsts].tolist(),
        "row": row[firsts].tolist(),
        "stage": stage[firsts].tolist(),
        "start": cell["start"][firsts].tolist(),
        "back": cell["back"][firsts].tolist(),
        "work": cell["work"][firsts].tolist(),
        "k": k_first[firsts].tolist(),
        "late_start": late_start[firsts].tolist(),
    }
    names = list(lists)
    found: dict[int, Reason] = {}
    for values in zip(*lists.values(), strict=True):
        found[values[0]] = _reason(fleet, request, dict(zip(names, values, strict=True)))
    return found


def _reason(fleet: Tours, request: Request, cell: dict[str, int]) -> Reason:
    stage, start = cell["stage"], cell["start"]
    if stage == 1:
        if request.sla_binds:
            finish = start + request.service
            return Reason("misses_sla", {"deadline": request.sla_deadline, "finish": finish})
        return Reason("too_late", {"latest": request.latest_start, "start": start})
    if stage == 2:
        stop = fleet.stop(int(fleet.stop_at[cell["row"], cell["k"]]))
        moved = cell["late_start"]
        if stop.sla_deadline is not None and stop.latest_start < stop.latest:
            params = {"job": stop.job_id, "deadline": stop.sla_deadline}
            return Reason("breaks_sla", {**params, "finish": moved + stop.service})
        params = {"job": stop.job_id, "latest": stop.latest_start}
        return Reason("breaks_window", {**params, "start": moved})
    if stage == 3:
        shift_end = int(fleet.shift_end[cell["row"]])
        return Reason("shift_ends", {"shift_end": shift_end, "back": cell["back"]})
    max_work = fleet.days[cell["eng"]].max_work
    return Reason("over_hours", {"max_work": max_work, "work": cell["work"]})
