"""Field work: the one write path for the REST API and the phone's sync mutations.

Every function takes ``(session, actor, *, ...)``, never commits, and raises server.errors
(problem+json). Records the phone creates carry its UUIDv7 (``visit_id``, ``entry_id``,
``void_id``, ``answer_id``, ``note_id``, ``line_id``): the same id with the same content
answers the existing record, with different content 409 ``client_id_reused``. Device
times are ISO 8601 strings or aware datetimes; they are kept, never used to order or
refuse anything.

Mutation (shared/sync.py)      function here
work_order.accept               accept(work_order_id)
work_order.start_travel         start_travel(work_order_id)
work_order.hold                 hold(work_order_id, waiting_for="parts"|"customer"|"other",
                                     reason)
work_order.resume               resume(work_order_id)
work_order.reject               reject(work_order_id, reason)
work_order.resolve              resolve(work_order_id, resolution_code, summary,
                                        fault_code=None, root_cause=None)
work_order.update_findings      update_findings(work_order_id, fault_code=None, ...)
visit.check_in                  check_in(work_order_id, visit_id, device_time, gps=None,
                                         clock_offset_s=None)
visit.check_out                 check_out(visit_id, device_time, gps=None, clock_offset_s=None)
labour.add                      add_labour(work_order_id, entry_id, kind, started_at, ended_at,
                                           visit_id=None, note=None)
labour.void                     void_labour(entry_id, void_id, reason)
labour.adjust                   adjust_labour(entry_id, adjustment_id, started_at, ended_at,
                                              reason, kind=None, note=None, work_order_id)
part.use                        use_part(work_order_id, line_id, part_id, quantity, visit_id=None,
                                         serial_numbers=None, removed_serial_numbers=None,
                                         removed_condition=None)
part.return                     return_part(work_order_id, line_id, part_id, quantity, condition,
                                            visit_id=None, serial_numbers=None)
checklist.answer                answer(work_order_id, visit_id, item_id, answer_id, value,
                                       device_time=None)
note.add                        add_note(work_order_id, note_id, text, visit_id=None,
                                         device_time=None)

``gps`` is ``{"lat", "lon", "accuracy_m"}`` (or a GpsIn). For visit.check_in the device time
is the mutation's ``device_time``; ``clock_offset_s`` is the sync layer's estimate of the
device clock minus the server clock (server/field/visits/service.py says why it matters).

The work-order transitions are those of server/tickets/service.py (same rules, same
events): these wrappers only name them. ``hold`` maps ``waiting_for`` to the transition's
``hold_kind`` (``customer`` pauses the SLA clock, ``parts`` and ``other`` do not).
``reject`` declines a job the engineer has not accepted: it goes back to ``new``,
unassigned. ``update_findings`` is the engineer's ``PATCH /tickets/{id}`` (the findings and
resolution fields), without a version check: the last write received wins, per field.

Who: the engineer assigned to the work order (other work orders are 404), admins and
dispatchers acting for them, integration keys with tickets:write; service desk agents add
notes only; viewers read. Details in docs/field.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import patch
from server.errors import Unprocessable
from server.field import access
from server.field.checklists import guard as checklist_guard
from server.field.checklists.service import answer as answer
from server.field.labour import review as labour_review
from server.field.labour import service as _labour
from server.field.labour.review import approve as approve_labour
from server.field.labour.service import add_labour as add_labour
from server.field.labour.service import adjust_labour as adjust_labour
from server.field.labour.service import void_labour as void_labour
from server.field.models import FieldPartLine, TicketNote
from server.field.parts_used import TYPICAL_DAYS as TYPICAL_DAYS
from server.field.parts_used import return_part as return_part
from server.field.parts_used import typical_parts as typical_parts
from server.field.parts_used import use_part as use_part
from server.field.visits import service as _visits
from server.field.visits.service import check_in as check_in
from server.field.visits.service import check_out as check_out
from server.tickets import Ticket, TicketUpdate, TransitionIn, audit
from server.tickets import service as tickets_service
from shared.lifecycle import Action, Status

__all__ = [
    "accept",
    "add_labour",
    "add_note",
    "adjust_labour",
    "answer",
    "approve_labour",
    "check_in",
    "check_out",
    "field_summary",
    "hold",
    "list_notes",
    "reject",
    "resolve",
    "resume",
    "return_part",
    "start_travel",
    "update_findings",
    "use_part",
    "void_labour",
]

HOLD_KINDS = {"parts": "waiting_parts", "customer": "waiting_customer", "other": "other"}
NEW_NOTE = access.NewRecord(
    "ticket_notes",
    "note",
    (
        ("id", "uuid"),
        ("visit_id", "uuid"),
        ("text", "text"),
        ("author", "text"),
        ("device_time", "timestamptz"),
        ("received_at", "timestamptz"),
    ),
)


# --- work-order transitions ---------------------------------------------------------------


async def _transition(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, data: TransitionIn
) -> Ticket:
    return await tickets_service.apply_transition(session, actor, ticket_id=ticket_id, data=data)


async def accept(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Ticket:
    return await _transition(session, actor, ticket_id, TransitionIn(action=Action.ACCEPT))


async def start_travel(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Ticket:
    data = TransitionIn(action=Action.START_TRAVEL)
    return await _transition(session, actor, ticket_id, data)


async def hold(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    waiting_for: str,
    reason: str,
) -> Ticket:
    kind = HOLD_KINDS.get(waiting_for)
    if kind is None:
        raise Unprocessable(f"must be one of {', '.join(HOLD_KINDS)}", field="waiting_for")
    why = access.text(reason, "reason", limit=2000)
    data = TransitionIn.model_validate({"action": "hold", "hold_kind": kind, "reason": why})
    return await _transition(session, actor, ticket_id, data)


async def resume(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Ticket:
    return await _transition(session, actor, ticket_id, TransitionIn(action=Action.RESUME))


async def reject(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID, reason: str
) -> Ticket:
    """Decline the job: ``assigned`` -> ``new``, unassigned (the state machine refuses it
    from any other status; for an engineer a work order no longer theirs is 404, so a late
    reject never undoes the office's reassignment)."""
    why = access.text(reason, "reason", limit=2000)
    data = TransitionIn.model_validate({"action": "reject", "reason": why})
    return await _transition(session, actor, ticket_id, data)


async def resolve(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    resolution_code: str,
    summary: str,
    fault_code: str | None = None,
    root_cause: str | None = None,
) -> Ticket:
    """Record the resolution on the work order and run ``resolve`` (which refuses, 409
    ``checklist_incomplete``, while required checklist items are unanswered).

    ``fault_code`` is the fault found (it replaces the fault reported, when given);
    ``resolution_summary`` is what was done, for the customer's service report;
    ``resolution_notes`` stays the engineer's working notes. Fields left out keep their
    value. One ``updated`` event names the recorded fields, then the transition's event."""
    access.require_field_writer(actor, "resolve work orders")
    fields = {
        "resolution_code": access.text(resolution_code, "resolution_code", limit=40),
        "resolution_summary": access.text(summary, "summary", limit=5000),
        "fault_code": access.text(fault_code, "fault_code", limit=40, required=False),
        "root_cause": access.text(root_cause, "root_cause", limit=2000, required=False),
    }
    ticket = await access.work_order(session, actor, ticket_id, for_update=True)
    # No version of its own: the resolve below bumps it, once for both.
    given = {name: value for name, value in fields.items() if value is not None}
    diff = patch(ticket, given, expected_version=None, shown=lambda text: text, bump=False)
    if diff:
        audit.record(session, ticket, kind="updated", actor=actor.label, changes=diff)
    return await _transition(session, actor, ticket.id, TransitionIn(action=Action.RESOLVE))


async def update_findings(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    fault_code: str | None = None,
    resolution_code: str | None = None,
    root_cause: str | None = None,
    resolution_summary: str | None = None,
    resolution_notes: str | None = None,
) -> Ticket:
    """The findings and resolution fields given (None keeps one), through the work-order
    update the REST PATCH runs (its limits, its ``updated`` event). No version is
    expected: these fields are the engineer's, and the last write received wins."""
    given = {
        "fault_code": fault_code,
        "resolution_code": resolution_code,
        "root_cause": root_cause,
        "resolution_summary": resolution_summary,
        "resolution_notes": resolution_notes,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise Unprocessable(f"send at least one of {', '.join(given)}", fields=sorted(given))
    data = TicketUpdate.model_validate(changes)
    return await tickets_service.update(
        session, actor, ticket_id=ticket_id, data=data, expected_version=None
    )


# --- notes -------------------------------------------------------------------------------------


async def _note(session: AsyncSession, actor: Actor, note_id: uuid.UUID) -> TicketNote | None:
    note = await session.get(TicketNote, note_id)
    if note is not None:
        await access.require_visible(
            session,
            actor,
            org_id=note.org_id,
            ticket_id=note.ticket_id,
            what="note",
            record_id=note_id,
        )
    return note


def _note_content(note: TicketNote) -> dict[str, Any]:
    return {"work_order_id": note.ticket_id, "visit_id": note.visit_id, "text": note.text}


async def add_note(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    note_id: uuid.UUID,
    text: str,
    visit_id: uuid.UUID | None = None,
    device_time: dt.datetime | str | None = None,
) -> TicketNote:
    """An internal note on the work order (never shown to the customer)."""
    access.require_field_writer(actor, "add notes", agents=True)
    body = access.text(text, "text", limit=10_000)
    when = access.instant(device_time, "device_time") if device_time is not None else None
    note = TicketNote(
        id=note_id,
        org_id=actor.org_id,
        ticket_id=ticket_id,
        visit_id=visit_id,
        text=body,
        author=actor.label,
        device_time=when,
        received_at=access.now(),
    )
    if await access.insert_new(session, actor, NEW_NOTE, note):
        return note
    ticket = await access.work_order(session, actor, ticket_id)
    sent = {"work_order_id": ticket.id, "visit_id": visit_id, "text": body}
    if (found := await _note(session, actor, note_id)) is not None:
        access.same_content("note", note_id, _note_content(found), sent)
        return found
    await access.check_visit(session, actor, ticket.id, visit_id)
    raced = await access.insert(
        session,
        [note],
        existing=lambda: _note(session, actor, note_id),
        what="note",
        record_id=note_id,
    )
    if raced is not None:
        access.same_content("note", note_id, _note_content(raced), sent)
        return raced
    return note


async def list_notes(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> list[TicketNote]:
    ticket = await access.work_order(session, actor, ticket_id)
    rows = await session.scalars(
        select(TicketNote)
        .where(TicketNote.ticket_id == ticket.id, TicketNote.org_id == actor.org_id)
        .order_by(TicketNote.received_at, TicketNote.id)
    )
    return list(rows)


# --- the work order's field summary ------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    ticket: Ticket
    visit_count: int
    open_visit_id: uuid.UUID | None
    labour: _labour.Totals
    missing: list[checklist_guard.Missing]
    part_lines: int
    notes: int

    @property
    def first_time_fix(self) -> bool | None:
        """Resolved on the first visit; None while open, or when resolved without a visit."""
        done = self.ticket.status in (Status.RESOLVED.value, Status.CLOSED.value)
        if not done or self.visit_count == 0:
            return None
        return self.visit_count == 1


async def _count(session: AsyncSession, model: Any, ticket_id: uuid.UUID) -> int:
    found = await session.scalar(
        select(func.count()).select_from(model).where(model.ticket_id == ticket_id)
    )
    return int(found or 0)


async def field_summary(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Summary:
    ticket = await access.work_order(session, actor, ticket_id)
    entries, _ = await labour_review.sheet(session, actor, ticket_id=ticket.id)
    current = await _visits.open_visit(session, ticket.id)
    return Summary(
        ticket=ticket,
        visit_count=await _visits.visit_count(session, ticket.id),
        open_visit_id=current.id if current else None,
        labour=_labour.totals(entries),
        missing=(await checklist_guard.checklist(session, ticket)).missing,
        part_lines=await _count(session, FieldPartLine, ticket.id),
        notes=await _count(session, TicketNote, ticket.id),
    )
