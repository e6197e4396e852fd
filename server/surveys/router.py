"""The surveys API: templates, responses, scores, and a work order's survey."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
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
from server.schemas import Instant, PageOut
from server.surveys import results, templates
from server.surveys.schemas import (
    GroupBy,
    InvitationRead,
    ResponseRead,
    ScoresRead,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
    TicketSurveyRead,
)

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"])
tickets_router = APIRouter(prefix="/api/v1/tickets", tags=["surveys"])
Reader = Annotated[Actor, require("surveys:read")]
Writer = Annotated[Actor, require("surveys:write")]
TicketReader = Annotated[Actor, require("tickets:read", "surveys:read")]
From = Annotated[
    Instant | None,
    Query(alias="from", description="Submitted at or after, ISO 8601 with an offset"),
]
To = Annotated[Instant | None, Query(alias="to", description="Submitted before")]
READERS = (
    " Admins, dispatchers, agents, viewers and keys with surveys:read; an engineer: their own."
)


@router.post(
    "/templates",
    status_code=201,
    summary="Create a survey template (admins)",
    response_model=TemplateRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Survey template created",
            read=("read_survey_template", "template_id"),
            update=("update_survey_template", "template_id"),
        ),
    },
)
async def create_survey_template(
    request: Request,
    body: TemplateCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[TemplateRead, dict[str, str]]:
        out = TemplateRead.model_validate(await templates.create(session, actor, data=body))
        return out, created_headers("surveys/templates", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/templates",
    summary="List survey templates (admins, dispatchers)",
    response_model=list[TemplateRead],
    responses=problems(403),
)
async def list_survey_templates(
    session: SessionDep, actor: Reader, active: bool | None = None
) -> list[TemplateRead]:
    rows = await templates.list_templates(session, actor, active=active)
    return [TemplateRead.model_validate(t) for t in rows]


@router.get(
    "/templates/{template_id}",
    summary="Read a survey template (admins, dispatchers)",
    response_model=TemplateRead,
    responses=problems(403, 404),
)
async def read_survey_template(
    template_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> TemplateRead:
    template = await templates.get(session, actor, template_id=template_id)
    set_etag(response, template.version)
    return TemplateRead.model_validate(template)


@router.patch(
    "/templates/{template_id}",
    summary="Change a survey template (admins)",
    description="`active: false` stops new invitations with it; sent ones stay open.",
    response_model=TemplateRead,
    responses=problems(400, 403, 404, 409, 412, 428),
)
async def update_survey_template(
    template_id: uuid.UUID,
    body: TemplateUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateRead:
    template = await templates.update_template(
        session,
        actor,
        template_id=template_id,
        data=body,
        expected_version=expected_version(if_match),
    )
    set_etag(response, template.version)
    return TemplateRead.model_validate(template)


@router.get(
    "/responses",
    summary="List survey responses, oldest first",
    description="Filters combine." + READERS,
    response_model=PageOut[ResponseRead],
    responses=problems(400, 403),
)
async def list_survey_responses(
    session: SessionDep,
    actor: Reader,
    engineer_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    product_model: Annotated[str | None, Query(max_length=120)] = None,
    since: From = None,
    until: To = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[ResponseRead]:
    page = await results.list_responses(
        session,
        actor,
        engineer_id=engineer_id,
        customer_id=customer_id,
        product_model=product_model,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    items = [ResponseRead.model_validate(r) for r in page.items]
    return PageOut(items=items, next_cursor=page.next_cursor)


@router.get(
    "/scores",
    summary="CSAT, NPS and CES per engineer, customer, product model or month",
    description="CSAT mean and % satisfied (4-5), NPS (% promoters 9-10 minus % detractors "
    "0-6), CES mean, per group; months in the organisation's time zone." + READERS,
    response_model=ScoresRead,
    responses=problems(400, 403),
)
async def survey_scores(
    session: SessionDep,
    actor: Reader,
    group_by: GroupBy = "engineer",
    since: From = None,
    until: To = None,
) -> ScoresRead:
    zone, rows = await results.scores(session, actor, group_by=group_by, since=since, until=until)
    return ScoresRead(group_by=group_by, timezone=zone, groups=rows)


@tickets_router.get(
    "/{ticket_id}/survey",
    summary="A work order's survey: its invitation and response",
    response_model=TicketSurveyRead,
    responses=problems(403, 404),
)
async def read_ticket_survey(
    ticket_id: uuid.UUID, session: SessionDep, actor: TicketReader
) -> TicketSurveyRead:
    invitation, answer = await results.of_ticket(session, actor, ticket_id=ticket_id)
    return TicketSurveyRead(
        invitation=InvitationRead.model_validate(invitation) if invitation else None,
        response=ResponseRead.model_validate(answer) if answer else None,
    )
