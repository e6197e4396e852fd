"""Work orders: create, read, update, the lifecycle, events, SLA hooks.

Who may do what (beyond the caller's scopes):
- back office (admin, dispatcher, agent, integration keys with tickets:write) creates and
  edits dispatch fields; admins and dispatchers (and keys) assign and unassign;
- an engineer sees only work orders assigned to them (others are 404), runs the field
  actions on them and edits only the findings and the resolution (fault_code,
  resolution_notes, resolution_code, root_cause, resolution_summary);
- resolve refuses (409 checklist_incomplete) while required SOP checklist items are
  unanswered (a guard the field domain plugs in: server/tickets/hooks.py);
- close, reopen and cancel belong to the back office.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from server import customers, fastpaths, feed
from server.auth import Actor, Role
from server.config import get_settings
from server.crud import check_version, patch, reject_nulls
from server.db import driver, fetchrow
from server.engineers import Engineer
from server.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    Unprocessable,
)
from server.events import service as events
from server.tickets import audit, creation, hooks, sla
from server.tickets.models import SlaState, Ticket, TicketEvent
from server.tickets.schemas import TicketCreate, TicketUpdate, TransitionIn, window_problem
from shared.ids import uuid7
from shared.lifecycle import Action, Status, Transition, TransitionNotAllowed, transition

FIELD_ACTIONS = frozenset(
    {
        Action.ACCEPT,
        Action.REJECT,
        Action.START_TRAVEL,
        Action.ARRIVE,
        Action.HOLD,
        Action.RESUME,
        Action.RESOLVE,
    }
)
DISPATCH_ACTIONS = frozenset({Action.ASSIGN, Action.UNASSIGN})
ENGINEER_FIELDS = frozenset(
    {"fault_code", "resolution_notes", "resolution_code", "root_cause", "resolution_summary"}
)
_SLA_FIELDS = ("response_due_at", "resolution_due_at", "sla_state")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _fraction() -> float:
    return get_settings().SLA_AT_RISK_FRACTION


def visible_tickets(actor: Actor) -> ColumnElement[bool]:
    """The work orders ``actor`` may see, as a condition on Ticket: the organisation's; an
    engineer's only those assigned to them (another is 404, like one that does not exist).
    The rule's one home for queries; the hand-written statements of the hot paths filter on
    ``Actor.work_scope`` (``$n IS NULL OR assignee_id = $n``) instead."""
    organisation = Ticket.org_id == actor.org_id
    if actor.is_engineer:
        return and_(organisation, Ticket.assignee_id == actor.engineer_id)
    return organisation


def visible_ticket_ids(actor: Actor) -> Select[uuid.UUID] | None:
    """``visible_tickets`` for rows that belong to a work order (attachments, part returns,
    stock movements): the ids of the work orders an engineer sees, to narrow them with
    ``in_``; None when the caller sees every work order of the organisation (rows of no work
    order included)."""
    if not actor.is_engineer:
        return None
    return select(Ticket.id).where(visible_tickets(actor))


async def get(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID, for_update: bool = False
) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id, visible_tickets(actor))
    if for_update:
        # A locking read is read afresh: a copy the session held may be older than the row
        # (written by a light transition, or undone by a savepoint's rollback).
        query = query.with_for_update().execution_options(populate_existing=True)
    ticket = await session.scalar(query)
    if ticket is None:
        raise NotFound(f"work order {ticket_id} not found")
    return ticket


def _require_back_office(actor: Actor, what: str) -> None:
    actor.require_office_writer(what)


async def create(session: AsyncSession, actor: Actor, *, data: TicketCreate) -> Ticket:
    """A new work order (rules and paths: server/tickets/creation.py)."""
    _require_back_office(actor, "create work orders")
    now, fraction = _now(), _fraction()
    ticket = await creation.create_now(session, actor, data, now=now, fraction=fraction)
    if ticket is None:
        ticket = await creation.create_orm(session, actor, data, now=now, fraction=fraction)
    return ticket


def _check_version(ticket: Ticket, expected: int | None) -> None:
    check_version(ticket.version, expected, label="the work order")


async def update(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    data: TicketUpdate,
    expected_version: int | None,
) -> Ticket:
    ticket = await get(session, actor, ticket_id=ticket_id, for_update=True)
    _check_version(ticket, expected_version)
    changes = data.model_dump(exclude_unset=True)
    if actor.is_engineer and (denied := sorted(set(changes) - ENGINEER_FIELDS)):
        raise Forbidden(
            f"engineers may change only {sorted(ENGINEER_FIELDS)}; not {denied}",
            fields=denied,
        )
    if actor.is_viewer:
        raise Forbidden("viewers cannot change work orders")
    reject_nulls(ticket, changes)
    if {"window_start", "window_end"} & changes.keys():
        window = (
            changes.get("window_start", ticket.window_start),
            changes.get("window_end", ticket.window_end),
        )
        if (problem := window_problem(*window)) is not None:
            raise Unprocessable(problem, field="window_end")
    if {"site_id", "asset_id", "repeat_of_id"} & changes.keys():
        _, nearest = await creation.check_refs(
            session,
            actor,
            customer_id=ticket.customer_id,
            site_id=changes.get("site_id", ticket.site_id),
            asset_id=changes.get("asset_id", ticket.asset_id),
            repeat_of_id=changes.get("repeat_of_id"),
        )
        if "site_id" in changes:  # a new site: its nearest service site (none without one)
            changes["service_site_id"] = nearest if changes["site_id"] is not None else None
    # The If-Match version was checked first (a stale one is 412 before any refusal).
    diff = patch(ticket, changes, expected_version=None, shown=_jsonable)
    if not diff:
        return ticket
    if "priority" in diff:
        before = {f: getattr(ticket, f) for f in _SLA_FIELDS}
        await sla.apply_deadlines(session, ticket)
        sla.refresh_state(ticket, _now(), _fraction())
        for name, old_value in before.items():
            if getattr(ticket, name) != old_value:
                diff[name] = [_jsonable(old_value), _jsonable(getattr(ticket, name))]
    # Set last, explicitly: a flush inside apply_deadlines runs the column's server-side
    # onupdate, which expires the attribute, and the router cannot lazy-load it.
    ticket.updated_at = _now()
    ticket.search_text = creation.search_text(ticket)
    audit.record(session, ticket, kind="updated", actor=actor.label, changes=diff)
    return ticket


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value.value if hasattr(value, "value") else value


def _authorise_action(actor: Actor, ticket: Ticket, action: Action) -> None:
    if actor.is_engineer:
        if action not in FIELD_ACTIONS:
            raise Forbidden(f"engineers cannot {action.value} work orders")
        return  # get() already proved the work order is theirs
    if actor.role is Role.VIEWER:
        raise Forbidden("viewers cannot change work orders")
    if actor.role is Role.AGENT and action in DISPATCH_ACTIONS | FIELD_ACTIONS:
        # The service desk takes calls: it cancels, closes and reopens; it does not
        # dispatch, and field steps (accept stops the response clock) are the engineer's.
        raise Forbidden(f"service desk agents cannot {action.value} work orders")


async def _assignee(session: AsyncSession, actor: Actor, engineer_id: uuid.UUID | None) -> Engineer:
    if engineer_id is None:
        raise Unprocessable("assign needs engineer_id", field="engineer_id")
    engineer = await session.scalar(
        select(Engineer).where(Engineer.id == engineer_id, Engineer.org_id == actor.org_id)
    )
    if engineer is None:
        raise Unprocessable(f"engineer {engineer_id} not found", field="engineer_id")
    if not engineer.active:
        raise Unprocessable("this engineer is inactive", field="engineer_id")
    return engineer


async def apply_transition(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    data: TransitionIn,
    expected_version: int | None = None,
) -> Ticket:
    if data.action in LIGHT_ACTIONS and fastpaths.enabled("tickets.light_transition"):
        light = await _light_transition(session, actor, ticket_id, data, expected_version)
        if light is not None:
            return light
    ticket = await get(session, actor, ticket_id=ticket_id, for_update=True)
    step = _step(actor, ticket, data, expected_version)
    current = step.source
    await hooks.run_guards(session, actor, ticket, data)
    changes = await _side_effects(session, actor, ticket, data)
    await hooks.run_listeners(session, actor, ticket, data, changes)
    _advance(ticket, step, changes)
    audit.record(
        session,
        ticket,
        kind="transition",
        actor=actor.label,
        action=data.action.value,
        from_status=current.value,
        to_status=step.target.value,
        reason=data.reason,
        changes=changes,
    )
    return ticket


def _step(
    actor: Actor, ticket: Ticket, data: TransitionIn, expected_version: int | None
) -> Transition:
    """The transition ``data`` asks of ``ticket``, if the caller may run it from here."""
    _check_version(ticket, expected_version)
    _authorise_action(actor, ticket, data.action)
    current = Status(ticket.status)
    try:
        step = transition(current, data.action)
    except TransitionNotAllowed as exc:
        raise InvalidTransition(
            str(exc), allowed_actions=[a.value for a in exc.allowed], current_status=current.value
        ) from exc
    if step.needs_reason and not data.reason:
        raise Unprocessable(f"{data.action.value} needs a reason", field="reason")
    return step


def _advance(ticket: Ticket, step: Transition, changes: dict[str, Any]) -> None:
    """Move ``ticket`` to the step's target: new version, the SLA state brought up to date
    (its change added to ``changes``)."""
    now = _now()
    ticket.status = step.target.value
    ticket.version += 1
    ticket.updated_at = now
    old_sla = sla.refresh_state(ticket, now, _fraction())
    if old_sla is not None:
        changes["sla_state"] = [old_sla.value, ticket.sla_state]


# --- light transitions: the phone's everyday field steps in two statements -----------------

# Actions whose only effects are on the work order's own columns (no other service takes
# part): the same rules and the same rows as below, with hand-written SQL. The phone runs
# them all day (accept, start travel, and arrive with every check-in).
LIGHT_ACTIONS = frozenset({Action.ACCEPT, Action.START_TRAVEL, Action.ARRIVE})
# What they may change (anything else changing is a programming error, asserted).
_LIGHT_WRITES = (
    "status",
    "version",
    "updated_at",
    "first_response_at",
    "response_breached",
    "resolution_breached",
    "sla_state",
    "sla_next_check_at",
)
_TICKET_COLUMNS = tuple(attr.key for attr in sa_inspect(Ticket).column_attrs)
assert all(attr.key == attr.columns[0].name for attr in sa_inspect(Ticket).column_attrs), (
    "light transitions read columns by attribute name"
)
_LIGHT_LOCK = f"""
    SELECT {", ".join(_TICKET_COLUMNS)}
      FROM tickets
     WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR assignee_id = $3::uuid)
       FOR UPDATE
