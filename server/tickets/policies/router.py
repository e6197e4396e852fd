from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import IfMatch, created_headers, expected_version, problems, set_etag
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.tickets.policies import service as policies
from server.tickets.policies.schemas import (
    CalendarCreate,
    CalendarRead,
    CalendarUpdate,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["SLA policies and calendars"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]


@router.get(
    "/business-calendars",
    summary="List business-hours calendars",
    response_model=list[CalendarRead],
    responses=problems(403),
)
async def list_calendars(session: SessionDep, actor: Reader) -> list[CalendarRead]:
    return [CalendarRead.model_validate(c) for c in await policies.list_calendars(session, actor)]


@router.post(
    "/business-calendars",
    status_code=201,
    summary="Create a business-hours calendar (working days, hours, holidays, time zone)",
    response_model=CalendarRead,
    responses=problems(400, 403, 409),
)
async def create_calendar(
    request: Request,
    body: CalendarCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[CalendarRead, dict[str, str]]:
        row = await policies.create_calendar(session, actor, data=body)
        return CalendarRead.model_validate(row), created_headers("business-calendars", row)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/business-calendars/{calendar_id}",
    summary="Read a business-hours calendar",
    response_model=CalendarRead,
    responses=problems(403, 404),
)
async def read_calendar(
    calendar_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> CalendarRead:
    row = await policies.get_calendar(session, actor, calendar_id=calendar_id)
    set_etag(response, row.version)
    return CalendarRead.model_validate(row)


@router.patch(
    "/business-calendars/{calendar_id}",
    summary="Update a calendar (applies to deadlines computed afterwards)",
    response_model=CalendarRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_calendar(
    calendar_id: uuid.UUID,
    body: CalendarUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> CalendarRead:
    row = await policies.update_calendar(
        session,
        actor,
        calendar_id=calendar_id,
        data=body,
        expected_version=expected_version(if_match),
    )
    set_etag(response, row.version)
    return CalendarRead.model_validate(row)


@router.get(
    "/sla-policies",
    summary="List SLA policies (organisation defaults and customer overrides)",
    response_model=list[PolicyRead],
    responses=problems(403),
)
async def list_policies(
    session: SessionDep, actor: Reader, customer_id: uuid.UUID | None = None
) -> list[PolicyRead]:
    rows = await policies.list_policies(session, actor, customer_id=customer_id)
    return [PolicyRead.model_validate(p) for p in rows]


@router.post(
    "/sla-policies",
    status_code=201,
    summary="Create an SLA policy for a priority (optionally for one customer)",
    response_model=PolicyRead,
    responses=problems(400, 403, 409),
)
async def create_policy(
    request: Request,
    body: PolicyCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[PolicyRead, dict[str, str]]:
        row = await policies.create_policy(session, actor, data=body)
        return PolicyRead.model_validate(row), created_headers("sla-policies", row)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/sla-policies/{policy_id}",
    summary="Read an SLA policy",
    response_model=PolicyRead,
    responses=problems(403, 404),
)
async def read_policy(
    policy_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> PolicyRead:
    row = await policies.get_policy(session, actor, policy_id=policy_id)
    set_etag(response, row.version)
    return PolicyRead.model_validate(row)


@router.patch(
    "/sla-policies/{policy_id}",
    summary="Change an SLA policy's targets or calendar",
    response_model=PolicyRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_policy(
    policy_id: uuid.UUID,
    body: PolicyUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> PolicyRead:
    row = await policies.update_policy(
        session, actor, policy_id=policy_id, data=body, expected_version=expected_version(if_match)
    )
    set_etag(response, row.version)
    return PolicyRead.model_validate(row)


@router.delete(
    "/sla-policies/{policy_id}",
    status_code=204,
    summary="Delete an SLA policy (existing deadlines stay)",
    description="`If-Match` is optional: with it, the policy is deleted only if unchanged "
    "since that read (412 otherwise).",
    responses=problems(400, 403, 404, 409, 412),
)
async def delete_policy(
    policy_id: uuid.UUID, session: SessionDep, actor: Writer, if_match: IfMatch = None
) -> Response:
    version = expected_version(if_match, required=False)
    await policies.delete_policy(session, actor, policy_id=policy_id, expected_version=version)
    return Response(status_code=204)
