"""Checklist templates (SOPs) and a work order's checklist: items, answers, what is missing."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.field.checklists import guard as checklist_guard
from server.field.checklists import service as checklists
from server.field.schemas import (
    AnswerCreate,
    AnswerRead,
    ChecklistItemView,
    ChecklistTemplateView,
    ChecklistView,
    ItemRead,
    MissingItem,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from server.http import (
    Cursor,
    IfMatch,
    Limit,
    created,
    created_headers,
    created_links,
    expected_version,
    problems,
    set_etag,
)
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.schemas import PageOut
from server.tickets import TicketType

router = APIRouter(prefix="/api/v1", tags=["checklists"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]
TEMPLATES = "/checklist-templates"


def template_read(view: checklists.TemplateView) -> TemplateRead:
    t = view.template
    return TemplateRead(
        id=t.id,
        name=t.name,
        ticket_type=TicketType(t.ticket_type) if t.ticket_type else None,
        product_model=t.product_model,
        active=t.active,
        version=t.version,
        items=[ItemRead.model_validate(i) for i in view.items],
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


def checklist_read(found: checklist_guard.Checklist) -> ChecklistView:
    templates = []
    for template, items in found.templates:
        views = []
        for item in items:
            answer = found.answers.get(item.id)
            views.append(
                ChecklistItemView.model_validate(
                    {
                        **ItemRead.model_validate(item).model_dump(),
                        "answer": AnswerRead.model_validate(answer) if answer else None,
                    }
                )
            )
        templates.append(ChecklistTemplateView(id=template.id, name=template.name, items=views))
    missing = [MissingItem.model_validate(m) for m in found.missing]
    return ChecklistView(templates=templates, missing=missing, complete=not missing)


# --- templates -------------------------------------------------------------------------------


@router.post(
    TEMPLATES,
    status_code=201,
    summary="Create a checklist template (admins, dispatchers)",
    response_model=TemplateRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Template created",
            read=("read_checklist_template", "template_id"),
            update=("update_checklist_template", "template_id"),
        ),
    },
)
async def create_checklist_template(
    request: Request,
    body: TemplateCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[TemplateRead, dict[str, str]]:
        view = await checklists.create_template(session, actor, data=body)
        out = template_read(view)
        return out, created_headers(TEMPLATES.lstrip("/"), out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    TEMPLATES,
    summary="List checklist templates",
    response_model=PageOut[TemplateRead],
    responses=problems(400, 403),
)
async def list_checklist_templates(
    session: SessionDep,
    actor: Reader,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[TemplateRead]:
    views, next_cursor = await checklists.list_templates(
        session, actor, active=active, limit=limit, cursor=cursor
    )
    return PageOut(items=[template_read(v) for v in views], next_cursor=next_cursor)


@router.get(
    f"{TEMPLATES}/{{template_id}}",
    summary="Read a checklist template",
    response_model=TemplateRead,
    responses=problems(403, 404),
)
async def read_checklist_template(
    template_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> TemplateRead:
    view = await checklists.get_template(session, actor, template_id=template_id)
    set_etag(response, view.template.version)
    return template_read(view)


@router.patch(
    f"{TEMPLATES}/{{template_id}}",
    summary="Change a checklist template (send If-Match)",
    description="`items` replaces the item list: items sent with their `id` are kept, items "
    "without one are added, current items left out are retired (their answers stay).",
    response_model=TemplateRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_checklist_template(
    template_id: uuid.UUID,
    body: TemplateUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateRead:
    view = await checklists.update_template(
        session,
        actor,
        template_id=template_id,
        data=body,
        expected_version=expected_version(if_match),
    )
    set_etag(response, view.template.version)
    return template_read(view)


# --- a work order's checklist ------------------------------------------------------------------


@router.get(
    "/tickets/{ticket_id}/checklist",
    summary="A work order's checklist: items, current answers, what is missing",
    response_model=ChecklistView,
    responses=problems(403, 404),
)
async def work_order_checklist(
    ticket_id: uuid.UUID, session: SessionDep, actor: Reader
) -> ChecklistView:
    found = await checklists.for_work_order(session, actor, ticket_id=ticket_id)
    return checklist_read(found)


@router.get(
    "/tickets/{ticket_id}/checklist/answers",
    summary="Every checklist answer on a work order, in the order received",
    response_model=list[AnswerRead],
    responses=problems(403, 404),
)
async def list_checklist_answers(
    ticket_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    visit_id: Annotated[uuid.UUID | None, Query(description="Only this visit's")] = None,
) -> list[AnswerRead]:
    answers = await checklists.list_answers(session, actor, ticket_id=ticket_id, visit_id=visit_id)
    return [AnswerRead.model_validate(a) for a in answers]


@router.post(
    "/tickets/{ticket_id}/checklist/answers",
    status_code=201,
    summary="Answer a checklist item during a visit",
    description="The value is checked against the item (422 naming what it takes). "
    "Answering again adds an answer; the last one received is the item's answer.",
    response_model=AnswerRead,
    responses={
        **problems(400, 403, 404, 409),
        **created_links("Answer recorded", work_order_checklist={"ticket_id": "ticket_id"}),
    },
)
async def answer_checklist_item(
    request: Request,
    ticket_id: uuid.UUID,
    body: AnswerCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[AnswerRead, dict[str, str]]:
        answer = await checklists.answer(
            session,
            actor,
            ticket_id=ticket_id,
            visit_id=body.visit_id,
            item_id=body.item_id,
            answer_id=body.answer_id,
            value=body.value,
            device_time=body.device_time,
        )
        return AnswerRead.model_validate(answer), {}

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )
