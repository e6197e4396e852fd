"""The API process's garbage collector: measured, and tuned once start-up is over.

CPython's cyclic collector stops the whole process while it runs. A full (generation 2)
collection walks every tracked object, and after start-up an API process holds a few
hundred thousand of them that live as long as the process (the modules, FastAPI's routes
and their pydantic validators, SQLAlchemy's mappers and compiled-statement caches): a full
collection took 100-130 ms under load, and stalled every request in flight for that long.

So once the application has started, each process collects and then **freezes** its heap
(``gc.freeze()``: what exists now moves to a permanent generation the collector no longer
walks). The first requests build more that lives as long (SQLAlchemy's compiled-statement
cache, asyncpg's prepared statements, FastAPI's and pydantic's lazily built parts: a full
collection still took 70 ms under load after the start-up freeze), so the process freezes
again once, ``FIXFLOW_GC_FREEZE_AFTER_SECONDS`` after start-up. Only cyclic garbage from
before a freeze is never collected; reference counting frees the rest as usual.
The youngest generation's threshold is raised from Python's 700 to
``FIXFLOW_GC_THRESHOLD`` (5,000): with a few requests in flight, 700 net new objects come
every few hundred microseconds and each young collection walks the live objects of every
request in flight; at 5,000 the collector ran 70 times where it ran 5,000, and spent a
tenth of the time, in pauses of about 5 ms (docs/benchmarks.md, "load").
``FIXFLOW_GC_FREEZE=false`` turns the freezing off (docs/deployment.md).

Every collection's pause is observed in the histogram ``fixflow_gc_pause_seconds``
(by generation) on ``/metrics``: about a microsecond per collection.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from prometheus_client import Histogram

GC_PAUSE = Histogram(
    "fixflow_gc_pause_seconds",
    "Pauses of the cyclic garbage collector, by generation",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
)
_BY_GENERATION = [GC_PAUSE.labels(str(g)) for g in range(3)]
_started = [0.0]


def _observe(phase: str, info: dict[str, Any]) -> None:
    # Collections hold the GIL from start to stop, so one start time serves every thread.
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _BY_GENERATION[info["generation"]].observe(time.perf_counter() - _started[0])


def measure_pauses() -> None:
    """Observe every collection's pause (once per process)."""
    if _observe not in gc.callbacks:
        gc.callbacks.append(_observe)


def after_startup(*, freeze: bool, threshold: int) -> None:
    """Called once the application has started: collect what start-up left behind, then
    freeze the survivors; ``threshold`` (0: Python's default) for the youngest generation."""
    if threshold:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)
    if freeze:
        gc.collect()
        gc.freeze()


async def freeze_after(seconds: float) -> None:
    """Freeze once more after the warm-up (a task of the application's lifespan)."""
    await asyncio.sleep(seconds)
    gc.collect()
    gc.freeze()
