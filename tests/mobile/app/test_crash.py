"""The app's process killed (SIGKILL) at random points while the engineer works: after each
restart the outbox holds every action that finished and at most the one in flight, never a
double; the screens show what the outbox says; a sync then delivers each action once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mobile.store import Store
from mobile.ui.screens.job import _status_label
from server.sync.models import SyncMutation
from tests.fixtures.factories import Tenant
from tests.mobile.app.data import jobs_for
from tests.mobile.app.test_job_flow import log_in

ROOT = Path(__file__).resolve().parents[3]
KILLS = 12
STATUS_AFTER = {
    "work_order.accept": "accepted",
    "work_order.start_travel": "travelling",
    "visit.check_in": "on_site",
    "work_order.resolve": "resolved",
}


def run_and_kill(folder: Path, rng: random.Random) -> list[str]:
    """Start the worker and SIGKILL it a random few milliseconds after a random line of
    its output (so the kill lands anywhere in an action, not only between them); every
    line it printed."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.mobile.app.crash_worker", str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert worker.stdout is not None
    lines, target = [], rng.randint(4, 60)
    while len(lines) < target and (line := worker.stdout.readline()):
        lines.append(line.decode().strip())
    time.sleep(rng.uniform(0, 0.006))
    worker.send_signal(signal.SIGKILL)
    rest, _ = worker.communicate(timeout=30)
    return lines + rest.decode().splitlines()


# What each action writes to the outbox, in order (a timer stopping records its labour).
WRITES = {
    "accept": ["work_order.accept"],
    "start_travel": ["work_order.start_travel"],
    "check_in": ["labour.add", "visit.check_in"],
    "note": ["note.add"],
    "resolve": ["work_order.resolve"],
    "check_out": ["labour.add", "visit.check_out"],
}


def check_outbox(folder: Path, lines: list[str]) -> int:
    """The outbox after a kill holds exactly what the finished actions wrote, plus at most
    a prefix of what the action in flight writes: nothing lost, nothing doubled."""
    store = Store(folder / "fixflow.sqlite3")
    try:
        entries = store.outbox()
    finally:
        store.close()
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))  # no gap
    assert len({e.id for e in entries}) == len(entries)
    announced = [line.split() for line in lines if line.startswith(("begin ", "end "))]
    if not announced:
        return len(entries)
    what, _n, action, length = announced[-1]
    if what == "end":
        assert len(entries) == int(length)
    else:
        written = [e.name for e in entries[int(length) :]]
        assert written == WRITES[action][: len(written)], (action, written)
    return len(entries)


async def test_killing_the_app_mid_action_loses_and_doubles_nothing(
    ui: Callable[..., Any],
    tenant: Tenant,
    db: AsyncSession,
    tmp_path: Path,
    client: httpx.AsyncClient,
) -> None:
    jobs = await jobs_for(db, tenant, 10)
    folder = tmp_path / "phone"
    phone = await ui(folder)
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    await phone.settle()
    await phone.stop()

    rng = random.Random(int(os.environ.get("CRASH_SEED", "11")))
    count, mid_action = 0, 0
    for _ in range(KILLS):
        lines = run_and_kill(folder, rng)
        assert "finished" not in lines, "the work ran out before the kill: give it more"
        assert check_outbox(folder, lines) >= count  # never fewer than before
        count = check_outbox(folder, lines)
        mid_action += bool(lines) and lines[-1].startswith("begin ")
    assert count > KILLS  # every round got some work done
    assert mid_action >= 2, "no kill landed inside an action: the test proves nothing"

    phone = await ui(folder)  # the app restarted on what the kills left
    entries = phone.app.store.outbox()
    for job in jobs:
        wid = str(job.id)
        mine = [e for e in entries if e.args.get("work_order_id") == wid]
        expected = "assigned"
        for e in mine:
            expected = STATUS_AFTER.get(e.name, expected)
        phone.app.go("job", work_order_id=wid)
        await phone.frames(2)
        assert phone.screen.status_text == _status_label(expected), (wid, [m.name for m in mine])
        notes = sum(
            1 for e in entries if e.name == "note.add" and e.args.get("work_order_id") == wid
        )
        assert f"Notes: {notes}" in phone.texts()

    await phone.app.session.sync_now()
    await phone.settle()
    stored = (
        await db.execute(
            select(SyncMutation.seq, SyncMutation.mutation_id)
            .where(SyncMutation.client_id == uuid.UUID(phone.app.store.client_id))
            .order_by(SyncMutation.seq)
        )
    ).all()
    assert [(r.seq, str(r.mutation_id)) for r in stored] == [(e.seq, e.id) for e in entries]
    assert Counter(e.name for e in entries)["work_order.accept"] >= 1
    for job in jobs:  # the server ends where the phone's outbox says
        await db.refresh(job)
        expected = "assigned"
        for e in entries:
            if e.args.get("work_order_id") == str(job.id):
                expected = STATUS_AFTER.get(e.name, expected)
        assert job.status == expected
