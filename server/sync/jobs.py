"""The sync feed's job: prune rows past the retention window, nightly."""

from __future__ import annotations

from typing import Any

from server.db import session_scope
from server.jobs import job
from server.sync import retention as sync_retention


@job("sync.prune_feed", cron={"hour": {3}, "minute": {17}, "second": {0}})
async def prune_sync_feed(ctx: dict[str, Any]) -> int:
    """Feed rows past the retention window (older cursors then get a full snapshot)."""
    async with session_scope(ctx["sessionmaker"]) as session:
        return await sync_retention.prune(session)


JOBS = (prune_sync_feed,)
