"""Visits: check in on site, check out, read a work order's visits. Every create takes the
caller's own id for the record (the same id twice creates once) and an optional
Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.field.schemas import (
    CheckInCreate,
    CheckOutIn,
    CheckRead,
    VisitRead,
)
from server.field.visits import service as visits
from server.http import created_links, problems
from server.idempotency.http import IdempotencyKey, idempotent_create

router = APIRouter(prefix="/api/v1", tags=["field work"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]
WO = "/tickets/{ticket_id}"


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
            ticket_id=ticket_id,
            visit_id=body.visit_id,
            device_time=body.device_time,
            gps=body.gps,
        )
        return visit_read(record), {
            "Location": f"/api/v1/tickets/{ticket_id}/visits/{record.visit.id}"
        }

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    f"{WO}/visits",
    summary="A work order's visits, first first",
    response_model=list[VisitRead],
    responses=problems(403, 404),
)
async def list_visits(ticket_id: uuid.UUID, session: SessionDep, actor: Reader) -> list[VisitRead]:
    records = await visits.list_visits(session, actor, ticket_id=ticket_id)
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
    record = await visits.get_visit(session, actor, visit_id=visit_id, ticket_id=ticket_id)
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
            ticket_id=ticket_id,
            device_time=body.device_time,
            gps=body.gps,
        )
        return visit_read(record), {}

    return await idempotent_create(
        request,
        session,
        actor,
        key=idempotency_key,
        body=body,
        produce=produce,
        status_code=200,
    )
