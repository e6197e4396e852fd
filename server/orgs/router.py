from __future__ import annotations

from fastapi import APIRouter, Response

from server.auth.http import ActorDep
from server.deps import SessionDep
from server.http import IfMatch, expected_version, problems, set_etag
from server.orgs import service
from server.orgs.schemas import OrganisationRead, OrganisationUpdate

router = APIRouter(prefix="/api/v1/organisation", tags=["organisation"])


@router.get(
    "", summary="Your organisation", response_model=OrganisationRead, responses=problems(404)
)
async def read_organisation(
    session: SessionDep, actor: ActorDep, response: Response
) -> OrganisationRead:
    org = await service.get_own(session, actor)
    set_etag(response, org.version)
    return OrganisationRead.model_validate(org)


@router.patch(
    "",
    summary="Rename your organisation or change its time zone",
    response_model=OrganisationRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_organisation(
    body: OrganisationUpdate,
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    if_match: IfMatch = None,
) -> OrganisationRead:
    org = await service.update_own(
        session, actor, data=body, expected_version=expected_version(if_match)
    )
    set_etag(response, org.version)
    return OrganisationRead.model_validate(org)