"""  # noqa: S608 (the mapper's column names)
# The work order, its audit event, the event's outbox twin and the work order's change-feed
# row for its engineer (server/feed.py: what the ORM capture writes for a status change of
# an assigned work order).
_LIGHT_FEED = feed.for_assignee(
    "u.assignee_id", org="$2", entity=feed.literal("work_order"), entity_id="$1::text", source="u"
)
_LIGHT_WRITE = f"""
    WITH u AS (
        UPDATE tickets
           SET status = $3, version = $4, updated_at = $5, first_response_at = $6,
               response_breached = $7, resolution_breached = $8, sla_state = $9,
               sla_next_check_at = $10
         WHERE id = $1 AND org_id = $2
     RETURNING assignee_id
    ), e AS (
        INSERT INTO ticket_events (id, org_id, ticket_id, kind, action, from_status, to_status,
                                   reason, changes, actor)
        VALUES ($11, $2, $1, 'transition', $12, $13, $14, $15, $16::jsonb, $17)
    ), o AS (
        INSERT INTO outbox_events (id, org_id, topic, aggregate_id, payload, attempts)
        VALUES ($18, $2, 'ticket.transition', $1, $19::jsonb, 0)
    ), f AS (
        {_LIGHT_FEED}
    )
    SELECT count(*) FROM u
