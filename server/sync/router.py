"""The sync API (docs/sync.md): installations, push, pull, the field-conflict flags and the
rejected mutations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import ActorDep, require
from server.deps import SessionDep
from server.errors import Unprocessable
from server.http import AsciiDigits, Cursor, Limit, last_key_wins, problems
from server.idempotency.http import IdempotencyKey, idempotent
from server.schemas import Instant, PageOut
from server.sync import clients, flags, pull, push, rejected
from server.sync.models import FlagStatus, SyncFlag
from server.sync.schemas import (
    ClientIn,
    ClientOut,
    FlagClose,
    FlagRead,
    PullOut,
    PushOut,
    RejectedRead,
)
from shared.sync import DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT, ProtocolError, parse_push_lenient
from shared.times import InstantError, parse_instant

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])
Writer = Annotated[Actor, require("tickets:write")]
Reader = Annotated[Actor, require("tickets:read")]
# The phone's feed holds its work orders with their customers, sites and equipment, the
# catalogue and the van's stock; its pushes record field work and parts used.
FeedReader = Annotated[Actor, require("tickets:read", "customers:read", "parts:read")]
FieldWriter = Annotated[Actor, require("tickets:write", "parts:write")]

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "A transient failure stopped the push; retry after Retry-After seconds "
        "(the mutations before the failed one are applied: see last_seq)",
        "content": {"application/problem+json": {}},
    }
}


@router.post(
    "/clients",
    status_code=201,
    summary="Register a phone installation",
    response_model=ClientOut,
    responses={
        200: {"description": "Already registered", "model": ClientOut},
        **problems(403, 409),
    },
)
async def register_client(
    body: ClientIn, response: Response, session: SessionDep, actor: ActorDep
) -> ClientOut:
    client, created = await clients.register(
        session, actor, client_id=body.client_id, device=body.device
    )
    if not created:
        response.status_code = 200
    return ClientOut(client_id=client.id, last_seq=client.last_seq)


def _parse(body: Any) -> tuple[uuid.UUID, list[push.Pushed], float | None]:
    """The envelope must check (422 naming the field: nothing can be stored without a
    client id, a seq and an id); a mutation's name, arguments (text with U+0000 or a lone
    surrogate, NaN or Infinity in free JSON included) and device time are that mutation's
    problem: it is stored rejected and the queue moves on."""
    try:
        client_id, items = parse_push_lenient(body)
        sent_at = body.get("sent_at")
        offset = None
        if sent_at is not None:
            try:
                sent = parse_instant(sent_at)
                offset = (sent - dt.datetime.now(dt.UTC)).total_seconds()
            except InstantError as exc:
                # Not an instant is the client's bug (422); a clock outside the bounds is a
                # broken clock, which must not block the queue: no estimate, the push goes on.
                if exc.kind != "range":
                    raise ProtocolError(exc.message, "sent_at") from None
    except ProtocolError as exc:
        raise Unprocessable(exc.message, field=exc.field) from exc
    return uuid.UUID(client_id), [push.Pushed(m, e) for m, e in items], offset


@router.post(
    "/push",
    summary="Push queued mutations",
    response_model=PushOut,
    responses={**problems(403, 404, 409), **UNAVAILABLE},
)
@last_key_wins
async def push_mutations(
    request: Request,
    session: SessionDep,
    actor: FieldWriter,
    body: Annotated[
        dict[str, Any],
        Body(
            description='{"client_id", "mutations": [{"seq", "id", "name", "args", '
            '"device_time"}], "sent_at"?}: see shared/sync.py and docs/sync.md'
        ),
    ],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    clients.require_engineer(actor)
    client_id, pushed, offset = _parse(body)

    async def produce() -> tuple[dict[str, Any], dict[str, str]] | JSONResponse:
        outcome = await push.push(
            session, actor, client_id=client_id, pushed=pushed, clock_offset_s=offset
        )
        content = {"last_seq": outcome.last_seq, "results": [r.to_json() for r in outcome.results]}
        if outcome.stopped is not None:
            # Not raised: what was applied before the failure commits with this response
            # (which an Idempotency-Key does not keep: a retry pushes again).
            problem = outcome.stopped.to_problem(request.url.path) | content
            return JSONResponse(
                problem, 503, headers=outcome.stopped.headers, media_type="application/problem+json"
            )
        return content, {}

    return await idempotent(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/pull",
    summary="Pull changes of your scope",
    response_model=PullOut,
    responses=problems(400, 403, 404),
)
async def pull_changes(
    session: SessionDep,
    actor: FeedReader,
    client_id: uuid.UUID,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT), AsciiDigits] = DEFAULT_PULL_LIMIT,
) -> JSONResponse:
    page = await pull.pull(session, actor, client_id=client_id, cursor=cursor, limit=limit)
    return JSONResponse(page.to_json())


def _flag(flag: SyncFlag) -> FlagRead:
    return FlagRead.model_validate(flag)


@router.get(
    "/flags",
    summary="Field conflicts for dispatchers",
    response_model=PageOut[FlagRead],
    responses=problems(400, 403),
)
async def list_sync_flags(
    session: SessionDep,
    actor: Reader,
    status: FlagStatus | None = None,
    work_order_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[FlagRead]:
    page = await flags.list_flags(
        session, actor, status=status, ticket_id=work_order_id, limit=limit, cursor=cursor
    )
    return PageOut(items=[_flag(f) for f in page.items], next_cursor=page.next_cursor)


@router.get(
    "/rejected",
    summary="Mutations the push rejected, for review",
    response_model=PageOut[RejectedRead],
    responses=problems(400, 403, 422),
)
async def list_rejected_mutations(
    session: SessionDep,
    actor: Reader,
    engineer_id: uuid.UUID | None = None,
    work_order_id: uuid.UUID | None = None,
    since: Annotated[Instant | None, Query(description="Received at or after this instant")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[RejectedRead]:
    page = await rejected.list_rejected(
        session,
        actor,
        engineer_id=engineer_id,
        ticket_id=work_order_id,
        since=since,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[
            RejectedRead(
                id=r.mutation.mutation_id,
                client_id=r.mutation.client_id,
                seq=r.mutation.seq,
                engineer_id=r.engineer_id,
                name=r.mutation.name,
                args=r.mutation.args,
                work_order_id=r.mutation.work_order_id,
                device_time=r.mutation.device_time,
                received_at=r.mutation.received_at,
                error=r.error,
            )
            for r in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/flags/{flag_id}/close",
    summary="Resolve or dismiss a field conflict",
    response_model=FlagRead,
    responses=problems(403, 404, 409),
)
async def close_sync_flag(
    flag_id: uuid.UUID, body: FlagClose, session: SessionDep, actor: Writer
) -> FlagRead:
    flag = await flags.close_flag(
        session, actor, flag_id=flag_id, outcome=FlagStatus(body.outcome), note=body.note
    )
    return _flag(flag)
