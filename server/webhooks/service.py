"""Endpoints and their delivery log, as an organisation's admin manages them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import get_scoped, keyset_page, patch
from server.errors import Conflict
from server.pagination import Page
from server.text import fit
from server.webhooks import addresses, delivery, signing
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from server.webhooks.schemas import EndpointCreate, EndpointUpdate

ROTATION_GRACE = dt.timedelta(hours=24)
MAX_ENDPOINTS = 50
DELIVERY_STATUSES = ("pending", "succeeded", "failed")


def _admin(actor: Actor) -> None:
    actor.require_admin("manage webhooks")


async def create_endpoint(
    session: AsyncSession, actor: Actor, *, data: EndpointCreate
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown once). The URL is checked (SSRF rules)."""
    _admin(actor)
    await addresses.check(data.url)
    count = await session.scalar(select(func.count()).where(WebhookEndpoint.org_id == actor.org_id))
    if (count or 0) >= MAX_ENDPOINTS:
        raise Conflict(f"an organisation has at most {MAX_ENDPOINTS} endpoints; delete one")
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        org_id=actor.org_id,
        url=data.url,
        event_types=data.event_types,
        description=fit(data.description, 500) if data.description else None,
        secret=secret,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def get_endpoint(
    session: AsyncSession, actor: Actor, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    _admin(actor)
    return await get_scoped(
        session,
        actor,
        WebhookEndpoint,
        endpoint_id,
        label="webhook endpoint",
        for_update=for_update,
    )


async def list_endpoints(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None
) -> Page[WebhookEndpoint]:
    _admin(actor)
    query = select(WebhookEndpoint).where(WebhookEndpoint.org_id == actor.org_id)
    return await keyset_page(
        session,
        query,
        sort_column=WebhookEndpoint.id,
        id_column=WebhookEndpoint.id,
        limit=limit,
        cursor=cursor,
    )


async def update_endpoint(
    session: AsyncSession,
    actor: Actor,
    endpoint_id: uuid.UUID,
    *,
    data: EndpointUpdate,
    expected_version: int | None,
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, actor, endpoint_id, for_update=True)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if changes.get("url"):
        await addresses.check(changes["url"])
    if changes.get("description"):
        changes["description"] = fit(changes["description"], 500)
    patch(endpoint, changes, expected_version=expected_version)
    await session.flush()
    return endpoint


async def delete_endpoint(
    session: AsyncSession, actor: Actor, endpoint_id: uuid.UUID, *, expected_version: int | None
) -> None:
    """Delete an endpoint with its delivery log (pending deliveries are dropped)."""
    endpoint = await get_endpoint(session, actor, endpoint_id, for_update=True)
    patch(endpoint, {}, expected_version=expected_version)
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, actor: Actor, endpoint_id: uuid.UUID
) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned once); the old one keeps signing beside it for
    ``ROTATION_GRACE``, so receivers can switch without losing a message."""
    endpoint = await get_endpoint(session, actor, endpoint_id, for_update=True)
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = dt.datetime.now(dt.UTC) + ROTATION_GRACE
    endpoint.secret = secret
    endpoint.version += 1
    await session.flush()
    return endpoint, secret


async def enable(session: AsyncSession, actor: Actor, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """Enable an endpoint again (its waiting deliveries go out soon)."""
    endpoint = await get_endpoint(session, actor, endpoint_id, for_update=True)
    if not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
        endpoint.version += 1
        delivery.send_soon(session)
    await session.flush()
    return endpoint


async def list_deliveries(
    session: AsyncSession,
    actor: Actor,
    endpoint_id: uuid.UUID,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[WebhookDelivery]:
    """An endpoint's deliveries, oldest first (ids are ordered by time)."""
    endpoint = await get_endpoint(session, actor, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return await keyset_page(
        session,
        query,
        sort_column=WebhookDelivery.id,
        id_column=WebhookDelivery.id,
        limit=limit,
        cursor=cursor,
    )


async def get_delivery(
    session: AsyncSession, actor: Actor, delivery_id: uuid.UUID, *, for_update: bool = False
) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    _admin(actor)
    row = await get_scoped(
        session, actor, WebhookDelivery, delivery_id, label="delivery", for_update=for_update
    )
    attempts = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == row.id)
        .order_by(WebhookAttempt.started_at, WebhookAttempt.id)
    )
    return row, list(attempts)


async def replay(session: AsyncSession, actor: Actor, delivery_id: uuid.UUID) -> WebhookDelivery:
    """Send a delivery again, now, with the same ``webhook-id``; a delivery that failed or
    was delivered starts its retry schedule again. A disabled endpoint's wait."""
    row, _ = await get_delivery(session, actor, delivery_id, for_update=True)
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = dt.datetime.now(dt.UTC)
    delivery.send_soon(session)
    await session.flush()
    return row