"""  # noqa: S608 (module constants only)


async def _light_transition(
    session: AsyncSession,
    actor: Actor,
    ticket_id: uuid.UUID,
    data: TransitionIn,
    expected_version: int | None,
) -> Ticket | None:
    """``apply_transition`` for LIGHT_ACTIONS: the work order is read (locked) and written
    with hand-written SQL, the rules in between are the same functions. Returns the work
    order as written, a transient copy; None (nothing done) when the session holds a copy
    of the work order, which the ORM path keeps right (through a savepoint's rollback
    too), for an engineer user without an engineer profile, or for an action another
    domain hooks into (server/tickets/hooks.py). The fast path ``tickets.light_transition``
    (server/fastpaths.py)."""
    if not actor.work_scope_known or hooks.hooked(data.action):
        return None
    conn = await driver(session)  # flushes first: a new work order is then held, too
    if session.identity_map.get(identity_key(Ticket, ticket_id)) is not None:
        return None
    row = await fetchrow(conn, _LIGHT_LOCK, ticket_id, actor.org_id, actor.work_scope)
    if row is None:
        raise NotFound(f"work order {ticket_id} not found")
    before = dict(row)
    ticket = Ticket(**before)
    step = _step(actor, ticket, data, expected_version)
    current = step.source
    changes = await _side_effects(session, actor, ticket, data)
    _advance(ticket, step, changes)
    changed = {key for key in _TICKET_COLUMNS if getattr(ticket, key) != before[key]}
    assert changed <= set(_LIGHT_WRITES), f"a light transition changed {changed}"
    values = [getattr(ticket, key) for key in _LIGHT_WRITES]
    event = {
        "action": data.action.value,
        "from_status": current.value,
        "to_status": step.target.value,
    }
    written = await fetchrow(
        conn,
        _LIGHT_WRITE,
        ticket_id,
        actor.org_id,
        *values,
        uuid7(),
        *event.values(),
        data.reason,
        json.dumps(changes),
        actor.label,
        uuid7(),
        json.dumps(audit.payload(ticket, actor=actor.label, changes=changes, **event)),
    )
    assert written is not None and written[0] == 1
    events.deliver_soon(session)
    return ticket


async def _side_effects(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> dict[str, Any]:
    """What an action changes besides the status; returns the changed fields."""
    now = _now()
    changes: dict[str, Any] = {}
    action = data.action
    if action is Action.ASSIGN:
        engineer = await _assignee(session, actor, data.engineer_id)
        changes["assignee_id"] = [_jsonable(ticket.assignee_id), str(engineer.id)]
        ticket.assignee_id = engineer.id
    elif action in (Action.UNASSIGN, Action.REJECT):
        changes["assignee_id"] = [_jsonable(ticket.assignee_id), None]
        ticket.assignee_id = None
    elif action in (Action.ACCEPT, Action.ARRIVE) and ticket.first_response_at is None:
        ticket.first_response_at = now
        changes["first_response_at"] = [None, now.isoformat()]
        # A late first response is a breach even if no sweep ran between the deadline
        # and now: once first_response_at is set, neither refresh_state nor the sweep
        # can see that it came late.
        if ticket.response_due_at is not None and now > ticket.response_due_at:
            ticket.response_breached = True
            if ticket.sla_state != SlaState.BREACHED.value:
                changes["sla_state"] = [ticket.sla_state, SlaState.BREACHED.value]
                ticket.sla_state = SlaState.BREACHED.value
    elif action is Action.HOLD:
        # What the work order waits for is in the event (the board and the phone show it).
        changes["hold_kind"] = data.hold_kind or "waiting_customer"
        if changes["hold_kind"] == "waiting_customer":
            await sla.pause(ticket, now)
            changes["sla_paused"] = True
    elif action is Action.RESUME and ticket.on_hold_since is not None:
        await sla.resume(session, ticket, now)
        changes["resolution_due_at"] = _jsonable(ticket.resolution_due_at)
    elif action is Action.RESOLVE:
        ticket.resolved_at = now
        if ticket.resolution_due_at is not None:
            # Recorded even when the response was already late: both breaches count.
            late = now > ticket.resolution_due_at
            ticket.resolution_breached = ticket.resolution_breached or late
            breached = late or ticket.sla_state == SlaState.BREACHED.value
            new_state = (SlaState.BREACHED if breached else SlaState.MET).value
            if new_state != ticket.sla_state:
                changes["sla_state"] = [ticket.sla_state, new_state]
            ticket.sla_state = new_state
    elif action is Action.REOPEN:
        ticket.resolved_at = None
        if ticket.sla_state == SlaState.MET.value:
            ticket.sla_state = SlaState.OK.value
    elif action is Action.CLOSE:
        ticket.closed_at = now
    elif action is Action.CANCEL:
        ticket.on_hold_since = None
    return changes


async def list_events(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> list[TicketEvent]:
    ticket = await get(session, actor, ticket_id=ticket_id)
    rows = await session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.org_id == actor.org_id)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    return list(rows)


async def asset_history(
    session: AsyncSession, actor: Actor, *, asset_id: uuid.UUID
) -> list[Ticket]:
    """The asset's service history: its latest 500 work orders, newest first.

    An engineer sees the finished history (colleagues' earlier repairs are what they need
    on site) and their own open work, not colleagues' open work orders."""
    asset = await customers.service.get_asset(session, actor, asset_id=asset_id)
    query = select(Ticket).where(Ticket.org_id == actor.org_id, Ticket.asset_id == asset.id)
    if actor.is_engineer:
        finished = [s.value for s in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)]
        query = query.where(or_(Ticket.status.in_(finished), visible_tickets(actor)))
    rows = await session.scalars(query.order_by(Ticket.created_at.desc()).limit(500))
    return list(rows)


_REFERENCES = {"customer": Ticket.customer_id, "site": Ticket.site_id, "asset": Ticket.asset_id}


def engineer_reaches(actor: Actor, kind: str, id_column: Any) -> ColumnElement[bool]:
    """A work order ``actor`` (an engineer) may see references this customer, site or asset
    (``id_column``): the customers domain's ``engineer_reach``."""
    return exists().where(visible_tickets(actor), _REFERENCES[kind] == id_column)
