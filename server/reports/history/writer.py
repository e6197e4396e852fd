"""A planned work order cut at "now" and written as rows (see ``orders``): the work order
with its SLA as the transitions and the sweep would have left it, the audit events, the
field records, the parts and the survey."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from server.reports.history import world
from server.reports.history.plans import Plan, Result, Step, Trip
from server.tickets import add_business_time, audit, business_time_between

if TYPE_CHECKING:
    from server.reports.history.orders import Orders

_OPEN = ("new", "assigned", "accepted", "travelling", "on_site", "on_hold")
_SECOND = dt.timedelta(seconds=1)
_AT_RISK = 0.8  # FIXFLOW_SLA_AT_RISK_FRACTION's default


@dataclass(slots=True)
class State:
    """The work order's columns as its events leave them."""

    status: str = "new"
    assignee: str | None = None
    first_response: dt.datetime | None = None
    resolved: dt.datetime | None = None
    closed: dt.datetime | None = None
    on_hold_since: dt.datetime | None = None
    paused: int = 0
    response_due: dt.datetime | None = None
    resolution_due: dt.datetime | None = None
    response_breached: bool = False
    resolution_breached: bool = False
    sla_state: str = "ok"
    next_check: dt.datetime | None = None
    version: int = 1


def write(orders: Orders, plan: Plan) -> Result:
    now = orders.cast.now
    steps = sorted((s for s in plan.steps if s.at <= now), key=lambda s: s.at)
    state = _walk(orders, plan, steps)
    _sweep(plan, steps, state, now)
    steps.sort(key=lambda s: s.at)
    _ticket(orders, plan, steps, state)
    _events(orders, plan, steps)
    trips = [t for t in plan.trips if t.arrive <= now]
    for trip in trips:
        _visit(orders, plan, trip, now)
    done = state.status in ("resolved", "closed")
    if done and state.resolved is not None:
        _survey(orders, plan, state, trips)
    return Result(
        plan.id,
        state.resolved if done else None,
        plan.staff if done else None,
        plan.fault if plan.type == "repair" else None,
        plan.type,
    )


def _walk(orders: Orders, plan: Plan, steps: list[Step]) -> State:
    """Apply the transitions in order, as ``tickets.service`` does, with the deadlines
    moved back by each pause for the customer."""
    policy = orders.cast.policies[plan.priority]
    cal = policy.calendar
    state = State()
    state.response_due = add_business_time(
        cal, plan.created, dt.timedelta(minutes=policy.response_minutes)
    )
    target = dt.timedelta(minutes=policy.resolution_minutes)
    state.resolution_due = add_business_time(cal, plan.created, target)
    for step in steps:
        if step.kind != "transition":
            continue
        state.version += 1
        state.status = step.target or state.status
        action = step.action
        if action == "assign":
            state.assignee = step.changes["assignee_id"][1]
        elif action in ("accept", "arrive") and state.first_response is None:
            state.first_response = step.at
            step.changes["first_response_at"] = [None, step.at.isoformat()]
        elif action == "hold" and step.changes.get("sla_paused"):
            state.on_hold_since = step.at
        elif action == "resume" and state.on_hold_since is not None:
            held = business_time_between(cal, state.on_hold_since, step.at)
            state.paused += int(held.total_seconds())
            state.on_hold_since = None
            due = add_business_time(cal, plan.created, target + dt.timedelta(seconds=state.paused))
            state.resolution_due = due
            step.changes["resolution_due_at"] = due.isoformat()
        elif action == "resolve":
            state.resolved = step.at
            if step.at > state.resolution_due:
                state.resolution_breached = True
        elif action == "reopen":
            state.resolved = None
        elif action == "close":
            state.closed = step.at
        elif action == "cancel":
            state.on_hold_since = None
    return state


