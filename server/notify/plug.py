"""How notifications plug in (server/domains.py): the outbox handler for every topic and
the sending job."""

from __future__ import annotations

from server import events
from server.notify.jobs import JOBS
from server.notify.routing import on_event

__all__ = ["JOBS", "install"]


def install() -> None:
    events.subscribe("*", on_event)
