"""Sync chaos (docs/sync.md "How it is tested"): the phone's real client against the real
server, over loopback TCP through a proxy that resets requests, cuts them halfway, loses
answers after the server committed, and delays; the server killed and started again; the
phones killed between their local commit and the server's acknowledgement. At the end
every mutation is applied exactly once, in each phone's order, and every phone holds what
the server holds.

The small run is part of ``make test``; ``make chaos`` runs the full one (5 phones, 5,000
mutations, 3 restarts). ``CHAOS_SEED`` picks the random choices (printed with the
summary); ``CHAOS_MUTATIONS`` and ``CHAOS_CLIENTS`` resize the full run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.harness import Plan, run, verify
from tests.chaos.proxy import Odds
from tests.fixtures.factories import PASSWORD


async def _chaos(plan: Plan, chaos_db: str, chaos_redis: str, tmp_path: Path) -> None:
    report, seeded, phones, server = await run(
        plan, database_url=chaos_db, redis_url=chaos_redis, workdir=tmp_path, password=PASSWORD
    )
    try:
        problems = await verify(chaos_db, f"http://127.0.0.1:{server.port}", seeded, phones, report)
    finally:
        for phone in phones:
            await phone.close()
        await server.stop()
    print("\n" + report.summary())
    assert not problems, "\n".join([report.summary(), *problems[:40]])
    assert sum(report.mutations.values()) == plan.mutations // plan.clients * plan.clients
    assert len(report.restarts) == plan.restarts
    # The chaos happened: each kind of fault and of phone death at least once.
    for fault in ("reset", "cut", "lost", "delay", "refused"):
        assert report.faults[fault] > 0, report.summary()
    for kill in ("after_local_commit", "push_answer"):
        assert report.kills[kill] > 0, report.summary()


@pytest.mark.slow
async def test_sync_chaos_small(chaos_db: str, chaos_redis: str, tmp_path: Path) -> None:
    """5 phones x 60 mutations, one server crash: the version ``make test`` runs."""
    plan = Plan(
        clients=5,
        mutations=300,
        work_orders=2,
        restarts=1,
        seed=int(os.environ.get("CHAOS_SEED", "7")),
        odds=Odds(reset=0.06, cut=0.05, lost=0.08, delay=0.1),
        kill_after_action=0.03,
        kill_push_answer=0.1,
        kill_pull_answer=0.02,
        gap=0.1,
        deadline=90,
    )
    await _chaos(plan, chaos_db, chaos_redis, tmp_path)


@pytest.mark.chaos
async def test_sync_chaos_full(chaos_db: str, chaos_redis: str, tmp_path: Path) -> None:
    """At least 5 phones, 5,000 mutations, three restarts (two crashes, one SIGTERM)."""
    clients = int(os.environ.get("CHAOS_CLIENTS", "5"))
    plan = Plan(
        clients=clients,
        mutations=int(os.environ.get("CHAOS_MUTATIONS", "5000")),
        work_orders=4,
        restarts=3,
        seed=int(os.environ.get("CHAOS_SEED", "2026")),
        kill_after_action=0.004,
        kill_push_answer=0.04,
        kill_pull_answer=0.03,
        gap=0.05,
        token_minutes=1,  # the phones refresh their tokens every 30 s, faults and all
        deadline=1800,
    )
    await _chaos(plan, chaos_db, chaos_redis, tmp_path)