def _sweep(plan: Plan, steps: list[Step], state: State, now: dt.datetime) -> None:
    """What the SLA sweep wrote on the way (``sla_at_risk``, ``sla_breached``) and the
    state it left; the resolve event names the state it ends in."""
    assert state.response_due is not None and state.resolution_due is not None
    end = steps[-1].at if state.status == "cancelled" else now
    late_response = state.first_response is None or state.first_response > state.response_due
    candidates = []
    if late_response and _open_at(steps, state.response_due) and state.response_due < end:
        candidates.append(state.response_due)
        state.response_breached = True
    if _open_at(steps, state.resolution_due) and state.resolution_due < end:
        candidates.append(state.resolution_due)
        state.resolution_breached = True
    breach = min(candidates) if candidates else None
    risk = plan.created + (state.resolution_due - plan.created) * _AT_RISK
    at_risk = _open_at(steps, risk) and risk < end and (breach is None or risk < breach)
    if at_risk:
        steps.append(_sla_step(risk, "sla_at_risk", ["ok", "at_risk"]))
    if breach is not None:
        steps.append(
            _sla_step(breach, "sla_breached", ["at_risk" if at_risk else "ok", "breached"])
        )
    before = "breached" if breach is not None else ("at_risk" if at_risk else "ok")
    if state.status in ("resolved", "closed"):
        late = state.response_breached or state.resolution_breached
        state.sla_state = "breached" if late else "met"
        for step in steps:
            if step.action == "resolve" and state.sla_state != before:
                step.changes["sla_state"] = [before, state.sla_state]
    else:
        state.sla_state = before
    if state.status in _OPEN and state.on_hold_since is None and state.sla_state != "breached":
        options = [state.resolution_due]
        if state.sla_state == "ok":
            options.append(risk)
        if state.first_response is None:
            options.append(state.response_due)
        state.next_check = min(options)


def _sla_step(at: dt.datetime, kind: str, change: list[str]) -> Step:
    return Step(at, kind, None, None, None, "system:sla", changes={"sla_state": change})


def _open_at(steps: list[Step], at: dt.datetime) -> bool:
    """Whether the work order was open and its SLA clock running at ``at``."""
    status = "new"
    for step in steps:
        if step.at > at:
            break
        if step.kind == "transition" and step.target:
            status = step.target
    return status in _OPEN and status != "on_hold"


def _ticket(orders: Orders, plan: Plan, steps: list[Step], state: State) -> None:
    cast, unit = orders.cast, plan.unit
    title = orders.rng.choice(world.TITLES[plan.type])
    description = f"{unit.model.label} {unit.model.code}: reported by the customer"
    updated = next((s for s in reversed(steps) if s.kind == "updated"), None)
    found = (updated.changes.get("fault_code") or [None, None])[1] if updated else None
    resolution = updated.changes if updated else {}
    tail = f" {title} {description}".lower()
    policy = cast.policies[plan.priority]
    row = (
        plan.id, cast.org_id, plan.number, unit.customer_id, unit.site_id, unit.id,
        plan.channel, plan.type, plan.priority, state.status, title, description,
        audit.format_number(plan.number).lower() + tail,
        found or (plan.fault if plan.channel == "iot" else None),
        (resolution.get("resolution_code") or [None, None])[1],
        (resolution.get("root_cause") or [None, None])[1],
        (resolution.get("resolution_summary") or [None, None])[1],
        [unit.model.skill], orders.rng.choice((60, 90, 120)),
        _uuid(state.assignee), plan.repeat_of, steps[0].actor, policy.id,
        state.response_due, state.resolution_due, state.first_response,
        state.resolved if state.status in ("resolved", "closed") else None,
        state.closed, state.on_hold_since if state.status == "on_hold" else None,
        state.paused, state.sla_state, state.next_check, state.response_breached,
        state.resolution_breached, unit.service_site_id, False, False, state.version,
        plan.created, steps[-1].at,
    )  # fmt: skip
    orders.batch.add("tickets", row)


def _events(orders: Orders, plan: Plan, steps: list[Step]) -> None:
    org, ids, add = orders.cast.org_id, orders.ids, orders.batch.add
    for s in steps:
        add(
            "ticket_events",
            (
                ids.at(s.at), org, plan.id, s.kind, s.action, s.source, s.target, s.reason,
                json.dumps(s.changes) if s.changes else "{}", s.actor, s.at,
            ),
        )  # fmt: skip


def _visit(orders: Orders, plan: Plan, trip: Trip, now: dt.datetime) -> None:
    cast, ids, add, rng = orders.cast, orders.ids, orders.batch.add, orders.rng
    unit, who = plan.unit, trip.staff.label
    visit = ids.at(trip.arrive)
    lag = dt.timedelta(seconds=rng.randint(2, 40))
    add("visits", (visit, cast.org_id, plan.id, trip.staff.id, trip.number, who, trip.arrive + lag))
    for kind, at in (("in", trip.arrive), ("out", trip.leave)):
        if at > now:
            continue
        near = rng.uniform(3, 60)
        lat = unit.lat + rng.uniform(-1, 1) * 0.0002
        add(
            "visit_checks",
            (
                visit, kind, cast.org_id, at, at + lag, round(rng.uniform(-2, 2), 3), False,
                lat, unit.lon, round(rng.uniform(5, 25), 1), round(near, 1), False, who,
            ),
        )  # fmt: skip
    for kind, start, end in (
        ("travel", trip.start, trip.arrive),
        ("work", trip.arrive, trip.leave),
    ):
        if end <= now and end > start:
            row = (
                ids.at(start),
                cast.org_id,
                plan.id,
                trip.staff.id,
                visit,
                kind,
                start,
                end,
                who,
                end + lag,
            )
            add("labour_entries", row)
    if trip.parts and trip.leave <= now:
        for _ in range(trip.parts):
            _part(orders, plan, trip, visit)


