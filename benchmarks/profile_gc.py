"""How long a full garbage collection stops a warmed-up API process, with and without the
heap freezes of server/runtime.py: ``python -m benchmarks.profile_gc [none|startup|warmup]``;
and the collector's time under 8 requests in flight per threshold:
``python -m benchmarks.profile_gc thresholds`` (or ``threshold:5000,10,10``).

A diagnostic, not a benchmark. Seeds a small ``bench_load`` organisation (100 engineers),
starts the app in this process (its lifespan: the start-up freeze unless ``none``), warms
it up with 300 idle pulls and 300 dispatcher's boards through ``httpx.ASGITransport``,
freezes once more for ``warmup`` (what ``FIXFLOW_GC_FREEZE_AFTER_SECONDS`` does), then
times ``gc.collect()`` five times: the objects the collector still walks and the pause.
Each mode runs in a process of its own (a frozen heap cannot be compared with an unfrozen
one in one process). A threshold run freezes after the warm-up, sets the thresholds, then
sends 9,600 requests, 8 at a time, and sums the pauses ``fixflow_gc_pause_seconds``
observed per generation.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BENCH_LOAD_ENGINEERS", "100")
os.environ.setdefault("BENCH_LOAD_STEPS", "100")

import asyncpg
import httpx
from prometheus_client import REGISTRY

from benchmarks import bench_load
from benchmarks.common import fresh_database, plain_url
from server import embedded
from server.config import get_settings

MODES = ("none", "startup", "warmup")
THRESHOLDS = ("700,10,10", "1000,10,10", "2000,10,10", "5000,10,10", "700,10,100")
SECRET = "profile-gc-" + "x" * 32
BOARD = "/api/v1/tickets?status=new&status=assigned&status=accepted&limit=50"


def _full_collections_ms(times: int = 5) -> list[float]:
    out = []
    for _ in range(times):
        started = time.perf_counter()
        gc.collect()
        out.append(round((time.perf_counter() - started) * 1000, 1))
    return out


class _Api:
    secret_key, port = SECRET, 0


async def _warm_up(app: object, seeded: bench_load.Seeded, phones: list) -> None:
    user_id, role = seeded.office[0]
    token = bench_load._token(SECRET, user_id, seeded.org.tenant.org_id, role)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://profile") as http:
        for n in range(300):
            phone = phones[n % len(phones)]
            pull = await http.get(
                "/api/v1/sync/pull",
                params={"client_id": str(phone.client_id), "cursor": phone.cursor},
                headers={"Authorization": f"Bearer {phone.token}"},
            )
            board = await http.get(BOARD, headers={"Authorization": f"Bearer {token}"})
            if pull.status_code != 200 or board.status_code != 200:
                raise RuntimeError(f"warm-up failed: {pull.text[:200]} {board.text[:200]}")


def _pauses() -> dict[tuple[str, int], float]:
    return {
        (kind, g): REGISTRY.get_sample_value(
            f"fixflow_gc_pause_seconds_{kind}", {"generation": str(g)}
        )
        or 0.0
        for kind in ("count", "sum")
        for g in range(3)
    }


async def _under_thresholds(
    app: object, seeded: bench_load.Seeded, phones: list, thresholds: str
) -> None:
    gc.collect()
    gc.freeze()
    young, middle, old = (int(v) for v in thresholds.split(","))
    gc.set_threshold(young, middle, old)
    before = _pauses()
    for _ in range(2):  # 2 x 8 x 600 requests
        await asyncio.gather(*(_warm_up(app, seeded, phones[i::8]) for i in range(8)))
    after = _pauses()
    parts, total = [], 0.0
    for g in range(3):
        count = int(after[("count", g)] - before[("count", g)])
        ms = (after[("sum", g)] - before[("sum", g)]) * 1000
        total += ms
        mean = f"{ms / count:.2f} ms" if count else "-"
        parts.append(f"gen{g} {count} of {mean}")
    print(f"threshold {thresholds}: {', '.join(parts)}; {total:,.0f} ms in all", flush=True)


async def one(mode: str) -> None:
    pg_url, pg = embedded.start_postgres(Path(tempfile.mkdtemp(prefix="fixflow-gc-pg-")))
    redis_url, redis = embedded.start_redis(Path(tempfile.mkdtemp(prefix="fixflow-gc-redis-")))
    try:
        db_url = await fresh_database(pg_url, "fixflow_profile_gc")
        conn = await asyncpg.connect(plain_url(db_url))
        seeded = await bench_load.seed(conn)
        phones = await bench_load.phones(conn, seeded, _Api, random.Random(1))  # type: ignore[arg-type]
        await conn.close()
        os.environ.update(
            FIXFLOW_DATABASE_URL=db_url,
            FIXFLOW_REDIS_URL=redis_url,
            FIXFLOW_SECRET_KEY=SECRET,
            FIXFLOW_GC_FREEZE="false" if mode == "none" else "true",
            FIXFLOW_GC_FREEZE_AFTER_SECONDS="0",
        )
        get_settings.cache_clear()
        from server.main import create_app

        app = create_app()
        async with app.router.lifespan_context(app):
            await _warm_up(app, seeded, phones)
            if mode.startswith("threshold:"):
                await _under_thresholds(app, seeded, phones, mode.split(":", 1)[1])
                return
            if mode == "warmup":
                gc.collect()
                gc.freeze()
            walked = len(gc.get_objects())
            print(
                f"{mode}: the collector walks {walked:,} objects ({gc.get_freeze_count():,} "
                f"frozen); full collections {_full_collections_ms()} ms",
                flush=True,
            )
    finally:
        redis.shutdown()
        pg.cleanup()


if __name__ == "__main__":
    wanted = sys.argv[1:] or list(MODES)
    if wanted == ["thresholds"]:
        wanted = [f"threshold:{t}" for t in THRESHOLDS]
    if len(wanted) == 1:
        asyncio.run(one(wanted[0]))
    else:
        for mode in wanted:
            subprocess.run([sys.executable, "-m", "benchmarks.profile_gc", mode], check=True)
