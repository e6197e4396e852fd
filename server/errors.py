"""The error tree. Every failure a caller can cause is one of these, rendered as
RFC 9457 application/problem+json with a stable ``code``:

    AppError (500 internal)
    ├── BadRequest (400 bad_request)
    ├── Unauthenticated (401 unauthenticated)
    │   └── InvalidToken (401 invalid_token)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)              -- also for other tenants' objects
    ├── Conflict (409 conflict)
    │   ├── OrganisationRequired (409 organisation_required)  -- log-in: name one
    │   ├── InvalidTransition (409 invalid_transition)
    │   ├── RetryableConflict (409 retryable_conflict)
    │   └── IdempotencyInProgress (409 idempotency_in_progress)
    ├── PreconditionFailed (412 precondition_failed)
    ├── PreconditionRequired (428 precondition_required)
    ├── PayloadTooLarge (413 payload_too_large)
    ├── UnsupportedMediaType (415 unsupported_media_type)
    ├── Unprocessable (422 unprocessable)
    │   └── IdempotencyKeyReused (422 idempotency_key_reused)
    ├── TooManyRequests (429 rate_limited)
    └── Unavailable (503 unavailable)
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    RESERVED: ClassVar[frozenset[str]] = frozenset(
        {"type", "title", "status", "code", "detail", "instance"}
    )

    def __init__(self, detail: str, **extra: Any) -> None:
        if clash := self.RESERVED & extra.keys():
            raise TypeError(f"problem extras may not override {sorted(clash)}")
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://fixflow.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthenticated(AppError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class InvalidToken(Unauthenticated):
    code, title = "invalid_token", "Invalid or expired token"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class OrganisationRequired(Conflict):
    """The password opened accounts in several organisations: log in again naming one."""

    code, title = "organisation_required", "Choose an organisation"


class InvalidTransition(Conflict):
    code, title = "invalid_transition", "Transition not allowed"


class RetryableConflict(Conflict):
    code, title = "retryable_conflict", "Concurrent change, retry"


class ClientIdReused(Conflict):
    """A record id the phone created (UUIDv7) already names a different record: field
    records and attachments answer it the same way."""

    code, title = "client_id_reused", "Id already used for a different record"


class IdempotencyInProgress(Conflict):
    code, title = "idempotency_in_progress", "Request with this Idempotency-Key in progress"


class PreconditionFailed(AppError):
    status, code, title = 412, "precondition_failed", "Stale version"


class PreconditionRequired(AppError):
    status, code, title = 428, "precondition_required", "If-Match required"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class UnsupportedMediaType(AppError):
    """The body is not in the format the operation reads (JSON, a form, tus bytes)."""

    status, code, title = 415, "unsupported_media_type", "Unsupported Content-Type"


class Unprocessable(AppError):
    status, code, title = 422, "unprocessable", "Unprocessable request"


class IdempotencyKeyReused(Unprocessable):
    code, title = "idempotency_key_reused", "Idempotency-Key reused with another body"


class TooManyRequests(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"


class Unavailable(AppError):
    status, code, title = 503, "unavailable", "Service unavailable"
