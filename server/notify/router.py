from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response

from server.auth import Actor
from server.auth.http import ActorDep, require
from server.deps import SessionDep
from server.http import (
    Cursor,
    IfMatch,
    IfNoneMatch,
    Limit,
    created,
    expected_version,
    problems,
    put_precondition,
    set_etag,
)
from server.notify import preferences, service
from server.notify.models import Status
from server.notify.schemas import (
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    NotificationRead,
    PreferencesIn,
    PreferencesRead,
)
from server.schemas import PageOut

router = APIRouter(prefix="/api/v1", tags=["notifications"])
Reader = Annotated[Actor, require("customers:read")]
Writer = Annotated[Actor, require("customers:write")]


@router.get(
    "/notifications",
    summary="The delivery log: messages sent, waiting, failed or suppressed",
    description="Admins and dispatchers. Oldest first; filter by status, work order or "
    "recipient (a user's or a customer's id).",
    response_model=PageOut[NotificationRead],
    responses=problems(400, 403),
)
async def list_notifications(
    session: SessionDep,
    actor: ActorDep,
    status: Status | None = None,
    ticket_id: uuid.UUID | None = None,
    recipient_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[NotificationRead]:
    page = await service.list_log(
        session,
        actor,
        status=status,
        ticket_id=ticket_id,
        recipient_id=recipient_id,
        limit=limit,
        cursor=cursor,
    )
    items = [NotificationRead.model_validate(n) for n in page.items]
    return PageOut(items=items, next_cursor=page.next_cursor)


@router.get(
    "/notifications/channels",
    summary="The organisation's SMS gateway and IM robots",
    description="Admins only. Secrets are never shown in full.",
    response_model=list[ChannelRead],
    responses=problems(403),
)
async def list_channels(session: SessionDep, actor: ActorDep) -> list[ChannelRead]:
    return [service.to_read(c) for c in await service.list_channels(session, actor)]


@router.post(
    "/notifications/channels",
    status_code=201,
    summary="Configure an SMS gateway or IM robot",
    description="Admins only; one channel per kind (409 if it exists: change it with PATCH).",
    response_model=ChannelRead,
    responses={
        **problems(400, 403, 409, 422),
        **created("Channel configured", update=("update_channel", "channel_id")),
    },
)
async def create_channel(
    body: ChannelCreate, session: SessionDep, actor: ActorDep, response: Response
) -> ChannelRead:
    row = await service.create_channel(session, actor, data=body)
    response.headers["Location"] = f"/api/v1/notifications/channels/{row.id}"
    set_etag(response, row.version)
    return service.to_read(row)


@router.get(
    "/notifications/channels/{channel_id}",
    summary="One channel (its secret never shown in full)",
    response_model=ChannelRead,
    responses=problems(403, 404),
)
async def read_channel(
    channel_id: uuid.UUID, session: SessionDep, actor: ActorDep, response: Response
) -> ChannelRead:
    row = await service.get_channel(session, actor, channel_id=channel_id)
    set_etag(response, row.version)
    return service.to_read(row)


@router.patch(
    "/notifications/channels/{channel_id}",
    summary="Change a channel (URL, secret, body template, enabled)",
    response_model=ChannelRead,
    responses=problems(400, 403, 404, 412, 422, 428),
)
async def update_channel(
    channel_id: uuid.UUID,
    body: ChannelUpdate,
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    if_match: IfMatch = None,
) -> ChannelRead:
    row = await service.update_channel(
        session,
        actor,
        channel_id=channel_id,
        data=body,
        expected_version=expected_version(if_match),
    )
    set_etag(response, row.version)
    return service.to_read(row)


@router.delete(
    "/notifications/channels/{channel_id}",
    status_code=204,
    summary="Remove a channel",
    responses=problems(403, 404),
)
async def delete_channel(channel_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    await service.delete_channel(session, actor, channel_id=channel_id)
    return Response(status_code=204)


@router.get(
    "/notifications/{notification_id}",
    summary="One message of the delivery log",
    response_model=NotificationRead,
    responses=problems(403, 404),
)
async def read_notification(
    notification_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> NotificationRead:
    row = await service.get(session, actor, notification_id=notification_id)
    return NotificationRead.model_validate(row)


@router.post(
    "/notifications/{notification_id}/retry",
    summary="Send a failed or waiting message again now",
    description="Its attempts start again from zero. 409 for a message sent, being sent "
    "or suppressed.",
    response_model=NotificationRead,
    responses=problems(403, 404, 409),
)
async def retry_notification(
    notification_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> NotificationRead:
    row = await service.retry(session, actor, notification_id=notification_id)
    return NotificationRead.model_validate(row)


@router.get(
    "/customers/{customer_id}/notification-preferences",
    summary="How a customer wants to hear from us",
    description='Version 0 (ETag `"v0"`): never set, the defaults shown.',
    response_model=PreferencesRead,
    responses=problems(403, 404),
)
async def read_preferences(
    customer_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> PreferencesRead:
    prefs = await preferences.read(session, actor, customer_id=customer_id)
    set_etag(response, prefs.version)
    return prefs


@router.put(
    "/customers/{customer_id}/notification-preferences",
    summary="Set a customer's notification preferences",
    description='`If-Match` with the ETag read (`"v0"` when never set), or '
    "`If-None-Match: *` to create only; neither: 428.",
    response_model=PreferencesRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def set_preferences(
    customer_id: uuid.UUID,
    body: PreferencesIn,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> PreferencesRead:
    prefs = await preferences.replace(
        session,
        actor,
        customer_id=customer_id,
        data=body,
        expected_version=put_precondition(if_match, if_none_match),
    )
    set_etag(response, prefs.version)
    return prefs
