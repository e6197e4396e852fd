"""Labour: record, void and correct entries, the labour sheet, approvals and an engineer's
day. Every create takes the caller's own id for the record and an optional Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.field.labour import review as labour_review
from server.field.labour import service as labour
from server.field.models import LabourEntry
from server.field.schemas import (
    ApprovalIn,
    DayTotals,
    LabourAdjustCreate,
    LabourCreate,
    LabourEntryRead,
    LabourSheet,
    LabourVoidCreate,
    LabourVoidRead,
    totals_read,
)
from server.http import created_links, problems
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.schemas import Day

router = APIRouter(prefix="/api/v1", tags=["field work"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]
WO = "/tickets/{ticket_id}"


def entry_read(item: labour.EntryState) -> LabourEntryRead:
    e = item.entry
    return LabourEntryRead.model_validate(
        {
            **{name: getattr(e, name) for name in LabourEntryRead.model_fields if hasattr(e, name)},
            "seconds": item.seconds,
            "state": item.state,
            "voided_by_id": item.void.id if item.void else None,
            "replaced_by_id": item.replaced_by_id,
            "approved_at": item.approval.approved_at if item.approval else None,
            "approved_by": item.approval.approved_by if item.approval else None,
        }
    )


async def _one_entry(session: AsyncSession, entry: LabourEntry) -> LabourEntryRead:
    (state,) = await labour.states(session, [entry])
    return entry_read(state)


# --- labour ----------------------------------------------------------------------------------


@router.post(
    f"{WO}/labour",
    status_code=201,
    summary="Record labour (travel, work, break)",
    response_model=LabourEntryRead,
    responses={
        **problems(400, 403, 404, 409),
        **created_links("Labour recorded", labour_sheet={"ticket_id": "ticket_id"}),
    },
)
async def add_labour(
    request: Request,
    ticket_id: uuid.UUID,
    body: LabourCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[LabourEntryRead, dict[str, str]]:
        entry = await labour.add_labour(
            session,
            actor,
            ticket_id=ticket_id,
            entry_id=body.entry_id,
            kind=body.kind,
            started_at=body.started_at,
            ended_at=body.ended_at,
            visit_id=body.visit_id,
            note=body.note,
            engineer_id=body.engineer_id,
        )
        return await _one_entry(session, entry), {}

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    f"{WO}/labour",
    summary="A work order's labour: entries, voids and totals",
    response_model=LabourSheet,
    responses=problems(403, 404),
)
async def labour_sheet(ticket_id: uuid.UUID, session: SessionDep, actor: Reader) -> LabourSheet:
    entries, voids = await labour_review.sheet(session, actor, ticket_id=ticket_id)
    return LabourSheet(
        entries=[entry_read(e) for e in entries],
        voids=[LabourVoidRead.model_validate(v) for v in voids],
        totals=totals_read(labour.totals(entries)),
    )


@router.post(
    f"{WO}/labour/{{entry_id}}/void",
    status_code=201,
    summary="Void a labour entry (it stays, uncounted)",
    response_model=LabourVoidRead,
    responses=problems(400, 403, 404, 409),
)
async def void_labour(
    request: Request,
    ticket_id: uuid.UUID,
    entry_id: uuid.UUID,
    body: LabourVoidCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[LabourVoidRead, dict[str, str]]:
        void = await labour.void_labour(
            session,
            actor,
            entry_id=entry_id,
            void_id=body.void_id,
            reason=body.reason,
            ticket_id=ticket_id,
        )
        return LabourVoidRead.model_validate(void), {}

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.post(
    f"{WO}/labour/{{entry_id}}/adjust",
    status_code=201,
    summary="Correct a labour entry with a new one that replaces it",
    response_model=LabourEntryRead,
    responses=problems(400, 403, 404, 409),
)
async def adjust_labour(
    request: Request,
    ticket_id: uuid.UUID,
    entry_id: uuid.UUID,
    body: LabourAdjustCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[LabourEntryRead, dict[str, str]]:
        entry = await labour.adjust_labour(
            session,
            actor,
            entry_id=entry_id,
            adjustment_id=body.adjustment_id,
            kind=body.kind,
            started_at=body.started_at,
            ended_at=body.ended_at,
            reason=body.reason,
            note=body.note,
            ticket_id=ticket_id,
        )
        return await _one_entry(session, entry), {}

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.post(
    "/labour/approvals",
    summary="Approve labour entries, or a whole work order's (admins, dispatchers)",
    response_model=list[LabourEntryRead],
    responses=problems(400, 403, 404, 409),
)
async def approve_labour(
    body: ApprovalIn, session: SessionDep, actor: Writer
) -> list[LabourEntryRead]:
    approved = await labour_review.approve(
        session, actor, entry_ids=body.entry_ids, ticket_id=body.ticket_id
    )
    return [entry_read(a) for a in approved]


@router.get(
    "/engineers/{engineer_id}/labour-totals",
    summary="An engineer's labour on one day (organisation time zone)",
    response_model=DayTotals,
    responses=problems(403, 404),
)
async def engineer_labour_totals(
    engineer_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, require("tickets:read", "engineers:read")],  # an engineer's day
    date: Annotated[Day, Query(description="The day, e.g. 2026-11-24")],
) -> DayTotals:
    totals, zone = await labour_review.day_totals(session, actor, engineer_id=engineer_id, day=date)
    return DayTotals(
        engineer_id=engineer_id,
        date=date,
        timezone=zone,
        by_kind=totals.by_kind,
        worked_seconds=totals.worked_seconds,
        entries=totals.entries,
    )
