"""What can go wrong while syncing, and what the engine does about it:

SyncError
├── Transient       network down, connection dropped, 5xx, 429, 503 + Retry-After,
│                   409 retryable_conflict: retried by the engine with backoff
├── AuthRequired    no tokens, or the refresh token was refused: the engineer must log in
│   │               again (the outbox keeps everything meanwhile)
│   └── OrganisationRequired  the e-mail and password open accounts in several
│                   organisations: log in again naming one of ``organisations``
└── Refused         the server refused the request itself (a 4xx other than the above):
                    a bug or a protocol mismatch; retried slowly, never dropped
"""

from __future__ import annotations

from typing import Any


class SyncError(Exception):
    pass


class Transient(SyncError):
    def __init__(self, message: str, *, retry_after: float | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.body = body  # the answer's JSON, if any (a push's 503 carries partial results)


class AuthRequired(SyncError):
    pass


class OrganisationRequired(AuthRequired):
    """Log-in found accounts in several organisations; each of ``organisations`` is a dict
    with ``id``, ``slug`` and ``name`` (the server's 409 ``organisation_required``)."""

    def __init__(self, message: str, organisations: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.organisations = organisations


class Refused(SyncError):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("title") or "refused"
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.problem = problem
