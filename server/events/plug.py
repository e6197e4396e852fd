"""How the events domain plugs in (server/domains.py): its worker jobs."""

from __future__ import annotations

from server.events.jobs import JOBS

__all__ = ["JOBS"]
