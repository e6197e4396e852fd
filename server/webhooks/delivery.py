"""From the outbox to the receiver: one delivery per event and matching endpoint, sent by
the worker with retries (docs/webhooks.md "Retries").

``on_event`` runs in the outbox's delivery transaction (so a rolled-back business
transaction, which wrote no outbox row, sends nothing) and is idempotent (one row per
endpoint and event, ``ON CONFLICT DO NOTHING``). ``claim`` takes due rows with ``SKIP
LOCKED`` and pushes their ``next_attempt_at`` past the lease in a transaction of its own,
committed before anything is sent: a worker that dies mid-send leaves the row due again
when the lease expires, and the next attempt carries the same ``webhook-id``. ``record``
writes the attempt's outcome and schedules the next one.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server import links
from server.db import after_commit
from server.events import OutboxEvent
from server.webhooks import signing, topics
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from server.webhooks.sender import Outcome
from shared.ids import uuid7

# Seconds to wait after the n-th failed attempt (then up to 20 % more, at random): 11
# attempts over 75 h 35 min at least, before the delivery is given up ("failed").
SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 50400, 72000)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2
LEASE_SECONDS = 60  # > connect + read timeouts: a live sender always records first
DISABLE_AFTER = dt.timedelta(days=5)
SEND_JOB = "webhooks.send"
SEND_JOB_ID = "webhooks-send"


def webhook_id(delivery_id: uuid.UUID) -> str:
    return f"msg_{delivery_id.hex}"


def without_links(payload: Any) -> Any:
    """The payload without the values that hold a customer's link (the survey
    invitation's ``url``): a status, QR or survey token is the customer's credential, which
    no integrator needs and none should hold (docs/webhooks.md "What is sent")."""
    if isinstance(payload, dict):
        return {k: without_links(v) for k, v in payload.items() if not _a_link(v)}
    if isinstance(payload, list):
        return [without_links(v) for v in payload if not _a_link(v)]
    return payload


def _a_link(value: Any) -> bool:
    return isinstance(value, str) and links.service.carries_link(value)


def body_of(event: OutboxEvent) -> str:
    created = event.created_at or dt.datetime.now(dt.UTC)
    data = without_links(event.payload)
    message = {"type": event.topic, "timestamp": created.isoformat(), "data": data}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failure (1-based), with its jitter."""
    base = SCHEDULE[min(attempts, len(SCHEDULE)) - 1]
    return dt.timedelta(seconds=base * (1 + random.uniform(0, JITTER)))  # noqa: S311 - jitter, not a secret


def send_soon(session: AsyncSession) -> None:
    after_commit(session, SEND_JOB, _job_id=SEND_JOB_ID)


async def on_event(session: AsyncSession, event: OutboxEvent) -> None:
    """The outbox subscriber ("*"): a pending delivery per enabled endpoint that wants it."""
    endpoints = await session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.org_id == event.org_id, WebhookEndpoint.enabled.is_(True)
        )
    )
    wanted = [e for e in endpoints if topics.matches(e.event_types, event.topic)]
    if not wanted:
        return
    body, now = body_of(event), dt.datetime.now(dt.UTC)
    rows = [
        {
            "id": uuid7(),
            "org_id": event.org_id,
            "endpoint_id": endpoint.id,
            "event_id": event.id,
            "event_type": event.topic,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for endpoint in wanted
    ]
    await session.execute(insert(WebhookDelivery).values(rows).on_conflict_do_nothing())
    send_soon(session)


@dataclass(frozen=True)
class Send:
    delivery_id: uuid.UUID
    url: str
    body: str
    secrets: list[str]

    @property
    def msg_id(self) -> str:
        return webhook_id(self.delivery_id)


def secrets_of(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    grace = endpoint.previous_secret_until
    if endpoint.previous_secret and grace is not None and grace > now:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


async def claim(
    session: AsyncSession, *, limit: int = 20, lease_seconds: float = LEASE_SECONDS
) -> list[Send]:
    """Take up to ``limit`` due deliveries of enabled endpoints and lease them (the caller
    commits before sending)."""
    now = dt.datetime.now(dt.UTC)
    rows = await session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    sends = []
    for delivery, endpoint in rows:
        delivery.attempts += 1
        delivery.next_attempt_at = now + dt.timedelta(seconds=lease_seconds)
        sends.append(Send(delivery.id, endpoint.url, delivery.body, secrets_of(endpoint, now)))
    await session.flush()
    return sends


def headers_for(send: Send, timestamp: int) -> dict[str, str]:
    return signing.headers(send.secrets, send.msg_id, timestamp, send.body)


async def record(
    session: AsyncSession, send: Send, outcome: Outcome, *, started: dt.datetime
) -> None:
    """Write the attempt and what follows from it: delivered, retried later or given up;
    the endpoint's failure streak, and its disabling after ``DISABLE_AFTER`` of failures."""
    delivery = await session.get(WebhookDelivery, send.delivery_id, with_for_update=True)
    if delivery is None:  # its endpoint was deleted meanwhile
        return
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            started_at=started,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
            response_excerpt=outcome.excerpt,
        )
    )
    now = dt.datetime.now(dt.UTC)
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
    if outcome.ok:
        delivery.status, delivery.delivered_at = "succeeded", now
        if endpoint is not None:
            endpoint.failing_since = None
        return
    if delivery.status == "pending":
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
    if endpoint is not None:
        _failed(endpoint, now)


def _failed(endpoint: WebhookEndpoint, now: dt.datetime) -> None:
    endpoint.failing_since = endpoint.failing_since or now
    if endpoint.enabled and now - endpoint.failing_since >= DISABLE_AFTER:
        endpoint.enabled = False
        endpoint.disabled_at = now
        days = DISABLE_AFTER.days
        since = endpoint.failing_since.strftime("%Y-%m-%d %H:%M")
        endpoint.disabled_reason = (
            f"every attempt failed for {days} days (since {since} UTC); "
            "fix the receiver, then enable the endpoint again"
        )
