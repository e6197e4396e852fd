from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.dispatch.plans import service
from server.dispatch.plans.schemas import (
    PlanComparison,
    PlanCreate,
    PlanList,
    PlanRead,
)
from server.http import (
    AsciiDigits,
    IfMatch,
    created,
    created_headers,
    expected_version,
    problems,
    set_etag,
)
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.schemas import Day, Territory

router = APIRouter(prefix="/api/v1/dispatch/plans", tags=["dispatch"])

# A plan names engineers (routes, engineers skipped): reading one needs engineers:read too.
Reader = Annotated[Actor, require("tickets:read", "engineers:read")]
Writer = Annotated[Actor, require("tickets:write")]
Applier = Annotated[Actor, require("tickets:write", "engineers:read")]
Lang = Annotated[
    Literal["en", "zh_CN"] | None,
    Query(description="Language of the reasons' words (default: the caller's language)"),
]


@router.post(
    "",
    status_code=201,
    summary="Ask for a day plan (solved by the worker: poll it until ready or failed)",
    response_model=PlanRead,
    responses={
        **problems(400, 403, 429),
        **created(
            "Plan queued",
            read=("read_day_plan", "plan_id"),
            compare=("compare_day_plan", "plan_id"),
        ),
    },
)
async def create_day_plan(
    request: Request,
    body: PlanCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[PlanRead, dict[str, str]]:
        out = PlanRead.model_validate(await service.create(session, actor, data=body))
        return out, created_headers("dispatch/plans", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "",
    summary="List day plans, newest first",
    response_model=PlanList,
    responses=problems(403),
)
async def list_day_plans(
    session: SessionDep,
    actor: Reader,
    date: Annotated[Day | None, Query()] = None,
    territory: Annotated[Territory | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST), AsciiDigits] = 20,
    lang: Lang = None,
) -> PlanList:
    plans = await service.list_plans(session, actor, date=date, territory=territory, limit=limit)
    return PlanList(items=await service.read_in(session, actor, list(plans), lang))


@router.get(
    "/{plan_id}",
    summary="Read a day plan (its status, and its result once ready)",
    response_model=PlanRead,
    responses=problems(403, 404),
)
async def read_day_plan(
    plan_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response, lang: Lang = None
) -> PlanRead:
    plan = await service.get(session, actor, plan_id=plan_id)
    set_etag(response, plan.version)
    (read,) = await service.read_in(session, actor, [plan], lang)
    return read


@router.get(
    "/{plan_id}/compare",
    summary="The current schedule against the plan",
    response_model=PlanComparison,
    responses=problems(403, 404, 409),
)
async def compare_day_plan(
    plan_id: uuid.UUID, session: SessionDep, actor: Reader
) -> dict[str, Any]:
    return await service.compare(session, actor, plan_id=plan_id)


@router.post(
    "/{plan_id}/apply",
    summary="Apply a ready plan: assign and schedule its work orders",
    response_model=PlanRead,
    responses=problems(400, 403, 404, 409, 412, 428),
)
async def apply_day_plan(
    plan_id: uuid.UUID,
    session: SessionDep,
    actor: Applier,
    response: Response,
    if_match: IfMatch = None,
) -> PlanRead:
    plan = await service.apply(
        session, actor, plan_id=plan_id, expected_version=expected_version(if_match)
    )
    set_etag(response, plan.version)
    return PlanRead.model_validate(plan)
