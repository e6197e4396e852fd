"""How the webhooks domain plugs in (server/domains.py): every outbox event may become a
delivery (``events.subscribe("*")``); the sender runs in the worker (``JOBS``)."""

from __future__ import annotations

from server import events
from server.webhooks import delivery
from server.webhooks.jobs import JOBS

__all__ = ["JOBS", "install"]


def install() -> None:
    events.subscribe("*", delivery.on_event)
