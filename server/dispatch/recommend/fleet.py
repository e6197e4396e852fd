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

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter, itemgetter, methodcaller
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from server.dispatch.recommend import reference
from server.dispatch.recommend.model import (
    DAY_PACK,
    NO_BOUND,
    STOP_PACK,
    EngineerDay,
    PlannedStop,
    Reason,
)
from server.dispatch.recommend.travel import IntArray, Travel

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

BIG = np.int64(NO_BOUND)  # "no bound": far beyond any clock, safe to add to one
# model.DAY_PACK and model.STOP_PACK as numpy records
DAY_DTYPE = np.dtype(
    [
        ("rating", "<f8"),
        ("max_jobs", "<i8"),
        ("max_work", "<i8"),
        ("jobs", "<i8"),
        ("shifts", "<i8"),
        ("located", "<i8"),
        ("start_lat", "<f8"),
        ("start_lon", "<f8"),
        ("end_lat", "<f8"),
        ("end_lon", "<f8"),
    ]
)
STOP_DTYPE = np.dtype(
    [
        ("planned", "<i8"),
        ("service", "<i8"),
        ("earliest", "<i8"),
        ("latest", "<i8"),
        ("lat", "<f8"),
        ("lon", "<f8"),
    ]
)
assert DAY_DTYPE.itemsize == DAY_PACK.size and STOP_DTYPE.itemsize == STOP_PACK.size


