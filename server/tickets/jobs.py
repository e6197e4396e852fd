"""Work orders' jobs: the SLA sweep (at risk, breached) every minute."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from server.config import get_settings
from server.db import session_scope
from server.jobs import job
from server.tickets import sla

log = logging.getLogger("fixflow.worker")


@job("tickets.sweep_sla", cron={"second": {0}}, run_at_startup=True)
async def sweep_sla(ctx: dict[str, Any]) -> int:
    settings = get_settings()
    changed = 0
    for _ in range(20):
        async with session_scope(ctx["sessionmaker"]) as session:
            batch = await sla.sweep(
                session,
                now=dt.datetime.now(dt.UTC),
                at_risk_fraction=settings.SLA_AT_RISK_FRACTION,
            )
        changed += batch
        if batch == 0:
            break
    if changed:
        log.info("sla sweep marked %d work orders", changed)
    return changed


JOBS = (sweep_sla,)
