"""Operability: metrics, request ids in logs, CORS allowlist."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from server import logs
from server.config import get_settings
from server.main import create_app
from tests.fixtures.factories import make_tenant


async def test_metrics_expose_latency_by_route_queue_depth_job_outcomes_and_outbox_lag(
    client: httpx.AsyncClient, db: Any, app: Any
) -> None:
    t = await make_tenant(db)
    await client.get("/api/v1/tickets", headers=t.headers("dispatcher"))
    await app.state.redis.hincrby("fixflow:metrics:jobs", "tickets.sweep_sla:succeeded", 3)
    text = (await client.get("/metrics")).text
    assert (
        'fixflow_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/tickets",status="200"}'
        in text
    )
    assert "fixflow_worker_queue_depth" in text
    assert 'fixflow_worker_jobs_total{job="tickets.sweep_sla",outcome="succeeded"} 3.0' in text
    assert "fixflow_outbox_lag_seconds" in text


async def test_every_log_line_of_a_request_carries_its_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    formatter = logs.JsonFormatter()
    with caplog.at_level(logging.INFO, logger="fixflow.http"):
        response = await client.get("/health", headers={"X-Request-ID": "trace-abc-123"})
    assert response.headers["x-request-id"] == "trace-abc-123"
    lines = [json.loads(formatter.format(r)) for r in caplog.records if r.name == "fixflow.http"]
    assert lines and all(line["request_id"] == "trace-abc-123" for line in lines)
    assert lines[-1]["route"] == "/health" and lines[-1]["status"] == 200


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = (await client.get("/health")).headers["x-request-id"]
    second = (await client.get("/health")).headers["x-request-id"]
    assert first and second and first != second


async def test_cors_allows_only_configured_origins() -> None:
    settings = get_settings().model_copy(update={"CORS_ORIGINS": ["https://board.example.com"]})
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        preflight = {"Access-Control-Request-Method": "GET"}
        ok = await http.options(
            "/health", headers={"Origin": "https://board.example.com", **preflight}
        )
        assert ok.headers["access-control-allow-origin"] == "https://board.example.com"
        evil = await http.options(
            "/health", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in evil.headers
        # A browser client may send every precondition the API asks for (PUT creates a
        # replenishment level with If-None-Match: *).
        put = await http.options(
            "/api/v1/stock-locations/x/levels/y",
            headers={
                "Origin": "https://board.example.com",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "if-match, if-none-match",
            },
        )
        assert put.status_code == 200, put.text


async def test_ready_reports_a_dead_database(app: Any, client: httpx.AsyncClient) -> None:
    from server.db import make_engine

    healthy = app.state.engine
    app.state.engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=1)
    try:
        response = await client.get("/ready")
    finally:
        await app.state.engine.dispose()
        app.state.engine = healthy
    assert response.status_code == 503
    assert response.json()["database"].startswith("error")
    assert response.json()["redis"] == "ok"