class Tours:
    """The engineers' days as arrays (the request-independent part of a recommendation);
    ``server.dispatch.recommend.engine.Fleet`` adds the request."""

    def __init__(self, days: Sequence[EngineerDay], travel: Travel) -> None:
        self._engineers(days, travel)
        self._tours(None)

    @classmethod
    def for_request(cls, days: Sequence[EngineerDay], travel: Travel) -> Self:
        """A fleet for one request (what ``recommend`` uses): the per-engineer arrays now,
        the tours later, only for the engineers that pass the hard filters (the filtered
        ones never reach the plan filters or the insertion). Not for keeping."""
        fleet = cls.__new__(cls)
        fleet._engineers(days, travel)
        fleet.pending = True
        return fleet

    def _engineers(self, days: Sequence[EngineerDay], travel: Travel) -> None:
        """The per-engineer arrays and the (engineer, shift) rows: the numbers each day packed
        when it was built, joined into one buffer (``model._pack_day``), or, for a day that
        did not pack, read field by field."""
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
        packs = list(map(attrgetter("_packed"), self.days))
        self.packs: list[tuple[bytes, bytes, bytes]] | None = None if None in packs else packs
        if self.packs is not None:
            numbers = np.frombuffer(b"".join(map(itemgetter(0), self.packs)), DAY_DTYPE)
        else:
            numbers = np.array([_day_numbers(d) for d in self.days], DAY_DTYPE)
        self.rating = numbers["rating"].copy()
        self.jobs = numbers["jobs"].copy()
        self.max_jobs = numbers["max_jobs"].copy()
        self.max_work = numbers["max_work"].copy()
        self.located = numbers["located"] != 0
        self.starts = np.stack([numbers["start_lat"], numbers["start_lon"]], axis=1)
        self.ends = np.stack([numbers["end_lat"], numbers["end_lon"]], axis=1)
        territory = list(map(attrgetter("territory"), self.days))
        names = sorted(set(territory) - {None})
        self.territories = {name: code for code, name in enumerate(names)}
        codes = {None: -1, **self.territories}
        self.territory = np.fromiter(map(codes.__getitem__, territory), np.int64, count)
        self._levels: dict[str, IntArray] = {}
        self._parts: dict[str, BoolArray] = {}
        self.plan_reason: dict[int, Reason] = {}
        # each stop of the tours: its engineer and its index in the engineer's route
        self.stop_owner = self.stop_index = np.zeros(0, np.int64)
        self._shifts(numbers["shifts"].copy())

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

    def _shifts(self, shifts: IntArray) -> None:
        """The rows: one per (engineer, shift), grouped by engineer, with the shift bounds."""
        count = len(self.days)
        self.shifts_of = shifts
        self.first_row = np.cumsum(self.shifts_of) - self.shifts_of
        self.eng = np.repeat(np.arange(count), self.shifts_of)
        self.shift = np.arange(len(self.eng)) - self.first_row[self.eng]
        if self.packs is not None:
            bounds = np.frombuffer(b"".join(map(itemgetter(1), self.packs)), np.int64)
        else:
            windows = chain.from_iterable(chain.from_iterable(d.shifts for d in self.days))
            bounds = np.fromiter(windows, np.int64, 2 * len(self.eng))
        bounds = bounds.reshape(-1, 2)
        self.shift_start, self.shift_end = bounds[:, 0].copy(), bounds[:, 1].copy()

    def build(self, alive: BoolArray) -> None:
        """The tours of the ``alive`` engineers of a ``for_request`` fleet: one request only
        (another request's survivors may need tours it does not have)."""
        if self.spent:
            raise RuntimeError("a Fleet.for_request fleet answers one request: keep a Fleet")
        if self.pending:
            self.pending, self.spent = False, True
            self._tours(alive)

    def _tours(self, only: BoolArray | None) -> None:
        """Each planned stop's row and column, from one table of all stops (of the ``only``
        engineers; the others keep empty tours), without a Python loop over engineers."""
        days, count = self.days, len(self.days)
        shifts, first_row = self.shifts_of, self.first_row
        chosen = list(range(count)) if only is None else np.flatnonzero(only).tolist()
        jobs = self.jobs if only is None else np.where(only, self.jobs, 0)
        if self.packs is not None:
            packed = map(itemgetter(2), map(self.packs.__getitem__, chosen))
            table = np.frombuffer(b"".join(packed), STOP_DTYPE)
        else:
            flat = chain.from_iterable(days[i].route for i in chosen)
            table = np.array([_stop_numbers(s) for s in flat], STOP_DTYPE)
        owner = np.repeat(np.arange(count), jobs)
        self.stop_owner, self.stop_index = (
            owner,
            np.arange(len(owner)) - (np.cumsum(jobs) - jobs)[owner],
        )
        row, keep = self._place(owner, table["planned"].copy(), first_row, shifts)
        for i in np.unique(owner[~keep & (shifts[owner] > 0)]).tolist():
            reason = reference.split_tours(days[i])
            assert isinstance(reason, Reason), "the fleet and the reference disagree"
            self.plan_reason[i] = reason
        self._arrays(table, row, keep)

    def stop(self, at: int) -> PlannedStop:
        """The planned stop at (row, column) is ``stop(stop_at[row, column])``."""
        return self.days[int(self.stop_owner[at])].route[int(self.stop_index[at])]

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

    def _arrays(self, table: npt.NDArray[np.void], row: IntArray, keep: BoolArray) -> None:
        """``table``: each stop's planned start, service, earliest, latest start, location."""
        count = len(self.eng)
        self.n = np.bincount(row[keep], minlength=count).astype(np.int64)
        width = int(self.n.max(initial=0))
        self.width = width
        self.offset = _offsets(self.eng, self.n)
        row = row[keep]
        column = np.arange(len(row)) - (np.cumsum(self.n) - self.n)[row]
        if not keep.all():
            table = table[keep]
            self.stop_owner, self.stop_index = self.stop_owner[keep], self.stop_index[keep]
        self.service = np.zeros((count, width + 1), np.int64)
        self.earliest = np.full((count, width + 1), -BIG, np.int64)
        self.latest = np.full((count, width + 1), BIG, np.int64)
        self.service[row, column] = table["service"]
        self.earliest[row, column] = table["earliest"]
        self.latest[row, column] = table["latest"]
        self.stop_at = np.full((count, width + 1), -1, np.int64)
        self.stop_at[row, column] = np.arange(len(table))
        self._coordinates(table, row, column)
        self._schedule()

    def _coordinates(self, table: npt.NDArray[np.void], row: IntArray, column: IntArray) -> None:
        """(rows, width + 2) latitude and longitude: start, the stops, then the end location
        repeated (so column p + 1 is always "what follows an insertion before p")."""
        width, starts, ends = self.width, self.starts, self.ends
        lat = np.repeat(ends[self.eng, 0][:, None], width + 2, axis=1)
        lon = np.repeat(ends[self.eng, 1][:, None], width + 2, axis=1)
        lat[:, 0], lon[:, 0] = starts[self.eng, 0], starts[self.eng, 1]
        lat[row, column + 1], lon[row, column + 1] = table["lat"], table["lon"]
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


def _day_numbers(day: EngineerDay) -> tuple[Any, ...]:
    """A day's numbers as ``model._pack_day`` packs them (for a day that did not pack)."""
    start, end = day.start or (0.0, 0.0), day.end or (0.0, 0.0)
    return (
        day.rating,
        NO_BOUND if day.max_jobs is None else day.max_jobs,
        NO_BOUND if day.max_work is None else day.max_work,
        len(day.route),
        len(day.shifts),
        day.start is not None and day.end is not None,
        *start,
        *end,
    )


def _stop_numbers(stop: PlannedStop) -> tuple[Any, ...]:
    """A stop's numbers as ``model._pack_stop`` packs them."""
    return (stop.planned_start, stop.service, stop.earliest, stop.latest_start, *stop.location)


def _slack(fleet: Tours, start: IntArray, wait: IntArray, back: IntArray) -> tuple[IntArray, ...]:
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
