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
    etag,
    expected_version,
    problems,
    set_etag,
)
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.schemas import Instant, PageOut
from server.tickets import queries, service
from server.tickets.models import Priority, SlaState, TicketType
from server.tickets.schemas import (
    SortKey,
    TicketCreate,
    TicketEventRead,
    TicketRead,
    TicketUpdate,
    TransitionIn,
    to_read,
)
from shared.lifecycle import Status

router = APIRouter(prefix="/api/v1/tickets", tags=["work orders"])
# The work orders of one asset, beside the asset's own operations.
assets_router = APIRouter(prefix="/api/v1", tags=["customers, sites and assets"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]


@router.post(
    "",
    status_code=201,
    summary="Create a work order",
    response_model=TicketRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Work order created",
            read=("read_ticket", "ticket_id"),
            update=("update_ticket", "ticket_id"),
            transition=("transition_ticket", "ticket_id"),
            events=("ticket_events", "ticket_id"),
        ),
    },
)
async def create_ticket(
    request: Request,
    body: TicketCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[TicketRead, dict[str, str]]:
        ticket = await service.create(session, actor, data=body)
        await session.flush()
        return to_read(ticket), created_headers("tickets", ticket)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "",
    summary="List work orders",
    response_model=PageOut[TicketRead],
    responses=problems(400, 403),
)
async def list_tickets(
    session: SessionDep,
    actor: Reader,
    status: Annotated[list[Status], Query(max_length=10)] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query(max_length=4)] = [],  # noqa: B006
    type: Annotated[list[TicketType], Query(max_length=5)] = [],  # noqa: B006
    sla_state: Annotated[list[SlaState], Query(max_length=5)] = [],  # noqa: B006
    assignee_id: uuid.UUID | None = None,
    unassigned: bool | None = None,
    customer_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    created_from: Annotated[Instant | None, Query(description="created on/after")] = None,
    created_to: Annotated[Instant | None, Query(description="created before")] = None,
    due_from: Annotated[Instant | None, Query(description="resolution due on/after")] = None,
    due_to: Annotated[Instant | None, Query(description="resolution due before")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in number/title/description")
    ] = None,
    sort: SortKey = "-created_at",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[TicketRead]:
    filters = queries.TicketFilter(
        status=[s.value for s in status],
        priority=[p.value for p in priority],
        type=[t.value for t in type],
        sla_state=[s.value for s in sla_state],
        assignee_id=assignee_id,
        unassigned=unassigned,
        customer_id=customer_id,
        site_id=site_id,
        asset_id=asset_id,
        created_from=created_from,
        created_to=created_to,
        due_from=due_from,
        due_to=due_to,
        q=q,
    )
    page = await queries.list_tickets(
        session, actor, filters=filters, sort=sort, limit=limit, cursor=cursor
    )
    return PageOut(items=[to_read(t) for t in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{ticket_id}",
    summary="Read a work order",
    response_model=TicketRead,
    responses=problems(403, 404),
)
async def read_ticket(
    ticket_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> TicketRead:
    ticket = await service.get(session, actor, ticket_id=ticket_id)
    set_etag(response, ticket.version)
    return to_read(ticket)


@router.patch(
    "/{ticket_id}",
    summary="Update a work order's fields",
    description="Send only the fields that change, with If-Match from your last read. "
    "Status and assignee change through transitions.",
    response_model=TicketRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_ticket(
    ticket_id: uuid.UUID,
    body: TicketUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> TicketRead:
    version = expected_version(if_match)
    ticket = await service.update(
        session, actor, ticket_id=ticket_id, data=body, expected_version=version
    )
    set_etag(response, ticket.version)
    return to_read(ticket)


@router.post(
    "/{ticket_id}/transitions",
    summary="Move a work order through its lifecycle",
    description="Actions: assign (with engineer_id), unassign, accept, reject, start_travel, "
    "arrive, hold, resume, resolve, reopen, close, cancel. A transition not allowed from the "
    "current status answers 409 with `allowed_actions`.",
    response_model=TicketRead,
    responses=problems(400, 403, 404, 409, 412),
)
async def transition_ticket(
    request: Request,
    ticket_id: uuid.UUID,
    body: TransitionIn,
    session: SessionDep,
    actor: Writer,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    version = expected_version(if_match, required=False)

    async def produce() -> tuple[TicketRead, dict[str, str]]:
        ticket = await service.apply_transition(
            session, actor, ticket_id=ticket_id, data=body, expected_version=version
        )
        await session.flush()
        return to_read(ticket), {"ETag": etag(ticket.version)}

    return await idempotent_create(
        request,
        session,
        actor,
        key=idempotency_key,
        body=body,
        produce=produce,
        status_code=200,
    )


@router.get(
    "/{ticket_id}/events",
    summary="A work order's audit trail",
    response_model=list[TicketEventRead],
    responses=problems(403, 404),
)
async def ticket_events(
    ticket_id: uuid.UUID, session: SessionDep, actor: Reader
) -> list[TicketEventRead]:
    events = await service.list_events(session, actor, ticket_id=ticket_id)
    return [TicketEventRead.model_validate(e) for e in events]


@assets_router.get(
    "/assets/{asset_id}/history",
    summary="Equipment service history (its latest 500 work orders, newest first)",
    description="Needs the scopes customers:read and tickets:read. Engineers see finished "
    "work orders and their own open ones.",
    response_model=list[TicketRead],
    responses=problems(403, 404),
)
async def asset_history(
    asset_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, require("customers:read", "tickets:read")],
) -> list[TicketRead]:
    return [to_read(t) for t in await service.asset_history(session, actor, asset_id=asset_id)]
