"""The arq worker: every domain's jobs and cron, collected through server/domains.py.

Jobs are declared by their domain (``jobs.py``, server/jobs.py): thin (open a session,
call one service) and idempotent, since arq delivers at least once and the SLA sweep and
outbox delivery may run on several workers.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

import server.models  # noqa: F401  (every table known to the ORM)
from server import domains, logs
from server.attachments.storage import blob_store_for
from server.config import get_settings
from server.db import make_engine, make_sessionmaker
from server.jobs import Job

log = logging.getLogger("fixflow.worker")


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


def _functions(declared: tuple[Job, ...]) -> list[Any]:
    return [
        func(j.fn, keep_result=j.keep_result, max_tries=j.max_tries)  # type: ignore[arg-type]
        if j.keep_result is not None or j.max_tries is not None
        else j.fn
        for j in declared
    ]


def _cron_jobs(declared: tuple[Job, ...]) -> list[Any]:
    return [
        cron(j.fn, unique=True, run_at_startup=j.run_at_startup, **j.cron)  # type: ignore[arg-type]
        for j in declared
        if j.cron is not None
    ]


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    settings.check_production()
    domains.install()
    if ctx.get("configure_logs", True):
        logs.configure(settings.LOG_LEVEL)
    if not settings.DATABASE_URL:
        raise RuntimeError("DATABASE_URL is not set")
    ctx["engine"] = make_engine(settings.DATABASE_URL, pool_size=5)
    ctx["sessionmaker"] = make_sessionmaker(ctx["engine"])
    ctx["blob_store"] = blob_store_for(settings)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


class WorkerSettings:
    # Every domain's jobs (server/domains.py); keep_result=0 for the after-commit nudges,
    # which reuse one job id that must free up at once.
    functions = _functions(domains.jobs())
    cron_jobs = _cron_jobs(domains.jobs())
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 10
    job_timeout = 300
