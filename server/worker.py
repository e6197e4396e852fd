"""The arq worker: the one registry of jobs and cron.

Jobs are thin (open a session, call one service) and idempotent: arq delivers at
least once, and the SLA sweep and outbox delivery may run on several workers.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

import server.models  # noqa: F401  (every table known to the ORM)
from server import logs
from server.config import get_settings
from server.db import make_engine, make_sessionmaker, session_scope
from server.events import service as events
from server.ops.router import JOB_OUTCOMES_KEY
from server.tickets import sla

log = logging.getLogger("fixflow.worker")
Job = Callable[..., Awaitable[Any]]


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


def _recorded(name: str) -> Callable[[Job], Job]:
    """Count each job's outcome in Redis so the API's /metrics can show it."""

    def wrap(fn: Job) -> Job:
        @functools.wraps(fn)
        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            try:
                result = await fn(ctx, *args, **kwargs)
            except Exception:
                await ctx["redis"].hincrby(JOB_OUTCOMES_KEY, f"{name}:failed", 1)
                raise
            await ctx["redis"].hincrby(JOB_OUTCOMES_KEY, f"{name}:succeeded", 1)
            return result

        run.__qualname__ = name
        run.__name__ = name
        return run

    return wrap


@_recorded("events.deliver_outbox")
async def deliver_outbox(ctx: dict[str, Any]) -> int:
    total = 0
    for _ in range(50):  # bounded: a huge backlog is finished by the next runs
        async with session_scope(ctx["sessionmaker"]) as session:
            delivered, failed = await events.deliver_pending(session)
        total += delivered
        if delivered + failed == 0:
            break
    return total


@_recorded("tickets.sweep_sla")
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


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    if ctx.get("configure_logs", True):
        logs.configure(settings.LOG_LEVEL)
    if not settings.DATABASE_URL:
        raise RuntimeError("DATABASE_URL is not set")
    ctx["engine"] = make_engine(settings.DATABASE_URL, pool_size=5)
    ctx["sessionmaker"] = make_sessionmaker(ctx["engine"])


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


class WorkerSettings:
    # keep_result=0: the after-commit nudge reuses one job id, which must free up at once.
    functions = [func(deliver_outbox, keep_result=0), sweep_sla]  # type: ignore[arg-type]
    cron_jobs = [
        cron(sweep_sla, second={0}, unique=True, run_at_startup=True),  # type: ignore[arg-type]
        cron(deliver_outbox, second=set(range(0, 60, 5)), unique=True),  # type: ignore[arg-type]
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 10
    job_timeout = 300
