"""Route helper that wraps a create operation in Idempotency-Key handling."""

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
    if key is None:
        result, headers = await produce()
        return JSONResponse(result.model_dump(mode="json"), status_code, headers=headers)
    path = request.url.path
    fingerprint = service.request_fingerprint(request.method, path, body.model_dump(mode="json"))
    record = await service.begin(session, actor, key=key, fingerprint=fingerprint)
    if record is not None:
        return JSONResponse(
            record.response_body,
            record.status_code,
            headers={**record.response_headers, "Idempotent-Replayed": "true"},
        )
    result, headers = await produce()
    content = result.model_dump(mode="json")
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
