from __future__ import annotations

from fastapi import APIRouter

from server.deps import ActorDep, SessionDep
from server.http import problems
from server.orgs import service
from server.orgs.schemas import OrganisationRead, OrganisationUpdate

router = APIRouter(prefix="/api/v1/organisation", tags=["organisation"])


@router.get(
    "", summary="Your organisation", response_model=OrganisationRead, responses=problems(404)
)
async def read_organisation(session: SessionDep, actor: ActorDep) -> OrganisationRead:
    return OrganisationRead.model_validate(await service.get_own(session, actor))


@router.patch(
    "",
    summary="Rename your organisation or change its time zone",
    response_model=OrganisationRead,
    responses=problems(403, 404),
)
async def update_organisation(
    body: OrganisationUpdate, session: SessionDep, actor: ActorDep
) -> OrganisationRead:
    return OrganisationRead.model_validate(await service.update_own(session, actor, data=body))
