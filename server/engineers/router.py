from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.engineers import service
from server.engineers.models import Engineer
from server.engineers.schemas import EngineerCreate, EngineerRead, EngineerUpdate
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
from server.schemas import PageOut

router = APIRouter(prefix="/api/v1/engineers", tags=["engineers"])


def _read(actor: Actor, engineer: Engineer) -> EngineerRead:
    out = EngineerRead.model_validate(engineer)
    if not service.sees_home_location(actor, engineer):
        out.home_lat = out.home_lon = None
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
