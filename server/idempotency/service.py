"""Idempotency-Key semantics (IETF draft-ietf-httpapi-idempotency-key-header).

- same key, same request  -> the stored response, replayed
- same key, other request -> 422 idempotency_key_reused
- same key while the first request is still running -> 409 idempotency_in_progress

A transaction-scoped advisory lock on (org, principal, key) serialises requests
with one key; the stored response is written in the same transaction as the
business rows, so either both exist or neither does.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import BadRequest, IdempotencyInProgress, IdempotencyKeyReused
from server.idempotency.models import IdempotencyRecord


def request_fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(
        [method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class Caller(Protocol):
    """Who sends the key: records are per organisation and principal (the Actor of
    server/auth, a higher domain, is one)."""

    @property
    def org_id(self) -> uuid.UUID: ...

    @property
    def principal(self) -> str: ...


def _lock_id(actor: Caller, key: str) -> int:
    digest = hashlib.sha256(f"{actor.org_id}|{actor.principal}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# A structured-field string (the Idempotency-Key draft, RFC 8941): printable ASCII. Latin-1
# letters would be the UTF-8 bytes of the caller's text read as mojibake.
_KEY = re.compile(r"[!-~](?:[ -~]{0,253}[!-~])?")


async def begin(
    session: AsyncSession, actor: Caller, *, key: str, fingerprint: str
) -> IdempotencyRecord | None:
    """Take the key for this transaction; return the stored record if it was used before."""
    if not _KEY.fullmatch(key):
        raise BadRequest(
            "Idempotency-Key must be 1-255 printable ASCII characters (no leading or "
            "trailing space), e.g. a UUID"
        )
    locked = await session.scalar(select(func.pg_try_advisory_xact_lock(_lock_id(actor, key))))
    if not locked:
        raise IdempotencyInProgress(
            "a request with this Idempotency-Key is still being processed; retry shortly"
        )
    record = await session.get(IdempotencyRecord, (actor.org_id, actor.principal, key))
    if record is not None and record.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request; use a new key"
        )
    return record


def remember(
    session: AsyncSession,
    actor: Caller,
    *,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    status_code: int,
    body: Any,
    headers: dict[str, str],
) -> None:
    session.add(
        IdempotencyRecord(
            org_id=actor.org_id,
            principal=actor.principal,
            key=key,
            method=method,
            path=path,
            request_hash=fingerprint,
            status_code=status_code,
            response_body=body,
            response_headers=headers,
        )
    )
