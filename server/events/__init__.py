"""The outbox: domain events written in the business transaction, delivered by the
worker to the subscribers domains register (``subscribe``)."""

from server.events import service
from server.events.models import OutboxEvent
from server.events.service import emit, subscribe

__all__ = [
    "OutboxEvent",
    "emit",
    "service",
    "subscribe",
]
