"""Notifications: messages to customers and staff caused by outbox events, sent by e-mail,
SMS and IM with per-customer preferences, rate limits and a delivery log with retries
(docs/notifications.md)."""

from server.notify import preferences, routing, sending, service
from server.notify.models import (
    ChannelKind,
    Notification,
    NotificationChannel,
    NotificationPreference,
    Provider,
    Status,
)

__all__ = [
    "ChannelKind",
    "Notification",
    "NotificationChannel",
    "NotificationPreference",
    "Provider",
    "Status",
    "preferences",
    "routing",
    "sending",
    "service",
]
