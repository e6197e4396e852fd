"""The engineers' days as padded numpy arrays: everything that does not depend on the
request, computed once per set of days (a caller answering several requests on the same
plan keeps the ``Fleet``).

One row per (engineer, shift): a *tour* from the start location to the end location with
the stops planned in that shift. Column k < n is the k-th stop; column n is the end of the
tour ("back"), so an insertion before column p (p = 0..n) is uniform. Per row and column:
the base schedule (each stop served as early as possible after leaving at the shift start),
the forward slack ``slack[p]`` (how far the start at column p may be pushed without any
later stop leaving its window or the tour ending after the shift: Savelsbergh's forward
time slack), ``waits`` (waiting after p, which absorbs a push) and ``spare`` (the least
start-minus-earliest after p, which bounds how much a pull earlier reaches the end).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter, methodcaller
from typing import Any

import numpy as np
import numpy.typing as npt

from server.dispatch.recommend import reference
from server.dispatch.recommend.model import (
    EngineerDay,
    LatLon,
    PlannedStop,
    Reason,
    Recommendation,
    Request,
    Weights,
)
from server.dispatch.recommend.travel import IntArray, Travel

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

BIG = np.int64(1) << 50  # "no bound": far beyond any clock, safe to add to one


class Fleet:
    def __init__(self, days: Sequence[EngineerDay], travel: Travel) -> None:
        self._engineers(days, travel)
        self._tours(None)

    @classmethod
    def for_request(cls, days: Sequence[EngineerDay], travel: Travel) -> Fleet:
        """A fleet for one request (what ``recommend`` uses): the per-engineer arrays now,
        the tours later, only for the engineers that pass the hard filters (the filtered
        ones never reach the plan filters or the insertion). Not for keeping."""
        fleet = cls.__new__(cls)
        fleet._engineers(days, travel)
        fleet.pending = True
        return fleet

    def _engineers(self, days: Sequence[EngineerDay], travel: Travel) -> None:
        """The per-engineer arrays and the (engineer, shift) rows: one C-level read per
        field (``map(attrgetter)``), no Python-level loop over the engineers."""
        self.days = list(days)
        self.travel = travel
        self.pending = self.spent = False
        count = len(self.days)
        ids = list(map(attrgetter("id"), self.days))
        self.index = dict(zip(ids, range(count), strict=True))
        if len(self.index) != count:
            raise ValueError("engineer ids must be unique")
        self.id_rank = np.empty(count, np.int64)
        self.id_rank[sorted(range(count), key=ids.__getitem__)] = np.arange(count)
        self.rating = np.fromiter(map(attrgetter("rating"), self.days), np.float64, count)
        self.routes = list(map(attrgetter("route"), self.days))
        self.jobs = np.fromiter(map(len, self.routes), np.int64, count)
        self.max_jobs = _bounds(map(attrgetter("max_jobs"), self.days), count)
        self.max_work = _bounds(map(attrgetter("max_work"), self.days), count)
        self.starts = list(map(attrgetter("start"), self.days))
        self.ends = list(map(attrgetter("end"), self.days))
        self.located = ~(
            np.fromiter(map(_is_none, self.starts), bool, count)
            | np.fromiter(map(_is_none, self.ends), bool, count)
        )
        territory = list(map(attrgetter("territory"), self.days))
        names = sorted(set(territory) - {None})
        self.territories = {name: code for code, name in enumerate(names)}
        codes = {None: -1, **self.territories}
        self.territory = np.fromiter(map(codes.__getitem__, territory), np.int64, count)
        self._levels: dict[str, IntArray] = {}
        self._parts: dict[str, BoolArray] = {}
        self.plan_reason: dict[int, Reason] = {}
        self._shifts()

    def recommend(
        self, request: Request, *, weights: Weights | None = None, limit: int | None = 20
    ) -> Recommendation:
        """Rank this fleet's engineers for ``request`` (server.dispatch.recommend)."""
        from server.dispatch.recommend.insertion import rank  # insertion builds on Fleet

        return rank(self, request, weights or Weights(), limit)

    def carries(self, part: str) -> BoolArray:
        """Whether each engineer's van holds ``part``, cached."""
        if part not in self._parts:
            vans = map(attrgetter("parts"), self.days)
            self._parts[part] = np.fromiter(
                map(methodcaller("__contains__", part), vans), bool, len(self.days)
            )
        return self._parts[part]

    def levels(self, skill: str) -> IntArray:
        """Every engineer's level of ``skill`` (0: missing), cached."""
        if skill not in self._levels:
            skills = map(attrgetter("skills"), self.days)
            self._levels[skill] = np.fromiter(
                map(methodcaller("get", skill, 0), skills), np.int64, len(self.days)
            )
        return self._levels[skill]

    def _shifts(self) -> None:
        """The rows: one per (engineer, shift), grouped by engineer, with the shift bounds."""
        days, count = self.days, len(self.days)
        shifts = list(map(attrgetter("shifts"), days))
        self.shifts_of = np.fromiter(map(len, shifts), np.int64, count)
        self.first_row = np.cumsum(self.shifts_of) - self.shifts_of
        self.eng = np.repeat(np.arange(count), self.shifts_of)
        self.shift = np.arange(len(self.eng)) - self.first_row[self.eng]
        windows = chain.from_iterable(chain.from_iterable(shifts))
        bounds = np.fromiter(windows, np.int64, 2 * len(self.eng)).reshape(-1, 2)
        self.shift_start, self.shift_end = bounds[:, 0], bounds[:, 1]

    def build(self, alive: BoolArray) -> None:
        """The tours of the ``alive`` engineers of a ``for_request`` fleet: one request only
        (another request's survivors may need tours it does not have)."""
        if self.spent:
            raise RuntimeError("a Fleet.for_request fleet answers one request: keep a Fleet")
        if self.pending:
            self.pending, self.spent = False, True
            self._tours(alive)

    def _tours(self, only: BoolArray | None) -> None:
        """Each planned stop's row and column, from flat arrays of all stops (of the ``only``
        engineers; the others keep empty tours), without a Python loop over engineers."""
        days, count = self.days, len(self.days)
        shifts, first_row = self.shifts_of, self.first_row
        if only is None:
            routes, jobs = self.routes, self.jobs
        else:
            chosen = np.flatnonzero(only).tolist()
            routes = list(map(self.routes.__getitem__, chosen))
            jobs = np.where(only, self.jobs, 0)
        flat = list(chain.from_iterable(routes))
        owner = np.repeat(np.arange(count), jobs)
        times = chain.from_iterable(map(attrgetter("_times"), flat))  # model.PlannedStop
        ints = np.fromiter(times, np.int64, 4 * len(flat)).reshape(-1, 4)
        row, keep = self._place(owner, ints[:, 0], first_row, shifts)
        for i in np.unique(owner[~keep & (shifts[owner] > 0)]).tolist():
            reason = reference.split_tours(days[i])
            assert isinstance(reason, Reason), "the fleet and the reference disagree"
            self.plan_reason[i] = reason
        self._arrays(flat, ints, row, keep)

    def _place(
        self, owner: IntArray, planned: IntArray, first_row: IntArray, shifts: IntArray
    ) -> tuple[IntArray, BoolArray]:
        """Each stop's row: its engineer's last shift starting by its planned start (one
        search over (engineer, shift start) keys); ``keep`` is False for every stop of an
        engineer whose plan does not fit the shifts (a stop outside them, or out of order)."""
        count = len(self.days)
        if not len(self.eng) or not len(owner):
            return np.zeros(len(owner), np.int64), np.zeros(len(owner), bool)
        origin = min(int(self.shift_start.min()), int(planned.min()))
        keys = self.eng * (1 << 34) + (self.shift_start - origin)
        row = np.searchsorted(keys, owner * (1 << 34) + (planned - origin), side="right") - 1
        safe = np.clip(row, 0, len(self.eng) - 1)
        fits = (row >= first_row[owner]) & (shifts[owner] > 0) & (planned <= self.shift_end[safe])
        same = np.r_[False, owner[1:] == owner[:-1]]
        fits &= ~same | (row >= np.r_[0, row[:-1]])  # a route never goes back a shift
        broken = np.bincount(owner[~fits], minlength=count) > 0
        return safe, ~broken[owner]

    def _arrays(
        self, flat: list[PlannedStop], ints: IntArray, row: IntArray, keep: BoolArray
    ) -> None:
        """``ints``: each stop's planned start, service, earliest and latest start."""
        count = len(self.eng)
        self.n = np.bincount(row[keep], minlength=count).astype(np.int64)
        width = int(self.n.max(initial=0))
        self.width = width
        self.offset = _offsets(self.eng, self.n)
        row = row[keep]
        column = np.arange(len(row)) - (np.cumsum(self.n) - self.n)[row]
        if keep.all():
            kept = flat
        else:
            kept = [s for s, k in zip(flat, keep.tolist(), strict=True) if k]
            ints = ints[keep]
        self.service = np.zeros((count, width + 1), np.int64)
        self.earliest = np.full((count, width + 1), -BIG, np.int64)
        self.latest = np.full((count, width + 1), BIG, np.int64)
        self.service[row, column] = ints[:, 1]
        self.earliest[row, column] = ints[:, 2]
        self.latest[row, column] = ints[:, 3]
        self.stops = kept  # the PlannedStop at (row, column) is stops[stop_at[row, column]]
        self.stop_at = np.full((count, width + 1), -1, np.int64)
        self.stop_at[row, column] = np.arange(len(kept))
        self._coordinates(kept, row, column)
        self._schedule()

    def _coordinates(self, kept: list[PlannedStop], row: IntArray, column: IntArray) -> None:
        """(rows, width + 2) latitude and longitude: start, the stops, then the end location
        repeated (so column p + 1 is always "what follows an insertion before p")."""
        width = self.width
        starts = _points(self.starts)
        ends = _points(self.ends)
        lat = np.repeat(ends[self.eng, 0][:, None], width + 2, axis=1)
        lon = np.repeat(ends[self.eng, 1][:, None], width + 2, axis=1)
        lat[:, 0], lon[:, 0] = starts[self.eng, 0], starts[self.eng, 1]
        locations = chain.from_iterable(map(attrgetter("location"), kept))
        where = np.fromiter(locations, np.float64, 2 * len(kept)).reshape(-1, 2)
        lat[row, column + 1], lon[row, column + 1] = where[:, 0], where[:, 1]
        self.lat, self.lon = lat, lon
        self.leg = self.travel(lat[:, :-1], lon[:, :-1], lat[:, 1:], lon[:, 1:])

    def _schedule(self) -> None:
        """The base schedule, slack, waits and spare of every tour (see the docstring)."""
        rows, width = len(self.n), self.width
        start = np.zeros((rows, width + 1), np.int64)
        self.prev_end = np.zeros((rows, width + 1), np.int64)
        wait = np.zeros((rows, width + 1), np.int64)
        free = self.shift_start.copy()
        late = np.zeros(rows, bool)
        for k in range(width + 1):
            self.prev_end[:, k] = free
            arrival = free + self.leg[:, k]
            begin = np.maximum(arrival, self.earliest[:, k])
            is_stop = k < self.n
            start[:, k] = np.where(is_stop, begin, np.where(k == self.n, arrival, 0))
            wait[:, k] = np.where(is_stop, begin - arrival, 0)
            late |= is_stop & (begin > self.latest[:, k])
            free = np.where(is_stop, begin + self.service[:, k], free)
        back = start[np.arange(rows), self.n]
        late |= (self.n > 0) & (back > self.shift_end)
        self.start = start
        self.wait = wait
        stop_services = np.bincount(self.eng, self.service.sum(axis=1), len(self.days))
        self.services = stop_services.astype(np.int64)
        self.departure = np.where(self.n > 0, start[:, 0] - self.leg[:, 0], 0)
        self.tour_work = np.where(self.n > 0, back - self.departure, 0)
        self.base_work = np.bincount(self.eng, self.tour_work, len(self.days)).astype(np.int64)
        self.slack, self.waits, self.spare = _slack(self, start, wait, back)
        late &= self.located[self.eng]  # no location: filtered before the plan matters
        for i in np.unique(self.eng[late]).tolist():
            reason = reference.base_plans(self.days[i], self.travel)
            assert isinstance(reason, Reason), "the fleet and the reference disagree"
            self.plan_reason.setdefault(i, reason)


