"""The arq worker: the one registry of jobs and cron.

Jobs are thin (open a session, call one service) and idempotent: arq delivers at
least once, and the SLA sweep and outbox delivery may run on several workers.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

import server.models  # noqa: F401  (every table known to the ORM)
from server import logs
from server.attachments import derive as attachment_images
from server.attachments import service as attachments
from server.attachments import uploads
from server.attachments.storage import blob_store_for
from server.config import get_settings
from server.db import make_engine, make_sessionmaker, session_scope
from server.events import service as events
from server.ops.router import JOB_OUTCOMES_KEY
from server.sync import retention as sync_retention
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


@_recorded("attachments.derive_images")
async def derive_images(ctx: dict[str, Any], org_id: str, sha256: str) -> bool:
    """The thumbnail and customer-safe copy of one blob (idempotent: a re-run is a no-op)."""
    async with session_scope(ctx["sessionmaker"]) as session:
        blob = await attachment_images.derive_images(
            session,
            ctx["blob_store"],
            org_id=uuid.UUID(org_id),
            sha256=sha256,
            max_pixels=get_settings().UPLOAD_MAX_PIXELS,
        )
    return blob is not None and blob.thumbnail_sha256 is not None


@_recorded("attachments.sweep")
async def sweep_attachments(ctx: dict[str, Any]) -> int:
    """Pending attachments whose bytes are stored; derived images a lost nudge never made;
    abandoned uploads' partial bytes."""
    async with session_scope(ctx["sessionmaker"]) as session:
        settled = await attachments.settle_pending(session)
    if settled:
        log.warning("attachments sweep: %d pending attachments had their bytes", settled)
    async with session_scope(ctx["sessionmaker"]) as session:
        todo = await attachment_images.underived(session, older_than=dt.timedelta(minutes=1))
    for org_id, sha256 in todo:
        await derive_images(ctx, str(org_id), sha256)
    async with session_scope(ctx["sessionmaker"]) as session:
        expired = await uploads.expire_uploads(session, ctx["blob_store"])
    async with session_scope(ctx["sessionmaker"]) as session:
        await uploads.purge_uploads(session, older_than=dt.timedelta(days=7))
    return settled + len(todo) + expired


@_recorded("sync.prune_feed")
async def prune_sync_feed(ctx: dict[str, Any]) -> int:
    """Feed rows past the retention window (older cursors then get a full snapshot)."""
    async with session_scope(ctx["sessionmaker"]) as session:
        return await sync_retention.prune(session)


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    settings.check_production()
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
    # keep_result=0: the after-commit nudge reuses one job id, which must free up at once.
    functions = [
        func(deliver_outbox, keep_result=0),  # type: ignore[arg-type]
        sweep_sla,
        func(derive_images, keep_result=0),  # type: ignore[arg-type]
        sweep_attachments,
        prune_sync_feed,
    ]
    cron_jobs = [
        cron(sweep_sla, second={0}, unique=True, run_at_startup=True),  # type: ignore[arg-type]
        cron(deliver_outbox, second=set(range(0, 60, 5)), unique=True),  # type: ignore[arg-type]
        # Every minute: a derive job lost between the upload's commit and its enqueue (the
        # API killed in between) is made up within about two minutes.
        cron(sweep_attachments, second={30}, unique=True, run_at_startup=True),  # type: ignore[arg-type]
        cron(prune_sync_feed, hour={3}, minute={17}, second={0}, unique=True),  # type: ignore[arg-type]
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 10
    job_timeout = 300
