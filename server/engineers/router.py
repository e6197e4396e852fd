from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.engineers import availability, service
from server.engineers.models import Engineer
from server.engineers.schemas import (
    DayShifts,
    EngineerCreate,
    EngineerRead,
    EngineerUpdate,
    Shift,
    ShiftsRead,
    TimeOffCreate,
    TimeOffRead,
)
from server.http import (
    Cursor,
    IfMatch,
    Limit,
    created,
    created_headers,
    expected_version,
    problems,
    set_etag,
)
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.schemas import Day, Instant, PageOut

router = APIRouter(prefix="/api/v1/engineers", tags=["engineers"])


def _read(actor: Actor, engineer: Engineer) -> EngineerRead:
    out = EngineerRead.model_validate(engineer)
    if not service.sees_home_location(actor, engineer):
        # The labour cost rate is as personal as the home (it is close to a wage).
        out.home_lat = out.home_lon = out.hourly_cost = None
    return out


Reader = Annotated[Actor, require("engineers:read")]
Writer = Annotated[Actor, require("engineers:write")]


@router.post(
    "",
    status_code=201,
    summary="Create an engineer (and their login)",
    response_model=EngineerRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Engineer created",
            read=("read_engineer", "engineer_id"),
            update=("update_engineer", "engineer_id"),
        ),
    },
)
async def create_engineer(
    request: Request,
    body: EngineerCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[EngineerRead, dict[str, str]]:
        out = EngineerRead.model_validate(await service.create(session, actor, data=body))
        return out, created_headers("engineers", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "",
    summary="List engineers",
    response_model=PageOut[EngineerRead],
    responses=problems(400, 403),
)
async def list_engineers(
    session: SessionDep,
    actor: Reader,
    active: bool | None = None,
    skill: Annotated[str | None, Query(max_length=60)] = None,
    territory: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[EngineerRead]:
    page = await service.list_engineers(
        session,
        actor,
        active=active,
        skill=skill,
        territory=territory,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[_read(actor, e) for e in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{engineer_id}",
    summary="Read an engineer",
    response_model=EngineerRead,
    responses=problems(403, 404),
)
async def read_engineer(
    engineer_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> EngineerRead:
    engineer = await service.get(session, actor, engineer_id=engineer_id)
    set_etag(response, engineer.version)
    return _read(actor, engineer)


@router.patch(
    "/{engineer_id}",
    summary="Update an engineer's profile",
    response_model=EngineerRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_engineer(
    engineer_id: uuid.UUID,
    body: EngineerUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> EngineerRead:
    engineer = await service.update(
        session,
        actor,
        engineer_id=engineer_id,
        data=body,
        expected_version=expected_version(if_match),
    )
    set_etag(response, engineer.version)
    return _read(actor, engineer)


# --- availability: time off and shifts -------------------------------------------------------


@router.post(
    "/{engineer_id}/time-off",
    status_code=201,
    summary="Record time off (leave, sick, training) or an extra shift",
    response_model=TimeOffRead,
    responses=problems(400, 403, 404),
)
async def add_time_off(
    request: Request,
    engineer_id: uuid.UUID,
    body: TimeOffCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[TimeOffRead, dict[str, str]]:
        row = await availability.add_time_off(session, actor, engineer_id=engineer_id, data=body)
        return TimeOffRead.model_validate(row), {}

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/{engineer_id}/time-off",
    summary="List an engineer's time off and extra shifts",
    response_model=PageOut[TimeOffRead],
    responses=problems(400, 403, 404),
)
async def list_time_off(
    engineer_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    ends_after: Annotated[
        Instant | None, Query(description="Only what ends after this instant")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[TimeOffRead]:
    page = await availability.list_time_off(
        session, actor, engineer_id=engineer_id, ends_after=ends_after, limit=limit, cursor=cursor
    )
    return PageOut(
        items=[TimeOffRead.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.delete(
    "/{engineer_id}/time-off/{time_off_id}",
    status_code=204,
    summary="Remove time off or an extra shift",
    responses=problems(403, 404),
)
async def remove_time_off(
    engineer_id: uuid.UUID, time_off_id: uuid.UUID, session: SessionDep, actor: Writer
) -> Response:
    await availability.remove_time_off(
        session, actor, engineer_id=engineer_id, time_off_id=time_off_id
    )
    return Response(status_code=204)


@router.get(
    "/{engineer_id}/shifts",
    summary="An engineer's shifts per date (weekly hours with time off applied)",
    description="Dates are read in the organisation's time zone (named in the answer); at "
    f"most {availability.MAX_DAYS} dates.",
    response_model=ShiftsRead,
    responses=problems(400, 403, 404),
)
async def read_shifts(
    engineer_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    first: Annotated[Day, Query(alias="from", description="The first date, e.g. 2026-12-14")],
    last: Annotated[Day, Query(alias="to", description="The last date (inclusive)")],
) -> ShiftsRead:
    found = await availability.shifts_between(
        session, actor, engineer_id=engineer_id, first=first, last=last
    )
    return ShiftsRead(
        engineer_id=found.engineer_id,
        timezone=found.timezone,
        days=[
            DayShifts(date=date, shifts=[Shift(start=s, end=e) for s, e in intervals])
            for date, intervals in found.days
        ],
    )
