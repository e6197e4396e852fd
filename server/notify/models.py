"""Notifications: the delivery log, the organisation's provider channels and customers'
preferences (docs/notifications.md)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed and committed before the peer was called (a lease)
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt
    SUPPRESSED = "suppressed"  # opt-out: logged, never sent
    DEFERRED = "deferred"  # quiet hours or the rate limit: sent at next_attempt_at


class ChannelKind(StrEnum):
    """Where a message goes: ``email`` (SMTP, the server's settings), ``sms`` (the
    organisation's SMS gateway), ``im`` (its IM robot: WeCom, DingTalk or Feishu)."""

    EMAIL = "email"
    SMS = "sms"
    IM = "im"


class Provider(StrEnum):
    """An organisation's configured HTTP provider (``notification_channels.kind``)."""

    SMS_GATEWAY = "sms_gateway"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"


class Notification(IdMixin, Base):
    """One message to one recipient on one channel, written by the outbox handler in the
    delivery transaction of the event that caused it (at most once per event)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint(
            "org_id",
            "event_id",
            "template",
            "recipient_kind",
            "recipient_id",
            "channel",
            name="uq_notif_key",
        ),
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending', 'deferred')"),
        ),
        Index("ix_notifications_org_id_id", "org_id", "id"),
        Index("ix_notifications_rate", "org_id", "channel", "address", "sent_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    event_id: Mapped[uuid.UUID]
    topic: Mapped[str] = mapped_column(String(60))
    template: Mapped[str] = mapped_column(String(40))
    recipient_kind: Mapped[str] = mapped_column(String(10))  # user | customer | group
    recipient_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(500))
    lang: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(String(500))
    receipt: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[dt.datetime | None]


class NotificationChannel(IdMixin, Base):
    """An organisation's HTTP provider: an SMS gateway or an IM group robot."""

    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("org_id", "kind"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str | None] = mapped_column(String(500))
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)


class NotificationPreference(Base):
    """How a customer wants to hear from us (absent: e-mail then SMS, the organisation's
    language, no quiet hours)."""

    __tablename__ = "notification_preferences"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(10)))
    lang: Mapped[str | None] = mapped_column(String(10))
    quiet_start: Mapped[dt.time | None] = mapped_column(Time)
    quiet_end: Mapped[dt.time | None] = mapped_column(Time)
    opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opt_out_templates: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
