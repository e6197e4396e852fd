"""How long the change feed keeps its rows, deletions and scope exits included.

Rows older than ``SYNC_TOMBSTONE_DAYS`` (at least 90) are pruned per organisation, as a
prefix of the feed in (txid, id) order, and the last position pruned is kept as the
organisation's horizon. A cursor at or before the horizon may have missed a deletion or a
``remove``, so its next pull is a full snapshot (``reset``) rather than a silent
resurrection of rows deleted meanwhile. Idle installations do not fall behind: a pull that
finds nothing moves the cursor up to the watermark (server/sync/pull.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import get_settings

_ORGS = text("SELECT DISTINCT org_id FROM sync_changes WHERE created_at < :cutoff")
_LAST = text(
    """
    SELECT txid, id FROM sync_changes
     WHERE org_id = :org AND created_at < :cutoff
     ORDER BY txid DESC, id DESC LIMIT 1
    """
)
_DELETE = text("DELETE FROM sync_changes WHERE org_id = :org AND (txid, id) <= (:txid, :id)")
_HORIZON = text(
    """
    INSERT INTO sync_horizons (org_id, txid, change_id) VALUES (:org, :txid, :id)
    ON CONFLICT (org_id) DO UPDATE
       SET txid = excluded.txid, change_id = excluded.change_id, pruned_at = now()
     WHERE (sync_horizons.txid, sync_horizons.change_id) < (excluded.txid, excluded.change_id)
    """
)


async def prune(session: AsyncSession, *, cutoff: dt.datetime | None = None) -> int:
    """Prune feed rows written before ``cutoff`` (default: the retention window ago);
    returns how many were deleted."""
    if cutoff is None:
        days = get_settings().SYNC_TOMBSTONE_DAYS
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    deleted = 0
    for (org_id,) in (await session.execute(_ORGS, {"cutoff": cutoff})).all():
        last = (await session.execute(_LAST, {"org": org_id, "cutoff": cutoff})).one()
        params = {"org": org_id, "txid": last.txid, "id": last.id}
        result = await session.execute(_DELETE, params)
        deleted += int(getattr(result, "rowcount", 0) or 0)
        await session.execute(_HORIZON, params)
    return deleted
