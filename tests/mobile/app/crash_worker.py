"""A phone working through its jobs as fast as it can, to be killed with SIGKILL at a random
instruction (tests/mobile/app/test_crash.py). Each action is announced before and after it
runs, with the length of the outbox at that moment; the next action is chosen from the
store's state, so a restarted worker carries on where the killed one stopped.

    python -m tests.mobile.app.crash_worker <data-dir>
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mobile.core import Work, job_view
from mobile.device.fakes import FakeLocation, fake_device, fix_at
from mobile.store import Store

NOTES_PER_JOB = 20


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def step(work: Work, store: Store, wid: str) -> tuple[str, Callable[[], Any]] | None:
    """The job's next action (its name and how to do it), or None when it is finished."""
    job = job_view(store, wid)
    assert job is not None
    status, visit = job.status, job.open_visit
    if status == "assigned":
        return "accept", lambda: work.accept(wid)
    if status == "accepted":
        return "start_travel", lambda: work.start_travel(wid)
    if status == "travelling":
        return "check_in", lambda: work.check_in(wid)
    if status == "on_site" and len(job.notes) < NOTES_PER_JOB:
        return "note", lambda: work.add_note(
            wid, f"note {len(job.notes) + 1}", visit_id=visit["id"] if visit else None
        )
    if status == "on_site":
        return "resolve", lambda: work.resolve(wid, resolution_code="FIXED", summary="done")
    if status == "resolved" and visit is not None:
        return "check_out", lambda: work.check_out(wid, str(visit["id"]))
    return None


async def main(folder: Path) -> None:
    store = Store(folder / "fixflow.sqlite3")
    device = fake_device(
        folder / "device", location=FakeLocation(fix_at(lat=31.23, lon=121.47, accuracy_m=5.0))
    )
    work = Work(store, device)
    now, tz = dt.datetime.now(dt.UTC), ZoneInfo("Asia/Shanghai")
    wids = [str(w["id"]) for w in store.my_work_orders("today", now=now, tz=tz)]
    n = 0
    for wid in sorted(wids):
        while (next_ := await step(work, store, wid)) is not None:
            name, action = next_
            n += 1
            say(f"begin {n} {name} {len(store.outbox())}")
            result = action()
            if asyncio.iscoroutine(result):
                await result
            say(f"end {n} {name} {len(store.outbox())}")
    say("finished")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
