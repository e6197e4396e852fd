from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.customers.service_sites import service
from server.customers.service_sites.schemas import (
    ServiceSiteCreate,
    ServiceSiteRead,
    ServiceSiteUpdate,
    SiteKind,
)
from server.deps import SessionDep
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

router = APIRouter(prefix="/api/v1/service-sites", tags=["service sites"])
Reader = Annotated[Actor, require("customers:read")]
Writer = Annotated[Actor, require("customers:write")]


@router.post(
    "",
    status_code=201,
    summary="Create a service site (depot, service centre, partner workshop)",
    response_model=ServiceSiteRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Service site created",
            read=("read_service_site", "site_id"),
            update=("update_service_site", "site_id"),
        ),
    },
)
async def create_service_site(
    request: Request,
    body: ServiceSiteCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[ServiceSiteRead, dict[str, str]]:
        out = ServiceSiteRead.model_validate(await service.create(session, actor, data=body))
        return out, created_headers("service-sites", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "",
    summary="List service sites",
    response_model=PageOut[ServiceSiteRead],
    responses=problems(400, 403),
)
async def list_service_sites(
    session: SessionDep,
    actor: Reader,
    active: bool | None = None,
    kind: SiteKind | None = None,
    territory: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[ServiceSiteRead]:
    page = await service.list_sites(
        session,
        actor,
        active=active,
        kind=kind,
        territory=territory,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[ServiceSiteRead.model_validate(s) for s in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/{site_id}",
    summary="Read a service site",
    response_model=ServiceSiteRead,
    responses=problems(403, 404),
)
async def read_service_site(
    site_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> ServiceSiteRead:
    site = await service.get(session, actor, site_id=site_id)
    set_etag(response, site.version)
    return ServiceSiteRead.model_validate(site)


@router.patch(
    "/{site_id}",
    summary="Update or deactivate a service site",
    response_model=ServiceSiteRead,
    responses=problems(400, 403, 404, 409, 412, 428),
)
async def update_service_site(
    site_id: uuid.UUID,
    body: ServiceSiteUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> ServiceSiteRead:
    site = await service.update(
        session, actor, site_id=site_id, data=body, expected_version=expected_version(if_match)
    )
    set_etag(response, site.version)
    return ServiceSiteRead.model_validate(site)


@router.delete(
    "/{site_id}",
    status_code=204,
    summary="Delete a service site that nothing names (else deactivate it)",
    description="409 while engineers start or end there or work orders name it: deactivate it "
    'with `PATCH {"active": false}` instead. `If-Match` is optional: with it, the site is '
    "deleted only if unchanged since that read (412 otherwise).",
    responses=problems(400, 403, 404, 409, 412),
)
async def delete_service_site(
    site_id: uuid.UUID, session: SessionDep, actor: Writer, if_match: IfMatch = None
) -> Response:
    version = expected_version(if_match, required=False)
    await service.remove(session, actor, site_id=site_id, expected_version=version)
    return Response(status_code=204)
