"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
    multiprocess,
)
from sqlalchemy import text

from server.events import service as events
from server.jobs import JOB_OUTCOMES_KEY

router = APIRouter(tags=["operations"])
log = logging.getLogger("fixflow.ops")

# Set by whichever process answers the scrape: with several API processes (multiprocess
# mode, below) the most recent value is the one reported.
QUEUE_DEPTH = Gauge(
    "fixflow_worker_queue_depth", "Jobs waiting in the arq queue", multiprocess_mode="mostrecent"
)
OUTBOX_LAG = Gauge(
    "fixflow_outbox_lag_seconds",
    "Age of the oldest undelivered outbox event",
    multiprocess_mode="mostrecent",
)
JOB_OUTCOMES = Gauge(
    "fixflow_worker_jobs_total",
    "Jobs finished by the workers",
    ["job", "outcome"],
    multiprocess_mode="mostrecent",
)


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: PostgreSQL and Redis reachable",
    responses={503: {"description": "A dependency is down"}},
)
async def ready(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 3)
        checks["database"] = "ok"
    except Exception:
        # Unauthenticated callers read this: the reason goes to our log, not to them.
        log.warning("readiness: the database is unreachable", exc_info=True)
        checks["database"] = "error: unreachable"
    try:
        await asyncio.wait_for(request.app.state.redis.ping(), 3)
        checks["redis"] = "ok"
    except Exception:
        log.warning("readiness: Redis is unreachable", exc_info=True)
        checks["redis"] = "error: unreachable"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    state: Any = request.app.state
    try:
        QUEUE_DEPTH.set(await state.redis.zcard("arq:queue"))
        outcomes = await state.redis.hgetall(JOB_OUTCOMES_KEY)
        for field, count in outcomes.items():
            name = field.decode() if isinstance(field, bytes) else str(field)
            job, _, outcome = name.rpartition(":")
            JOB_OUTCOMES.labels(job, outcome).set(float(count))
        async with state.sessionmaker() as session:
            OUTBOX_LAG.set(await events.outbox_lag_seconds(session))
    except Exception:  # noqa: S110 - metrics must render even when a dependency is down
        pass
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    """This process's metrics; with several API processes (``fixflow api --workers N`` sets
    PROMETHEUS_MULTIPROC_DIR) those of all of them, whichever one answers the scrape."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
