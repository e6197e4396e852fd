"""How the surveys domain plugs in (server/domains.py): a resolved work order's outbox event
makes its invitation; the cron job sends the due ones."""

from __future__ import annotations

from server.events import subscribe
from server.surveys.invitations import on_transition
from server.surveys.jobs import JOBS

__all__ = ["JOBS", "install"]


def install() -> None:
    subscribe("ticket.transition", on_transition)