def _part(orders: Orders, plan: Plan, trip: Trip, visit: Any) -> None:
    """A part used from the van on the customer's site (a consume into the site's stock
    location), now and then one taken back unused (a return into the van)."""
    from server.reports.history.stock import site_location

    cast, rng, add = orders.cast, orders.rng, orders.batch.add
    part = rng.choice(cast.parts.get(plan.unit.model.code) or cast.parts["*"])
    quantity = Decimal(1 if rng.random() < 0.85 else 2)
    site = site_location(orders, plan.unit)
    at, who = trip.leave - dt.timedelta(minutes=5), trip.staff.label
    van = trip.staff.van_id
    moves: list[tuple[str, str, Any, Any, str | None]] = [("use", "consume", van, site, None)]
    if rng.random() < 0.05:
        moves.append(("return", "return", site, van, "good"))
    for action, kind, source, dest, condition in moves:
        at += _SECOND
        movement, line = orders.ids.at(at), orders.ids.at(at)
        price = part.price if kind == "consume" else None
        add(
            "stock_movements",
            (
                movement, cast.org_id, kind, part.id, quantity, source, dest, plan.id, visit,
                condition, None, part.cost, price, True, who, at,
            ),
        )  # fmt: skip
        request = {
            "action": action, "part_id": str(part.id), "quantity": str(quantity),
            "visit_id": str(visit), "work_order_id": str(plan.id), "serial_numbers": None,
            "removed_condition": condition, "removed_serial_numbers": None,
        }  # fmt: skip
        add(
            "field_part_lines",
            (
                line,
                cast.org_id,
                plan.id,
                visit,
                action,
                part.id,
                quantity,
                movement,
                json.dumps(request),
                who,
                at,
            ),
        )
        month = at.astimezone(orders.zone).date().replace(day=1)
        key = (month, van, part.id)
        sign = 1 if kind == "consume" else -1
        orders.consumed[key] = orders.consumed.get(key, Decimal(0)) + sign * quantity


def _survey(orders: Orders, plan: Plan, state: State, trips: list[Trip]) -> None:
    """The invitation an hour after the resolution; about a third answer within days.
    Scores follow what the customer lived: late, reopened, repeat or the careless
    engineer's work score lower."""
    cast, rng, add = orders.cast, orders.rng, orders.batch.add
    assert state.resolved is not None
    send = state.resolved + dt.timedelta(hours=1)
    expires = send + dt.timedelta(days=14)
    sent = send if send <= cast.now else None
    answered = send + dt.timedelta(hours=rng.expovariate(1 / 12))
    answers = sent is not None and rng.random() < 0.32 and answered <= min(cast.now, expires)
    status = "answered" if answers else ("sent" if sent else "pending")
    invitation = orders.ids.at(state.resolved)
    model = plan.unit.model.code
    add(
        "survey_invitations",
        (
            invitation, cast.org_id, plan.id, cast.template_id, plan.unit.customer_id,
            plan.staff.id, model, status, state.resolved, send, expires, sent, state.resolved,
        ),
    )  # fmt: skip
    if not answers:
        return
    mood = 0.0
    mood -= 1.2 if state.resolution_breached else 0
    mood -= 1.0 if any(s.action == "reopen" for s in plan.steps) else 0
    mood -= 0.8 if plan.repeat_of is not None else 0
    mood -= 0.5 if plan.staff.repeat_chance > world.REPEAT_CHANCE else 0
    mood -= 0.4 if len(trips) > 1 else 0
    csat = max(1, min(5, round(rng.gauss(4.4 + mood, 0.7))))
    nps = max(0, min(10, round(rng.gauss(8.6 + 1.8 * mood, 1.5))))
    ces = max(1, min(7, round(rng.gauss(2.2 - mood, 0.9))))
    comment = rng.choice(world.SURVEY_COMMENTS) if rng.random() < 0.3 else None
    add(
        "survey_responses",
        (
            orders.ids.at(answered), cast.org_id, invitation, plan.id, plan.unit.customer_id,
            plan.staff.id, model, csat, nps, ces, comment, "zh_CN" if rng.random() < 0.6 else "en",
            nps <= 6, answered,
        ),
    )  # fmt: skip


def _uuid(value: str | None) -> Any:
    import uuid

    return uuid.UUID(value) if value else None
