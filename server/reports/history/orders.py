"""One generated work order: its whole life as the product would have recorded it.

A work order is first planned to its end (assignment, acceptance, visits with travel and
work, holds, resolution, reopening, closing), then cut where it was cancelled and at "now":
what had not happened yet is not written, so the newest work orders are open in whatever
status they had reached. From what remains come the rows the real transitions write: the
work order (status, assignee, SLA deadlines and breaches, first response, resolution), its
audit events (``created``, ``transition``, ``updated`` with the findings, the SLA sweep's
``sla_at_risk`` / ``sla_breached``), visits with check-in and check-out, travel and work
labour, parts used from the van, the survey invitation and the customer's answer."""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from server.reports.history import world
from server.reports.history.plans import Plan, Result, Step, Trip
from server.reports.history.rows import Batch, Ids
from server.reports.history.setup import Cast, Staff, Unit

Writer = Callable[["Orders", Plan], Result]

H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)
# Everything takes this much longer in the bad territory (too few engineers, far out).
SLOW_TERRITORY = 3.0
# Mean hours from creation to assignment and from assignment to acceptance, by priority.
_ASSIGN_HOURS = {"P1": 0.15, "P2": 0.8, "P3": 2.0, "P4": 4.0}
_ACCEPT_HOURS = {"P1": 0.1, "P2": 0.4, "P3": 0.8, "P4": 1.5}


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        roll -= weight
        if roll < 0:
            return value
    return weighted[-1][0]


