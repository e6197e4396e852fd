"""The KPIs' job: every minute, each organisation's facts are brought up to date."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import session_scope
from server.jobs import job
from server.orgs import Organisation
from server.reports import refresh

log = logging.getLogger("fixflow.worker")


async def refresh_one(session: AsyncSession, org_id: uuid.UUID) -> tuple[int, int] | None:
    """Refresh one organisation under its advisory lock; None when another worker holds
    it (that one is doing the same work, so this one need not wait)."""
    if not await refresh.hold(session, org_id, wait=False):
        return None
    return await refresh.refresh_org(session, org_id)


@job("reports.refresh", cron={"second": {30}}, keep_result=0)
async def refresh_all(ctx: dict[str, Any]) -> int:
    """Each organisation in its own transaction, so one slow or failing organisation
    neither holds back nor rolls back the others."""
    async with session_scope(ctx["sessionmaker"]) as session:
        org_ids = list(await session.scalars(select(Organisation.id).order_by(Organisation.id)))
    written = 0
    for org_id in org_ids:
        try:
            async with session_scope(ctx["sessionmaker"]) as session:
                done = await refresh_one(session, org_id)
        except Exception:
            log.exception("KPI refresh of organisation %s failed", org_id)
            continue
        if done is not None:
            written += done[0]
    return written


async def command(
    maker: async_sessionmaker[AsyncSession],
    *,
    slug: str | None,
    full: bool,
    echo: Callable[[str], None],
) -> int:
    """``fixflow kpi-refresh``: refresh one organisation (by slug) or all, each in its own
    transaction under the job's lock (it waits for a running job instead of skipping).
    Returns how many organisations were refreshed; 0 when the slug names none."""
    async with session_scope(maker) as session:
        query = select(Organisation.id, Organisation.slug).order_by(Organisation.slug)
        if slug is not None:
            query = query.where(Organisation.slug == slug)
        rows = (await session.execute(query)).all()
    for org_id, org_slug in rows:
        async with session_scope(maker) as session:
            await refresh.hold(session, org_id)

            def bar(done: int, total: int, name: str = org_slug) -> None:
                if done == total or done % (refresh.BATCH * 10) == 0:
                    echo(f"{name}: {done}/{total} work orders")

            written, days = await refresh.refresh_org(session, org_id, full=full, progress=bar)
        echo(f"{org_slug}: {written} work orders, {days} engineer days refreshed")
    return len(rows)


JOBS = (refresh_all,)
