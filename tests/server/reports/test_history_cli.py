"""`fixflow demo --history` as a user runs it: a subprocess against the test database
(FIXFLOW_DATABASE_URL from conftest), committing, with its progress bars on stderr."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg

from server.reports.history import world


def fixflow(database_url: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env={**os.environ, "FIXFLOW_DATABASE_URL": database_url, "FIXFLOW_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


async def test_demo_history_generates_commits_and_refreshes(infra: dict[str, str]) -> None:
    slug = f"hist-cli-{uuid.uuid4().hex[:8]}"
    args = ["demo", "--history", "--work-orders", "500", "--engineers", "12", "--org", slug]
    done = await asyncio.to_thread(fixflow, infra["database_url"], args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "history: 500 work orders" in done.stdout and repr(slug) in done.stdout
    assert "history [" in done.stderr and "100.0% 500/500 work orders" in done.stderr
    assert "KPI facts [" in done.stderr and "100.0% 500/500" in done.stderr.split("KPI facts")[-1]
    conn = await asyncpg.connect(infra["database_url"])
    try:
        org = await conn.fetchval("SELECT id FROM organisations WHERE slug = $1", slug)
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM tickets WHERE org_id = $1) AS tickets,"
            " (SELECT count(*) FROM kpi_work_orders WHERE org_id = $1) AS facts,"
            " (SELECT count(DISTINCT territory) FROM engineers WHERE org_id = $1) AS territories,"
            " (SELECT last_number FROM ticket_counters WHERE org_id = $1) AS counter",
            org,
        )
    finally:
        await conn.close()
    assert dict(counts) == {
        "tickets": 500,
        "facts": 500,
        "territories": len(world.TERRITORIES),
        "counter": 500,
    }
    again = await asyncio.to_thread(fixflow, infra["database_url"], args)
    assert again.returncode == 1 and "already has a generated history" in again.stderr
