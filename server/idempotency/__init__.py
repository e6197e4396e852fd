"""Idempotency-Key records: a retried create answers what the first one did."""

from server.idempotency import service
from server.idempotency.http import IdempotencyKey, idempotent_create

__all__ = [
    "IdempotencyKey",
    "idempotent_create",
    "service",
]