class Orders:
    """Makes work orders into a ``Batch`` (one call per work order, in creation order)."""

    def __init__(
        self, cast: Cast, rng: random.Random, ids: Ids, batch: Batch, write: Writer
    ) -> None:
        """``write``: puts a planned work order into the batch (``writer.write``)."""
        self.cast, self.rng, self.ids, self.batch = cast, rng, ids, batch
        self.write = write
        self.zone = ZoneInfo(cast.timezone)
        self.number = cast.first_number
        self.site_locations: dict[uuid.UUID, uuid.UUID] = {}
        # Net parts consumed per (month, van, part): the van is topped up by that much.
        self.consumed: dict[tuple[dt.date, uuid.UUID, uuid.UUID], Decimal] = {}

    def make(
        self,
        created: dt.datetime,
        unit: Unit,
        *,
        repeat_of: uuid.UUID | None = None,
        fault: str | None = None,
        staff: Staff | None = None,
    ) -> Result:
        """One work order created at ``created`` on ``unit``; a repeat (``fault`` given)
        goes back to ``staff``, the engineer whose repair did not hold (a callback)."""
        rng = self.rng
        self.number += 1
        kind = "repair" if fault else pick(rng, world.TYPES)
        if kind == "repair" and fault is None:
            fault = _fault(rng, unit)
        staff = staff or rng.choice(self.cast.staff[unit.territory])
        plan = Plan(
            id=self.ids.at(created),
            number=self.number,
            unit=unit,
            created=created,
            type=kind,
            priority=pick(rng, world.PRIORITIES if kind != "complaint" else (("P2", 1), ("P3", 2))),
            channel=pick(rng, world.CHANNELS),
            fault=fault,
            repeat_of=repeat_of if repeat_of is not None and rng.random() < 0.6 else None,
            staff=staff,
        )
        self._plan(plan)
        return self._write(plan)

    # --- planning ------------------------------------------------------------------------

    def _plan(self, plan: Plan) -> None:
        rng, slow = self.rng, self._slow(plan)
        plan.steps.append(
            Step(
                plan.created, "created", None, None, "new", self._creator(plan),
                changes={"priority": plan.priority, "customer_id": str(plan.unit.customer_id)},
            )
        )  # fmt: skip
        at = plan.created + H * rng.expovariate(1 / _ASSIGN_HOURS[plan.priority]) * slow
        self._assign(plan, at, None, plan.staff)
        if rng.random() < 0.05:  # re-assigned before anyone accepted
            other = rng.choice(self.cast.staff[plan.unit.territory])
            at += MIN * rng.randint(5, 90)
            self._assign(plan, at, plan.staff, other)
            plan.staff = other
        at += H * rng.expovariate(1 / _ACCEPT_HOURS[plan.priority]) * slow
        self._move(plan, at, "accept", "assigned", "accepted", plan.staff.label)
        remote = plan.type == "complaint" and rng.random() < 0.75
        remote = remote or (plan.type == "repair" and rng.random() < 0.1)
        if remote:  # settled on the phone by the service desk's engineer: no visit
            at += MIN * rng.randint(10, 60)
            self._move(plan, at, "arrive", "accepted", "on_site", plan.staff.label)
            self._resolve(plan, at + MIN * rng.randint(10, 45), close=True)
        else:
            self._field(plan, at)
        self._cancel(plan)

    def _field(self, plan: Plan, accepted: dt.datetime) -> None:
        rng, staff = self.rng, plan.staff
        booked = self._booked(
            plan,
            accepted
            + H * rng.expovariate(1 / world.BOOKING_HOURS[plan.priority]) * self._slow(plan),
        )
        trip = self._trip(plan, booked)
        if trip.start > accepted:
            self._move(plan, trip.start, "start_travel", "accepted", "travelling", staff.label)
            self._move(plan, trip.arrive, "arrive", "travelling", "on_site", staff.label)
        else:
            self._move(plan, trip.arrive, "arrive", "accepted", "on_site", staff.label)
        if rng.random() < 0.08:
            self._hold(plan, trip)
        end = plan.trips[-1].leave
        reopen = rng.random() < (0.1 if staff.repeat_chance > world.REPEAT_CHANCE else 0.025)
        self._resolve(plan, end, close=not reopen)
        if reopen:
            self._reopen(plan, end)

    def _hold(self, plan: Plan, trip: Trip) -> None:
        """Halfway through the work: waiting for the customer (the SLA pauses) or for
        parts; the engineer leaves and comes back when it can go on."""
        rng = self.rng
        kind = "waiting_customer" if rng.random() < 0.7 else "waiting_parts"
        at = trip.arrive + (trip.leave - trip.arrive) / 2
        trip.leave = at
        reason = "Customer to approve the quote" if kind == "waiting_customer" else "Part on order"
        changes: dict[str, Any] = {"hold_kind": kind}
        if kind == "waiting_customer":
            changes["sla_paused"] = True
        self._move(plan, at, "hold", "on_site", "on_hold", plan.staff.label, reason, changes)
        # Now and then the customer goes quiet for weeks (the backlog's old work orders).
        wait = rng.uniform(6, 96) if rng.random() > 0.06 else rng.uniform(300, 1500)
        back = self._booked(plan, at + H * wait)
        again = self._trip(plan, back)
        plan.holds.append((at, again.arrive, kind))
        self._move(plan, again.arrive, "resume", "on_hold", "on_site", plan.staff.label)

    def _reopen(self, plan: Plan, resolved: dt.datetime) -> None:
        at = resolved + H * self.rng.uniform(12, 120)
        self._move(
            plan, at, "reopen", "resolved", "on_site", self.cast.dispatcher, "Fault came back"
        )
        self._trip(plan, self._booked(plan, at + H * self.rng.uniform(2, 30)))
        self._resolve(plan, plan.trips[-1].leave, close=True)

    def _resolve(self, plan: Plan, at: dt.datetime, *, close: bool) -> None:
        rng = self.rng
        found = plan.fault if plan.type == "repair" else None
        code = rng.choice(world.RESOLUTIONS) if plan.type == "repair" else "COMPLETED"
        if (
            plan.trips
            and plan.trips[-1].parts == 0
            and plan.type == "repair"
            and rng.random() < 0.6
        ):
            code = "REPLACED_PART"
            plan.trips[-1].parts = 1 + (rng.random() < 0.25)
        if not any(s.kind == "updated" for s in plan.steps):
            fields = {
                "fault_code": [plan.fault if plan.channel == "iot" else None, found],
                "root_cause": [None, rng.choice(world.ROOT_CAUSES)],
                "resolution_code": [None, code],
                "resolution_summary": [None, "Work done and the unit tested under load."],
            }
            changes = {k: v for k, v in fields.items() if v[0] != v[1]}
            plan.steps.append(
                Step(at, "updated", None, None, None, plan.staff.label, changes=changes)
            )
        self._move(plan, at, "resolve", "on_site", "resolved", plan.staff.label)
        if close and rng.random() < 0.9:
            closing = at + H * rng.uniform(20, 150)
            self._move(plan, closing, "close", "resolved", "closed", self.cast.dispatcher)

    def _cancel(self, plan: Plan) -> None:
        """A few are cancelled on the way: before anyone went, or after a visit found
        nothing to do."""
        rng = self.rng
        if rng.random() >= 0.035:
            return
        at = plan.created + H * rng.uniform(0.3, 40)
        steps = [s for s in plan.steps if s.at <= at]
        status = next((s.target for s in reversed(steps) if s.target), "new")
        if status in ("resolved", "closed"):
            return
        plan.steps = steps
        plan.trips = [t for t in plan.trips if t.arrive <= at]
        for trip in plan.trips:
            trip.leave, trip.parts = min(trip.leave, at - MIN), 0
        plan.holds = [h for h in plan.holds if h[0] <= at]
        plan.steps.append(
            Step(
                at,
                "transition",
                "cancel",
                status,
                "cancelled",
                self.cast.dispatcher,
                "Customer cancelled",
            )
        )

    # --- planning helpers ------------------------------------------------------------------

    def _assign(self, plan: Plan, at: dt.datetime, old: Staff | None, new: Staff) -> None:
        source = "assigned" if old else "new"
        changes = {"assignee_id": [str(old.id) if old else None, str(new.id)]}
        plan.steps.append(
            Step(
                at,
                "transition",
                "assign",
                source,
                "assigned",
                self.cast.dispatcher,
                changes=changes,
            )
        )

    def _move(
        self,
        plan: Plan,
        at: dt.datetime,
        action: str,
        source: str,
        target: str,
        actor: str,
        reason: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None:
        at = max(at, plan.steps[-1].at + dt.timedelta(seconds=1))
        plan.steps.append(
            Step(at, "transition", action, source, target, actor, reason, changes or {})
        )

    def _trip(self, plan: Plan, arrive: dt.datetime) -> Trip:
        rng = self.rng
        arrive = max(arrive, plan.steps[-1].at + 2 * MIN)
        travel = (
            MIN * rng.randint(12, 55) * (1.6 if plan.unit.territory == world.BAD_TERRITORY else 1)
        )
        minutes = min(
            480.0, math.exp(rng.gauss(4.2, 0.55)) * (2.5 if plan.type == "installation" else 1)
        )
        trip = Trip(
            len(plan.trips) + 1, plan.staff, arrive - travel, arrive, arrive + MIN * minutes
        )
        plan.trips.append(trip)
        return trip

    def _booked(self, plan: Plan, at: dt.datetime) -> dt.datetime:
        """The first time at or after ``at`` the engineer works (P1: any time)."""
        if plan.priority == "P1":
            return at
        local = at.astimezone(self.zone)
        saturday = plan.staff.saturday
        for _ in range(8):
            weekday, hour = local.weekday(), local.hour + local.minute / 60
            works = weekday < 5 or (weekday == 5 and saturday)
            close = 12.5 if weekday == 5 else 16.5
            if works and 8.75 <= hour < close:
                return local.astimezone(dt.UTC)
            if works and hour < 8.75:
                local = local.replace(hour=8, minute=45) + MIN * self.rng.randint(0, 150)
                continue
            nxt = (local + dt.timedelta(days=1)).replace(hour=8, minute=45)
            local = nxt + MIN * self.rng.randint(0, 150)
        return local.astimezone(dt.UTC)

    def _slow(self, plan: Plan) -> float:
        return SLOW_TERRITORY if plan.unit.territory == world.BAD_TERRITORY else 1.0

    def _creator(self, plan: Plan) -> str:
        """Who created it, as the audit labels it: the customer scanning the QR label, the
        IoT gateway's API key, else the service desk's agent."""
        return {"qr": "customer:qr", "iot": "key:iot-gateway"}.get(plan.channel, self.cast.agent)

    # --- writing -----------------------------------------------------------------------------

    def _write(self, plan: Plan) -> Result:
        return self.write(self, plan)


def _fault(rng: random.Random, unit: Unit) -> str:
    faults = unit.model.faults
    if unit.model.code == world.BAD_MODEL and rng.random() < 0.7:
        return world.BAD_FAULT
    return faults[min(int(rng.expovariate(0.9)), len(faults) - 1)]
