"""Idempotency-Key records: a retried create answers what the first one did. Routers use
the HTTP face, ``server.idempotency.http``."""

from server.idempotency import service
from server.idempotency.service import Caller

__all__ = [
    "Caller",
    "service",
]
