"""How the sync domain plugs in (server/domains.py): its worker jobs."""

from __future__ import annotations

from server.sync.jobs import JOBS

__all__ = ["JOBS"]
