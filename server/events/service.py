"""The outbox: domain events written in the business transaction, delivered by the worker.

Delivery is at-least-once. Handlers registered here must be idempotent (they get
the event id to deduplicate). A handler failure leaves the event pending with
the error recorded; the next run retries it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import after_commit
from server.events.models import OutboxEvent

log = logging.getLogger("fixflow.events")

Handler = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]
_handlers: dict[str, list[Handler]] = {}
MAX_ATTEMPTS = 20
DELIVERY_JOB_ID = "outbox-deliver"


def subscribe(topic: str, handler: Handler) -> None:
    """Register an internal handler for a topic ("*" for every topic)."""
    _handlers.setdefault(topic, []).append(handler)


def unsubscribe(topic: str, handler: Handler) -> None:
    _handlers.get(topic, []).remove(handler)


def emit(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    topic: str,
    aggregate_id: uuid.UUID | None,
    payload: dict[str, Any],
) -> OutboxEvent:
    event = OutboxEvent(org_id=org_id, topic=topic, aggregate_id=aggregate_id, payload=payload)
    session.add(event)
    deliver_soon(session)
    return event


def deliver_soon(session: AsyncSession) -> None:
    """Deliver soon after the commit (the sender coalesces these nudges by job id); the
    worker's cron catches anything this misses. For code that writes outbox rows with
    its own SQL (server/tickets/service.py, the light transitions)."""
    after_commit(session, "events.deliver_outbox", _job_id=DELIVERY_JOB_ID)


async def deliver_pending(session: AsyncSession, *, limit: int = 200) -> tuple[int, int]:
    """Deliver a batch of pending events; returns (delivered, failed).

    Rows are locked with SKIP LOCKED so several workers share the backlog."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.attempts < MAX_ATTEMPTS)
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    delivered = failed = 0
    for event in rows:
        event.attempts += 1
        try:
            async with session.begin_nested():
                log.info(
                    "event %s",
                    event.topic,
                    extra={"event_id": str(event.id), "org_id": str(event.org_id)},
                )
                for handler in [*_handlers.get(event.topic, []), *_handlers.get("*", [])]:
                    await handler(session, event)
        except Exception as exc:
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            failed += 1
            log.warning("event %s delivery failed: %s", event.id, exc)
        else:
            event.delivered_at = dt.datetime.now(dt.UTC)
            event.last_error = None
            delivered += 1
    await session.flush()
    return delivered, failed


async def outbox_lag_seconds(session: AsyncSession) -> float:
    """Age of the oldest undelivered event (0 when the outbox is drained)."""
    oldest = await session.scalar(
        select(func.min(OutboxEvent.created_at)).where(OutboxEvent.delivered_at.is_(None))
    )
    if oldest is None:
        return 0.0
    return max(0.0, (dt.datetime.now(dt.UTC) - oldest).total_seconds())
