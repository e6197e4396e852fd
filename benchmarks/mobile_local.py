"""The phone on its own, for ``bench_mobile``: cold starts (``benchmarks/mobile_start.py`` in
fresh processes) and enqueueing actions on the store, each against its bare baseline.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.common import latency_summary
from benchmarks.mobile_plan import PhoneDriver, Step
from mobile.store import Store
from server.config import ROOT

STARTS = int(os.environ.get("BENCH_MOBILE_STARTS", "5"))  # measured starts per side and run
GPS = "31.2304,121.4737,8"  # the desktop device's position (Shanghai): Today shows distances
# The instants the start script marks, in order; a phase is named after the instant that
# ends it (``kivy_imported_s``: from the first line until Kivy and its window are loaded).
PHASES = ("first_line", "kivy_imported", "app_imported", "built", "first_flip", "drawn")


# --------------------------------------------------------------------------- starts


def start_environment(kivy_home: Path, pycache: Path, language: str) -> dict[str, str]:
    """The start processes' environment: Kivy's settings, the device's position and
    language, and bytecode cached under ``pycache`` (written by the warm-up starts), as an
    installed app has it: the APK carries compiled modules; PYTHONDONTWRITEBYTECODE (set on
    some machines) would compile the app's modules from source at every start."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        PYTHONPYCACHEPREFIX=str(pycache),
        KIVY_NO_ARGS="1",
        KIVY_NO_CONSOLELOG="1",
        KIVY_NO_FILELOG="1",
        KIVY_HOME=str(kivy_home),
        FIXFLOW_DEVICE_GPS=GPS,
        LANGUAGE=language,
        PYTHONUNBUFFERED="1",
    )
    return env


async def one_start(kind: str, data: Path, env: dict[str, str]) -> dict[str, float]:
    """One process from exec to its first frame (``kind``: ``app`` or ``bare``); seconds
    from just before the process is created, and within the process from its first line."""
    spawned = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.mobile_start",
        kind,
        str(data),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    lines = out.decode().strip().splitlines()
    marks = json.loads(lines[-1]) if lines else {}
    if proc.returncode != 0 or "drawn" not in marks:
        raise RuntimeError(
            f"{kind} start failed ({proc.returncode}): {marks}\n{err.decode()[-3000:]}"
        )
    instants = [("spawned", spawned)] + [(k, marks[k]) for k in PHASES if k in marks]
    phases = {f"{b}_s": at_b - at_a for (_, at_a), (b, at_b) in pairwise(instants)}
    return {
        "s": marks["drawn"] - spawned,
        **phases,
        "rows": marks.get("rows", 0),
        "visible_rows": marks.get("visible_rows", 0),
    }


def _start_summary(starts: list[dict[str, float]]) -> dict[str, Any]:
    seconds = [s["s"] for s in starts]
    return {
        "starts": len(starts),
        "median_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "phases_median_s": {
            k: round(statistics.median(s[k] for s in starts), 3)
            for k in starts[0]
            if k.endswith("_s")
        },
        "rows": starts[0]["rows"],
        "visible_rows": starts[0]["visible_rows"],
    }


async def measure_starts(data: Path, env: dict[str, str], jobs: int) -> dict[str, Any]:
    """One warm-up start per side (page cache, Kivy's config file), then STARTS per side,
    alternating. The app's must show ``jobs`` rows."""
    await one_start("bare", data, env)
    await one_start("app", data, env)
    app, bare = [], []
    for _ in range(STARTS):
        bare.append(await one_start("bare", data, env))
        app.append(await one_start("app", data, env))
    wrong = [s["rows"] for s in app if s["rows"] != jobs]
    if wrong:
        raise RuntimeError(f"the Today list held {wrong[0]} rows, not {jobs}")
    return {"app": _start_summary(app), "bare": _start_summary(bare)}


# --------------------------------------------------------------------------- enqueue


class BareOutbox:
    """The baseline: one table, one INSERT + COMMIT per action, WAL, synchronous=FULL, in
    a database beside the phone's (the same disk)."""

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.con = sqlite3.connect(path, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=FULL")
        self.con.execute(
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,"
            " name TEXT NOT NULL, args TEXT NOT NULL, device_time TEXT NOT NULL)"
        )

    def insert(self, row: tuple[str, str, str, str]) -> None:
        self.con.execute("BEGIN IMMEDIATE")
        self.con.execute(
            "INSERT INTO outbox (id, name, args, device_time) VALUES (?, ?, ?, ?)", row
        )
        self.con.execute("COMMIT")

    def count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        self.con.close()


def _last_outbox_row(store: Store) -> tuple[str, str, str, str]:
    """The row the action just queued (read outside the timing): the baseline writes the
    same bytes."""
    with store._read() as con:
        row = con.execute(
            "SELECT id, name, args, device_time FROM outbox ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    return (row["id"] + "-bare", row["name"], row["args"], row["device_time"])


def measure_enqueue(store: Store, bare_path: Path, steps: list[Step]) -> dict[str, Any]:
    """Each step through the store, then its outbox row into the bare table, alternating."""
    driver, bare = PhoneDriver(store), BareOutbox(bare_path)
    mine: list[float] = []
    theirs: list[float] = []
    by_name: dict[str, list[float]] = {}
    before = store.pending_count()
    try:
        for step in steps:
            started = time.perf_counter()
            driver.play(step)
            seconds = time.perf_counter() - started
            mine.append(seconds)
            by_name.setdefault(step.name, []).append(seconds)
            row = _last_outbox_row(store)
            started = time.perf_counter()
            bare.insert(row)
            theirs.append(time.perf_counter() - started)
        queued, written = store.pending_count() - before, bare.count()
    finally:
        bare.close()
    if queued != len(steps) or written != len(steps):
        raise RuntimeError(f"{len(steps)} actions, {queued} queued, {written} bare rows")
    return {
        "store": latency_summary(mine),
        "bare_sqlite": latency_summary(theirs),
        "store_by_action": {k: latency_summary(v) for k, v in by_name.items()},
    }
