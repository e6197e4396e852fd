"""How the attachments domain plugs in (server/domains.py): its worker jobs."""

from __future__ import annotations

from server.attachments.jobs import JOBS

__all__ = ["JOBS"]