def _points(points: list[LatLon | None]) -> npt.NDArray[np.float64]:
    """(n, 2) latitude and longitude; a missing point as (0, 0) (filtered before use)."""
    known: list[Any] = points
    if None in points:
        known = [(0.0, 0.0) if p is None else p for p in points]
    flat = np.fromiter(chain.from_iterable(known), np.float64, 2 * len(known))
    return flat.reshape(-1, 2)


def _is_none(value: object) -> bool:
    return value is None


def _bounds(values: Iterable[int | None], count: int) -> IntArray:
    """Integers with None as ``BIG`` (no bound)."""
    found: list[Any] = list(values)
    if None in found:
        found = [BIG if v is None else v for v in found]
    return np.fromiter(found, np.int64, count)


def _slack(fleet: Fleet, start: IntArray, wait: IntArray, back: IntArray) -> tuple[IntArray, ...]:
    rows, width = len(fleet.n), fleet.width
    slack = np.zeros((rows, width + 1), np.int64)
    waits = np.zeros((rows, width + 1), np.int64)
    spare = np.full((rows, width + 1), BIG, np.int64)
    later_slack = fleet.shift_end - back  # at column n (the end)
    later_wait = np.zeros(rows, np.int64)
    later_spare = np.full(rows, BIG, np.int64)
    for k in range(width, -1, -1):
        is_stop = k < fleet.n
        own = np.where(is_stop, fleet.latest[:, k] - start[:, k], fleet.shift_end - back)
        slack[:, k] = np.where(k <= fleet.n, np.minimum(own, later_slack), 0)
        waits[:, k] = later_wait
        spare[:, k] = later_spare
        later_slack = np.where(is_stop, wait[:, k] + slack[:, k], later_slack)
        later_wait = np.where(is_stop, wait[:, k] + later_wait, later_wait)
        own_spare = np.where(is_stop, start[:, k] - fleet.earliest[:, k], BIG)
        later_spare = np.minimum(later_spare, own_spare)
    return slack, waits, spare


def _offsets(eng: IntArray, n: IntArray) -> IntArray:
    """Stops in the engineer's earlier shifts, per row (rows are grouped by engineer)."""
    before = np.cumsum(n) - n
    first = np.r_[0, np.flatnonzero(np.diff(eng)) + 1] if len(eng) else np.zeros(0, np.int64)
    group_start = np.repeat(before[first], np.diff(np.r_[first, len(eng)]))
    offsets: IntArray = (before - group_start).astype(np.int64)
    return offsets
