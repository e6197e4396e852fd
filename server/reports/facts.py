"""The KPI facts of one work order and of one engineer's day, from their raw rows.

Pure functions: ``server.reports.refresh`` loads the rows (a batch at a time) and writes
what these return, so every rule of docs/kpis.md ("How each work order is counted") lives
here, once, and a test can check it on rows made by hand. ``now`` is an argument: a fact
that depends on the clock (an SLA target passed while nobody answered) is as of the refresh.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from server.tickets import BusinessHours, business_time_between

RESOLVED = frozenset({"resolved", "closed"})
WAITING_CUSTOMER = "waiting_customer"
COUNTED_LABOUR = frozenset({"work", "travel"})
_CENT = Decimal("0.01")
_ZERO = Decimal(0)


class TicketRow(NamedTuple):
    """The work order's own columns, with what the refresh joined to it."""

    id: uuid.UUID
    org_id: uuid.UUID
    number: int
    status: str
    priority: str
    channel: str
    type: str
    customer_id: uuid.UUID
    site_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    fault_code: str | None
    assignee_id: uuid.UUID | None
    repeat_of_id: uuid.UUID | None
    sla_policy_id: uuid.UUID | None
    created_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    response_breached: bool
    resolution_breached: bool
    product_model: str | None  # the asset's
    site_territory: str | None  # the service site's
    # Worked out over the later work orders (server/reports/sql.py TICKETS):
    marked_repeat_at: dt.datetime | None
    same_fault_next_at: dt.datetime | None
    next_on_asset_at: dt.datetime | None


class Event(NamedTuple):
    """A transition from the audit trail (``ticket_events``, kind ``transition``)."""

    at: dt.datetime
    action: str
    from_status: str | None
    hold_kind: str | None  # a hold's: what it waits for
    assignee_id: uuid.UUID | None  # an assign's: the engineer it assigned


class CheckIn(NamedTuple):
    """A visit's check-in: the phone's clock, and how far off the server found it."""

    device_time: dt.datetime
    clock_offset_s: float
    clock_skew: bool


class Labour(NamedTuple):
    engineer_id: uuid.UUID
    kind: str
    started_at: dt.datetime
    ended_at: dt.datetime
    voided: bool
    replaced: bool  # an adjustment replaced it


class Movement(NamedTuple):
    kind: str  # consume or return
    quantity: Decimal
    unit_cost: Decimal
    condition: str | None = None  # a return's: good (unused, back to stock) or defective


class Survey(NamedTuple):
    csat: int | None
    nps: int | None
    ces: int | None
    submitted_at: dt.datetime


class EngineerInfo(NamedTuple):
    team: str | None
    territory: str | None
    hourly_cost: Decimal | None


@dataclass(frozen=True, slots=True)
class WorkOrderRaw:
    """Everything one work order's fact is computed from."""

    ticket: TicketRow
    events: Sequence[Event] = ()  # oldest first
    check_ins: Sequence[CheckIn] = ()
    labour: Sequence[Labour] = ()
    movements: Sequence[Movement] = ()
    survey: Survey | None = None
    calendar: BusinessHours | None = None  # the SLA policy's; None: around the clock


