from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.dispatch.rules import service
from server.dispatch.rules.schemas import RuleRead, RuleUpdate
from server.http import IfMatch, IfNoneMatch, problems, put_precondition, set_etag
from server.tickets import Priority

router = APIRouter(prefix="/api/v1/dispatch/auto-assign", tags=["dispatch"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]


@router.get(
    "",
    summary="Auto-assign rules per priority (a priority without one is not auto-assigned)",
    response_model=list[RuleRead],
    responses=problems(403),
)
async def list_rules(session: SessionDep, actor: Reader) -> list[RuleRead]:
    return [RuleRead.model_validate(r) for r in await service.list_rules(session, actor)]


@router.get(
    "/{priority}",
    summary="The auto-assign rule of a priority",
    response_model=RuleRead,
    responses=problems(403, 404),
)
async def read_rule(
    priority: Priority, session: SessionDep, actor: Reader, response: Response
) -> RuleRead:
    rule = await service.get_rule(session, actor, priority=priority)
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)


@router.put(
    "/{priority}",
    summary="Set the auto-assign rule of a priority",
    description="Create with `If-None-Match: *` (412 if the priority has a rule already), "
    "replace with `If-Match` and the ETag read (412 if it changed since, or if there is "
    "none); neither: 428. Admins and dispatchers only.",
    response_model=RuleRead,
    responses=problems(400, 403, 412, 428),
)
async def set_rule(
    priority: Priority,
    body: RuleUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> RuleRead:
    rule = await service.set_rule(
        session,
        actor,
        priority=priority,
        enabled=body.enabled,
        fallback_to_pool=body.fallback_to_pool,
        expected_version=put_precondition(if_match, if_none_match),
    )
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)
