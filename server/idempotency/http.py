"""Route helpers that wrap an operation (a create, a sync push) in Idempotency-Key handling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from server.idempotency import service
from server.idempotency.service import Caller

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        # No max_length here: that would be a 422 validation error; the service's check
        # answers every malformed key alike, 400 (docs/api.md).
        description="Makes the request safe to retry: the same key and body return the "
        "stored response instead of creating a second object. 1-255 printable ASCII "
        "characters; anything else is 400.",
    ),
]

Produce = Callable[[], Awaitable[tuple[BaseModel, dict[str, str]]]]
# What an operation answers: its JSON (a model, or JSON already) and its headers, stored
# for replays; or a response of its own, a failure that is not stored (a retry runs again).
Answer = tuple[Any, dict[str, str]] | JSONResponse


async def idempotent_create(
    request: Request,
    session: AsyncSession,
    actor: Caller,
    *,
    key: str | None,
    body: BaseModel,
    produce: Produce,
    status_code: int = 201,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> JSONResponse:
    """Run ``produce`` once per key. ``redact`` removes what must not be kept (a secret
    shown once) from the stored response that replays return."""
    return await idempotent(
        request,
        session,
        actor,
        key=key,
        body=body,
        produce=produce,
        status_code=status_code,
        redact=redact,
    )


async def idempotent(
    request: Request,
    session: AsyncSession,
    actor: Caller,
    *,
    key: str | None,
    body: Any,
    produce: Callable[[], Awaitable[Answer]],
    status_code: int = 200,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> JSONResponse:
    """The Idempotency-Key flow (service.py) around an operation: with a key, ``produce``
    runs once per key and request (``body``: the request's JSON, or its model), its answer
    is stored in the same transaction and replayed (``Idempotent-Replayed: true``) to the
    same request again; without one, it just runs."""
    if key is None:
        return _respond(await produce(), status_code)
    path = request.url.path
    fingerprint = service.request_fingerprint(request.method, path, _json(body))
    record = await service.begin(session, actor, key=key, fingerprint=fingerprint)
    if record is not None:
        return JSONResponse(
            record.response_body,
            record.status_code,
            headers={**record.response_headers, "Idempotent-Replayed": "true"},
        )
    answer = await produce()
    if isinstance(answer, JSONResponse):
        return answer
    result, headers = answer
    content = _json(result)
    service.remember(
        session,
        actor,
        key=key,
        method=request.method,
        path=path,
        fingerprint=fingerprint,
        status_code=status_code,
        body=redact(dict(content)) if redact else content,
        headers=headers,
    )
    return JSONResponse(content, status_code, headers=headers)


def _json(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _respond(answer: Answer, status_code: int) -> JSONResponse:
    if isinstance(answer, JSONResponse):
        return answer
    result, headers = answer
    return JSONResponse(_json(result), status_code, headers=headers)
