from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.dispatch.claims import service
from server.dispatch.claims.schemas import ClaimableRead, claimable
from server.http import etag, problems, set_etag
from server.idempotency.http import IdempotencyKey, idempotent
from server.tickets import TicketRead, to_read

router = APIRouter(prefix="/api/v1", tags=["dispatch"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]


@router.post(
    "/tickets/{ticket_id}/open-for-claim",
    summary="Open a new work order for engineers to claim",
    description="Admins, dispatchers and integration keys. Only a `new` work order (409 "
    "`ticket_not_new`). Qualified engineers then see it in `GET /claims`. Opening an open one "
    "changes nothing.",
    response_model=TicketRead,
    responses=problems(403, 404, 409),
)
async def open_for_claim(
    ticket_id: uuid.UUID, response: Response, session: SessionDep, actor: Writer
) -> TicketRead:
    ticket = await service.open_for_claim(session, actor, ticket_id=ticket_id)
    set_etag(response, ticket.version)
    return to_read(ticket)


@router.delete(
    "/tickets/{ticket_id}/open-for-claim",
    summary="Take a work order out of the claim pool",
    description="Admins, dispatchers and integration keys. Closing a closed one changes nothing.",
    response_model=TicketRead,
    responses=problems(403, 404, 409),
)
async def close_claim(
    ticket_id: uuid.UUID, response: Response, session: SessionDep, actor: Writer
) -> TicketRead:
    ticket = await service.close_claim(session, actor, ticket_id=ticket_id)
    set_etag(response, ticket.version)
    return to_read(ticket)


@router.get(
    "/claims",
    summary="The claim pool: open work orders the calling engineer qualifies for",
    description="Engineers only. Qualifies: every required skill at its level, the same "
    "territory (or either has none), a shift on the job's date with room for another job, "
    "not declined before, a start point for the engineer's day and a location for the work "
    f"order (docs/dispatch.md, 'One rule, three engines'). The most urgent first, at most "
    f"{service.POOL_LIMIT}.",
    response_model=list[ClaimableRead],
    responses=problems(403, 404, 409),
)
async def list_claims(session: SessionDep, actor: Reader) -> list[ClaimableRead]:
    return [claimable(job) for job in await service.pool(session, actor)]


@router.post(
    "/tickets/{ticket_id}/claim",
    summary="Claim a work order from the pool",
    description="Engineers only. Exactly one of concurrent claimers wins: the work order is "
    "assigned to and accepted by them, and pinned. The others get 409 `already_claimed`; "
    "a work order not open for claim 409 `not_open_for_claim`; an engineer who does not "
    "qualify 409 `not_eligible` with `reasons` (codes) and `explanations` (each code with "
    "its `text` in the caller's language). Idempotency-Key makes a retry safe.",
    response_model=TicketRead,
    responses=problems(400, 403, 404, 409),
)
async def claim(
    request: Request,
    ticket_id: uuid.UUID,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[TicketRead, dict[str, str]]:
        ticket = await service.claim(session, actor, ticket_id=ticket_id)
        await session.flush()
        return to_read(ticket), {"ETag": etag(ticket.version)}

    return await idempotent(request, session, actor, key=idempotency_key, body={}, produce=produce)
