"""Field work on a work order: notes, parts used, the resolution, and the field summary.
Visits, labour and checklists have their routers in their subpackages."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.field import parts_used, service
from server.field.models import PartAction
from server.field.schemas import (
    FieldSummary,
    MissingItem,
    NoteCreate,
    NoteRead,
    PartLineCreate,
    PartLineRead,
    ResolutionIn,
    totals_read,
)
from server.http import created_links, etag, problems
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.tickets import TicketRead
from server.tickets import to_read as ticket_read

router = APIRouter(prefix="/api/v1", tags=["field work"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]
# Parts lines are stock ledger movements: reading them needs parts:read too, recording
# them (stock leaves the van) parts:write (docs/api.md, "Scopes of combined answers").
PartsReader = Annotated[Actor, require("tickets:read", "parts:read")]
PartsWriter = Annotated[Actor, require("tickets:write", "parts:write")]
WO = "/tickets/{ticket_id}"


# --- notes, parts used -------------------------------------------------------------------------


@router.post(
    f"{WO}/notes",
    status_code=201,
    summary="Add an internal note",
    response_model=NoteRead,
    responses={
        **problems(400, 403, 404, 409),
        **created_links("Note added", list_notes={"ticket_id": "ticket_id"}),
    },
)
async def add_note(
    request: Request,
    ticket_id: uuid.UUID,
    body: NoteCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[NoteRead, dict[str, str]]:
        note = await service.add_note(
            session,
            actor,
            ticket_id=ticket_id,
            note_id=body.note_id,
            text=body.text,
            visit_id=body.visit_id,
            device_time=body.device_time,
        )
        return NoteRead.model_validate(note), {}

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    f"{WO}/notes",
    summary="A work order's notes, oldest first",
    response_model=list[NoteRead],
    responses=problems(403, 404),
)
async def list_notes(ticket_id: uuid.UUID, session: SessionDep, actor: Reader) -> list[NoteRead]:
    notes = await service.list_notes(session, actor, ticket_id=ticket_id)
    return [NoteRead.model_validate(n) for n in notes]


@router.post(
    f"{WO}/parts-used",
    status_code=201,
    summary="Report a part used from the van, or taken back into it",
    description="`use` consumes from the engineer's van onto the work order's site, `return` "
    "brings a part back (good, or defective into quarantine). Recorded in the stock ledger; "
    "the same `line_id` again moves nothing.",
    response_model=PartLineRead,
    responses={
        **problems(400, 403, 404, 409),
        **created_links("Part reported", list_part_lines={"ticket_id": "ticket_id"}),
    },
)
async def report_part(
    request: Request,
    ticket_id: uuid.UUID,
    body: PartLineCreate,
    session: SessionDep,
    actor: PartsWriter,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[PartLineRead, dict[str, str]]:
        if body.action is PartAction.USE:
            line = await parts_used.use_part(
                session,
                actor,
                ticket_id=ticket_id,
                line_id=body.line_id,
                part_id=body.part_id,
                quantity=body.quantity,
                visit_id=body.visit_id,
                serial_numbers=body.serial_numbers,
                removed_serial_numbers=body.removed_serial_numbers,
                removed_condition=body.removed_condition,
            )
        else:
            assert body.condition is not None  # the schema requires it for return
            line = await parts_used.return_part(
                session,
                actor,
                ticket_id=ticket_id,
                line_id=body.line_id,
                part_id=body.part_id,
                quantity=body.quantity,
                condition=body.condition,
                visit_id=body.visit_id,
                serial_numbers=body.serial_numbers,
            )
        return PartLineRead.model_validate(line), {}

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    f"{WO}/parts-used",
    summary="Parts reported on a work order",
    response_model=list[PartLineRead],
    responses=problems(403, 404),
)
async def list_part_lines(
    ticket_id: uuid.UUID, session: SessionDep, actor: PartsReader
) -> list[PartLineRead]:
    lines = await parts_used.list_lines(session, actor, ticket_id=ticket_id)
    return [PartLineRead.model_validate(line) for line in lines]


# --- resolution, summary -----------------------------------------------------------------------


@router.post(
    f"{WO}/resolution",
    summary="Record the resolution and resolve the work order",
    description="Sets resolution_code, fault_code (the fault found), root_cause and "
    "resolution_summary, then runs `resolve`: 409 `checklist_incomplete` with `missing` while "
    "required checklist items are unanswered, 409 `invalid_transition` unless on_site.",
    response_model=TicketRead,
    responses=problems(400, 403, 404, 409),
)
async def resolve(
    request: Request,
    ticket_id: uuid.UUID,
    body: ResolutionIn,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[TicketRead, dict[str, str]]:
        ticket = await service.resolve(
            session,
            actor,
            ticket_id=ticket_id,
            resolution_code=body.resolution_code,
            summary=body.summary,
            fault_code=body.fault_code,
            root_cause=body.root_cause,
        )
        await session.flush()
        return ticket_read(ticket), {"ETag": etag(ticket.version)}

    return await idempotent_create(
        request,
        session,
        actor,
        key=idempotency_key,
        body=body,
        produce=produce,
        status_code=200,
    )


@router.get(
    f"{WO}/field-summary",
    summary="A work order's field work at a glance (visits, first-time fix, labour, checklist)",
    response_model=FieldSummary,
    responses=problems(403, 404),
)
async def field_summary(
    ticket_id: uuid.UUID,
    session: SessionDep,
    actor: PartsReader,  # it counts part lines
) -> FieldSummary:
    s = await service.field_summary(session, actor, ticket_id=ticket_id)
    t = s.ticket
    return FieldSummary(
        ticket_id=t.id,
        status=t.status,
        visit_count=s.visit_count,
        open_visit_id=s.open_visit_id,
        first_time_fix=s.first_time_fix,
        labour=totals_read(s.labour),
        checklist_missing=[MissingItem.model_validate(m) for m in s.missing],
        part_lines=s.part_lines,
        notes=s.notes,
        resolution_code=t.resolution_code,
        fault_code=t.fault_code,
        root_cause=t.root_cause,
        resolution_summary=t.resolution_summary,
    )
