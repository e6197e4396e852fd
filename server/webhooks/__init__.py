"""Webhooks (issue 13): organisations' endpoints receive the outbox's events, signed as the
Standard Webhooks specification says, with retries, a delivery log, replay and SSRF rules."""

from server.webhooks import addresses, delivery, service, signing
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "addresses",
    "delivery",
    "service",
    "signing",
]
