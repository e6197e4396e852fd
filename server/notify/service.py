"""The delivery log (read, retry) and the organisation's provider channels (admins)."""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import addresses
from server.auth import Actor
from server.crud import check_version, get_scoped, keyset_page
from server.db import after_commit
from server.errors import Conflict, Unprocessable
from server.notify import channels
from server.notify.models import Notification, NotificationChannel, Status
from server.notify.routing import SEND_JOB, SEND_JOB_ID
from server.notify.schemas import ChannelCreate, ChannelRead, ChannelUpdate
from server.pagination import Page

RETRYABLE = (Status.FAILED.value, Status.DEFERRED.value, Status.PENDING.value)


class NotRetryable(Conflict):
    code, title = "notification_not_retryable", "Only failed or waiting messages can be retried"


class ChannelExists(Conflict):
    code, title = "notification_channel_exists", "The organisation has this channel already"


def _may_read_log(actor: Actor) -> None:
    actor.require_manager("read the notification log", keys=False)


async def list_log(
    session: AsyncSession,
    actor: Actor,
    *,
    status: Status | None,
    ticket_id: uuid.UUID | None,
    recipient_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[Notification]:
    _may_read_log(actor)
    query = select(Notification).where(Notification.org_id == actor.org_id)
    if status is not None:
        query = query.where(Notification.status == status.value)
    if ticket_id is not None:
        query = query.where(Notification.ticket_id == ticket_id)
    if recipient_id is not None:
        query = query.where(Notification.recipient_id == recipient_id)
    return await keyset_page(
        session,
        query,
        sort_column=Notification.id,
        id_column=Notification.id,
        limit=limit,
        cursor=cursor,
    )


async def get(session: AsyncSession, actor: Actor, *, notification_id: uuid.UUID) -> Notification:
    _may_read_log(actor)
    return await get_scoped(session, actor, Notification, notification_id, label="notification")


async def retry(session: AsyncSession, actor: Actor, *, notification_id: uuid.UUID) -> Notification:
    """Send a failed or waiting message again now, with its attempts counted afresh."""
    _may_read_log(actor)
    row = await get_scoped(
        session, actor, Notification, notification_id, label="notification", for_update=True
    )
    if row.status not in RETRYABLE:
        raise NotRetryable(
            f"the message is {row.status}; only failed, deferred or pending ones can be retried",
            current_status=row.status,
        )
    row.status, row.attempts = Status.PENDING.value, 0
    row.next_attempt_at = dt.datetime.now(dt.UTC)
    after_commit(session, SEND_JOB, _job_id=SEND_JOB_ID)
    return row


# --- provider channels ---------------------------------------------------------------------


def _hidden(value: str) -> str:
    return "***" + value[-4:] if len(value) > 8 else "***"


def masked_url(url: str) -> str:
    """The URL with every query value hidden but its last 4 characters (WeCom's and
    DingTalk's robot keys), and so the last path segment of a long one (Feishu's robot key
    is the path's end: ``/open-apis/bot/v2/hook/<key>``)."""
    parts = urllib.parse.urlsplit(url)
    head, _, last = parts.path.rpartition("/")
    if len(last) >= 16:
        parts = parts._replace(path=f"{head}/{_hidden(last)}")
    if not parts.query:
        return urllib.parse.urlunsplit(parts)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    hidden = [(k, _hidden(v)) for k, v in pairs]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(hidden, safe="*")))


def to_read(row: NotificationChannel) -> ChannelRead:
    return ChannelRead(
        id=row.id,
        kind=row.kind,
        url=masked_url(row.url),
        secret_hint=row.secret[-4:] if row.secret and len(row.secret) > 8 else None,
        body_template=row.options.get("body_template"),
        enabled=row.enabled,
        version=row.version,
        created_at=row.created_at,
    )


async def list_channels(session: AsyncSession, actor: Actor) -> list[NotificationChannel]:
    actor.require_admin("see the notification channels")
    rows = await session.scalars(
        select(NotificationChannel)
        .where(NotificationChannel.org_id == actor.org_id)
        .order_by(NotificationChannel.kind)
    )
    return list(rows)


async def get_channel(
    session: AsyncSession, actor: Actor, *, channel_id: uuid.UUID, for_update: bool = False
) -> NotificationChannel:
    actor.require_admin("see the notification channels")
    return await get_scoped(
        session, actor, NotificationChannel, channel_id, label="channel", for_update=for_update
    )


class ChannelUrlRefused(Unprocessable):
    code = "channel_url_refused"


async def check_channel_url(url: str) -> None:
    """Refuse a provider URL that names or resolves to a loopback, private, link-local or
    metadata address (unless ``FIXFLOW_NOTIFY_ALLOW_PRIVATE``). A name that does not resolve
    now is kept: every send checks again and connects to the address it checked."""
    try:
        await channels.check_url(url)
    except addresses.Unresolved:
        return
    except addresses.Refused as refused:
        raise ChannelUrlRefused(refused.detail, field="url") from None


async def create_channel(
    session: AsyncSession, actor: Actor, *, data: ChannelCreate
) -> NotificationChannel:
    actor.require_admin("configure notification channels")
    exists = await session.scalar(
        select(NotificationChannel.id).where(
            NotificationChannel.org_id == actor.org_id, NotificationChannel.kind == data.kind.value
        )
    )
    if exists is not None:
        raise ChannelExists(
            f"the organisation has a {data.kind.value} channel already: change it with PATCH",
            channel_id=str(exists),
        )
    await check_channel_url(data.url)
    options = {"body_template": data.body_template} if data.body_template else {}
    row = NotificationChannel(
        org_id=actor.org_id,
        kind=data.kind.value,
        url=data.url,
        secret=data.secret,
        options=options,
        enabled=data.enabled,
        version=1,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def update_channel(
    session: AsyncSession,
    actor: Actor,
    *,
    channel_id: uuid.UUID,
    data: ChannelUpdate,
    expected_version: int | None,
) -> NotificationChannel:
    row = await get_channel(session, actor, channel_id=channel_id, for_update=True)
    check_version(row.version, expected_version, label="the channel")
    changes = data.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        await check_channel_url(changes["url"])
    if "body_template" in changes:
        template = changes.pop("body_template")
        row.options = {"body_template": template} if template else {}
    for name in ("url", "secret", "enabled"):
        if name in changes and changes[name] is not None:
            setattr(row, name, changes[name])
    row.version += 1
    return row


async def delete_channel(session: AsyncSession, actor: Actor, *, channel_id: uuid.UUID) -> None:
    row = await get_channel(session, actor, channel_id=channel_id)
    await session.delete(row)
