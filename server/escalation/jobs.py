"""Escalation's job: the sweep (every minute) takes the steps whose time came."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from server.db import session_scope
from server.escalation import engine
from server.jobs import job

log = logging.getLogger("fixflow.worker")


@job("escalation.sweep", cron={"second": {10}})
async def sweep(ctx: dict[str, Any]) -> int:
    taken = 0
    for _ in range(20):
        async with session_scope(ctx["sessionmaker"]) as session:
            batch = await engine.sweep(session, now=dt.datetime.now(dt.UTC))
        taken += batch
        if batch == 0:
            break
    if taken:
        log.info("escalation sweep took %d steps", taken)
    return taken


JOBS = (sweep,)
