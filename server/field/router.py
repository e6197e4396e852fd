"""Field work on a work order: visits and labour. Notes, parts used, the resolution and the
summary are in work_router.py, checklists in checklist_router.py. Every create takes the
caller's own id for the record (the same id twice creates once) and an optional
Idempotency-Key."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.deps import SessionDep, require
from server.field import labour, labour_review, visits
from server.field.models import LabourEntry
from server.field.schemas import (
    ApprovalIn,
    CheckInCreate,
    CheckOutIn,
    CheckRead,
    DayTotals,
    LabourAdjustCreate,
    LabourCreate,
    LabourEntryRead,
    LabourSheet,
    LabourTotals,
    LabourVoidCreate,
    LabourVoidRead,
    VisitRead,
)
from server.http import problems
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.schemas import Day

router = APIRouter(prefix="/api/v1", tags=["field work"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]
WO = "/tickets/{ticket_id}"


def created_links(
    description: str, **operations: dict[str, str]
) -> dict[int | str, dict[str, Any]]:
    """A 201 response with OpenAPI links: operation -> {path parameter: response field}."""
    return {
        201: {
            "description": description,
            "links": {
                operation: {
                    "operationId": operation,
                    "parameters": {p: f"$response.body#/{f}" for p, f in params.items()},
                }
                for operation, params in operations.items()
            },
        }
    }


def visit_read(record: visits.VisitRecord) -> VisitRead:
    v = record.visit
    return VisitRead(
        id=v.id,
        ticket_id=v.ticket_id,
        engineer_id=v.engineer_id,
        number=v.number,
        check_in=CheckRead.model_validate(record.check_in),
        check_out=CheckRead.model_validate(record.check_out) if record.check_out else None,
        created_by=v.created_by,
        received_at=v.received_at,
    )


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


def totals_read(totals: labour.Totals) -> LabourTotals:
    return LabourTotals(
        by_kind=totals.by_kind,
        worked_seconds=totals.worked_seconds,
        entries=totals.entries,
        unapproved=totals.unapproved,
    )


async def _one_entry(session: AsyncSession, entry: LabourEntry) -> LabourEntryRead:
    (state,) = await labour.states(session, [entry])
    return entry_read(state)


async def create_response(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    key: str | None,
    body: BaseModel,
    produce: Callable[[], Awaitable[tuple[BaseModel, dict[str, str]]]],
    status_code: int = 201,
) -> JSONResponse:
    return await idempotent_create(
        request,
        session,
        actor,
        key=key,
        body=body,
        produce=produce,
        status_code=status_code,
    )


# --- visits --------------------------------------------------------------------------------


@router.post(
    f"{WO}/visits",
    status_code=201,
    summary="Check in: start a visit on site",
    description="Creates the visit (your `visit_id`). Allowed while the work order is "
    "accepted or travelling (it becomes on_site: `arrive`), on_hold (`resume`) or on_site; "
    "otherwise 409 `check_in_not_allowed`, and 409 `visit_open` while another visit is open. "
    "The GPS fix is compared with the site (`far_from_site`), the device time with the "
    "server's (`clock_skew`): flags, never refusals.",
    response_model=VisitRead,
    responses={
        **problems(400, 403, 404, 409),
        **created_links("Visit started", read_visit={"visit_id": "id", "ticket_id": "ticket_id"}),
    },
)
async def check_in(
    request: Request,
    ticket_id: uuid.UUID,
    body: CheckInCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[VisitRead, dict[str, str]]:
        record = await visits.check_in(
            session,
            actor,
            work_order_id=ticket_id,
            visit_id=body.visit_id,
            device_time=body.device_time,
            gps=body.gps,
        )
        return visit_read(record), {
            "Location": f"/api/v1/tickets/{ticket_id}/visits/{record.visit.id}"
        }

    return await create_response(request, session, actor, idempotency_key, body, produce)


@router.get(
    f"{WO}/visits",
    summary="A work order's visits, first first",
    response_model=list[VisitRead],
    responses=problems(403, 404),
)
async def list_visits(ticket_id: uuid.UUID, session: SessionDep, actor: Reader) -> list[VisitRead]:
    records = await visits.list_visits(session, actor, work_order_id=ticket_id)
    return [visit_read(r) for r in records]


@router.get(
    f"{WO}/visits/{{visit_id}}",
    summary="Read a visit",
    response_model=VisitRead,
    responses=problems(403, 404),
)
async def read_visit(
    ticket_id: uuid.UUID, visit_id: uuid.UUID, session: SessionDep, actor: Reader
) -> VisitRead:
    record = await visits.get_visit(session, actor, visit_id=visit_id, work_order_id=ticket_id)
    return visit_read(record)


@router.post(
    f"{WO}/visits/{{visit_id}}/check-out",
    summary="Check out: end a visit",
    description="Once per visit, in any status; sending the same check-out again answers it, "
    "a different one is 409 `client_id_reused`.",
    response_model=VisitRead,
    responses=problems(400, 403, 404, 409),
)
async def check_out(
    request: Request,
    ticket_id: uuid.UUID,
    visit_id: uuid.UUID,
    body: CheckOutIn,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[VisitRead, dict[str, str]]:
        record = await visits.check_out(
            session,
            actor,
            visit_id=visit_id,
            work_order_id=ticket_id,
            device_time=body.device_time,
            gps=body.gps,
        )
        return visit_read(record), {}

    return await create_response(request, session, actor, idempotency_key, body, produce, 200)


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
            work_order_id=ticket_id,
            entry_id=body.entry_id,
            kind=body.kind,
            started_at=body.started_at,
            ended_at=body.ended_at,
            visit_id=body.visit_id,
            note=body.note,
            engineer_id=body.engineer_id,
        )
        return await _one_entry(session, entry), {}

    return await create_response(request, session, actor, idempotency_key, body, produce)


@router.get(
    f"{WO}/labour",
    summary="A work order's labour: entries, voids and totals",
    response_model=LabourSheet,
    responses=problems(403, 404),
)
async def labour_sheet(ticket_id: uuid.UUID, session: SessionDep, actor: Reader) -> LabourSheet:
    entries, voids = await labour_review.sheet(session, actor, work_order_id=ticket_id)
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
            work_order_id=ticket_id,
        )
        return LabourVoidRead.model_validate(void), {}

    return await create_response(request, session, actor, idempotency_key, body, produce)


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
            work_order_id=ticket_id,
        )
        return await _one_entry(session, entry), {}

    return await create_response(request, session, actor, idempotency_key, body, produce)


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
        session, actor, entry_ids=body.entry_ids, work_order_id=body.ticket_id
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