def seconds(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    """Whole seconds from ``start`` to ``end`` (null when either has not happened)."""
    if start is None or end is None:
        return None
    return int((end - start).total_seconds())


def arrival(check: CheckIn) -> dt.datetime:
    """When the engineer arrived by the server's clock: the phone's time, less the offset
    the server measured when it flagged the phone's clock as wrong."""
    if check.clock_skew:
        return check.device_time - dt.timedelta(seconds=check.clock_offset_s)
    return check.device_time


def effective(labour: Iterable[Labour]) -> list[Labour]:
    """The entries that count: work or travel, neither voided nor replaced."""
    return [e for e in labour if e.kind in COUNTED_LABOUR and not e.voided and not e.replaced]


def assignee_at_resolution(events: Sequence[Event]) -> tuple[bool, uuid.UUID | None]:
    """(resolved?, the engineer assigned when the last ``resolve`` happened)."""
    current: uuid.UUID | None = None
    found, at_resolve = False, None
    for event in events:
        if event.action == "assign":
            current = event.assignee_id
        elif event.action in ("unassign", "reject"):
            current = None
        elif event.action == "resolve":
            found, at_resolve = True, current
    return found, at_resolve


def waiting_seconds(events: Sequence[Event], until: dt.datetime) -> int:
    """Wall-clock time on hold waiting for the customer, from each such hold to the next
    event that leaves ``on_hold`` (or ``until``: the end, or now while open)."""
    total = 0.0
    since: dt.datetime | None = None
    for event in events:
        if since is not None and event.from_status == "on_hold":
            total += max(0.0, (min(event.at, until) - since).total_seconds())
            since = None
        if event.action == "hold" and (event.hold_kind or WAITING_CUSTOMER) == WAITING_CUSTOMER:
            since = event.at
    if since is not None:
        total += max(0.0, (until - since).total_seconds())
    return int(total)


def _ends(raw: WorkOrderRaw) -> dict[str, Any]:
    t = raw.ticket
    resolved_at = t.resolved_at if t.status in RESOLVED else None
    cancelled_at = None
    if t.status == "cancelled":
        cancels = [e.at for e in raw.events if e.action == "cancel"]
        cancelled_at = cancels[-1] if cancels else t.closed_at
    return {
        "resolved_at": resolved_at,
        "closed_at": t.closed_at,
        "cancelled_at": cancelled_at,
        "ended_at": resolved_at or cancelled_at or t.closed_at,
    }


def _first_response_business(raw: WorkOrderRaw) -> int | None:
    t = raw.ticket
    if t.first_response_at is None:
        return None
    if raw.calendar is None:
        return seconds(t.created_at, t.first_response_at)
    held = business_time_between(raw.calendar, t.created_at, t.first_response_at)
    return int(held.total_seconds())


def response_met(t: TicketRow, until: dt.datetime) -> bool | None:
    """Null without a target; decided once answered; false once the target passed
    unanswered (``until``: now, or when the work order ended); else pending (null)."""
    if t.response_due_at is None:
        return None
    if t.first_response_at is not None:
        return not t.response_breached
    return False if until > t.response_due_at else None


def resolution_met(t: TicketRow, ends: Mapping[str, Any], now: dt.datetime) -> bool | None:
    """Null without a target and for a cancelled work order; decided once resolved; false
    while open past the target; else pending."""
    if t.resolution_due_at is None or ends["cancelled_at"] is not None:
        return None
    if ends["resolved_at"] is not None:
        return not t.resolution_breached
    if ends["ended_at"] is None and now > t.resolution_due_at:
        return False
    return None


def _attribution(raw: WorkOrderRaw, engineers: Mapping[uuid.UUID, EngineerInfo]) -> dict[str, Any]:
    t = raw.ticket
    engineer_id = t.assignee_id
    if t.status in RESOLVED:
        found, at_resolve = assignee_at_resolution(raw.events)
        if found and at_resolve is not None:
            engineer_id = at_resolve
    info = engineers.get(engineer_id) if engineer_id is not None else None
    return {
        "engineer_id": engineer_id,
        "team": info.team if info else None,
        "territory": t.site_territory or (info.territory if info else None),
    }


def labour_figures(
    labour: Iterable[Labour], engineers: Mapping[uuid.UUID, EngineerInfo]
) -> dict[str, Any]:
    """Work and travel seconds of the effective entries, and their cost at each engineer's
    hourly rate (an engineer without a rate costs nothing)."""
    work = travel = 0
    cost = _ZERO
    for entry in effective(labour):
        spent = int((entry.ended_at - entry.started_at).total_seconds())
        if entry.kind == "work":
            work += spent
        else:
            travel += spent
        info = engineers.get(entry.engineer_id)
        if info is not None and info.hourly_cost:
            cost += info.hourly_cost * spent / 3600
    return {
        "work_s": work,
        "travel_s": travel,
        "labour_cost": cost.quantize(_CENT, ROUND_HALF_UP),
    }


def parts_cost(movements: Iterable[Movement]) -> Decimal:
    """Parts consumed on the work order less its good returns (unused parts taken back), at
    the unit cost recorded on each line: the parts domain's work-order cost (docs/parts.md).
    A defective return is the broken unit that came out of the equipment: it credits
    nothing."""
    total = _ZERO
    for m in movements:
        value = m.quantity * m.unit_cost
        if m.kind == "consume":
            total += value
        elif m.kind == "return" and m.condition == "good":
            total -= value
    return total.quantize(_CENT, ROUND_HALF_UP)


def _first_arrival(raw: WorkOrderRaw) -> dt.datetime | None:
    if raw.check_ins:
        return min(arrival(c) for c in raw.check_ins)
    return next((e.at for e in raw.events if e.action == "arrive"), None)


def local_day(instant: dt.datetime | None, zone: ZoneInfo) -> dt.date | None:
    """The date ``instant`` falls on in the organisation's time zone (None stays None)."""
    return None if instant is None else instant.astimezone(zone).date()


def work_order_fact(
    raw: WorkOrderRaw,
    engineers: Mapping[uuid.UUID, EngineerInfo],
    now: dt.datetime,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """The ``kpi_work_orders`` row of one work order (column name -> value); ``zone`` is
    the organisation's time zone, which the ``_day`` columns are dates in."""
    t = raw.ticket
    ends = _ends(raw)
    first_assigned = next((e.at for e in raw.events if e.action == "assign"), None)
    first_arrival = _first_arrival(raw)
    until = ends["ended_at"] or now
    survey = raw.survey
    return {
        "ticket_id": t.id,
        "org_id": t.org_id,
        "number": t.number,
        "status": t.status,
        "priority": t.priority,
        "channel": t.channel,
        "type": t.type,
        "customer_id": t.customer_id,
        "site_id": t.site_id,
        "asset_id": t.asset_id,
        "product_model": t.product_model,
        "fault_code": t.fault_code,
        **_attribution(raw, engineers),
        "created_at": t.created_at,
        "first_assigned_at": first_assigned,
        "first_response_at": t.first_response_at,
        "first_arrival_at": first_arrival,
        **ends,
        "created_day": local_day(t.created_at, zone),
        "resolved_day": local_day(ends["resolved_at"], zone),
        "ended_day": local_day(ends["ended_at"], zone),
        "first_response_business_s": _first_response_business(raw),
        "schedule_s": seconds(t.created_at, first_assigned),
        "arrive_s": seconds(t.created_at, first_arrival),
        "resolve_s": seconds(t.created_at, ends["resolved_at"]),
        "waiting_s": waiting_seconds(raw.events, until),
        "response_met": response_met(t, until),
        "resolution_met": resolution_met(t, ends, now),
        "visits": len(raw.check_ins),
        "reopened": sum(1 for e in raw.events if e.action == "reopen"),
        **labour_figures(raw.labour, engineers),
        "parts_cost": parts_cost(raw.movements),
        "repeat_of_id": t.repeat_of_id,
        "marked_repeat_at": t.marked_repeat_at,
        "same_fault_next_at": t.same_fault_next_at,
        "next_on_asset_at": t.next_on_asset_at,
        "csat": survey.csat if survey else None,
        "nps": survey.nps if survey else None,
        "ces": survey.ces if survey else None,
        "surveyed_at": survey.submitted_at if survey else None,
        "surveyed_day": local_day(survey.submitted_at, zone) if survey else None,
        "refreshed_at": now,
    }


# --- engineer days ---------------------------------------------------------------------------

Interval = tuple[dt.datetime, dt.datetime]


def overlap(a: Interval, b: Interval) -> int:
    """Whole seconds two half-open intervals share."""
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return int((end - start).total_seconds()) if end > start else 0


def engineer_day(
    bounds: Interval, shifts: Sequence[Interval], labour: Iterable[Labour], now: dt.datetime
) -> dict[str, int]:
    """One engineer's day (``bounds``: its local midnights, UTC): the shift time scheduled
    on it up to ``now`` (today counts the hours gone by), and the effective work and travel
    recorded inside it (an entry across midnight is split there)."""
    until = (bounds[0], min(bounds[1], now))
    scheduled = sum(overlap(until, shift) for shift in shifts)
    work = travel = 0
    for entry in effective(labour):
        spent = overlap(bounds, (entry.started_at, entry.ended_at))
        if entry.kind == "work":
            work += spent
        else:
            travel += spent
    return {"scheduled_s": scheduled, "work_s": work, "travel_s": travel}
