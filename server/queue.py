"""Sending buffered jobs to arq after a commit.

Jobs with a fixed ``_job_id`` are nudges ("there is work, go look"): a thousand commits a
second need one nudge, not a thousand Redis round trips. They are coalesced on the
trailing edge, so a nudge is always sent *after* the last commit that asked for one;
the worker's cron covers anything lost in a crash.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("fixflow.queue")


class JobSender:
    def __init__(self, pool: Any, *, coalesce_seconds: float = 0.2) -> None:
        self.pool = pool
        self.coalesce_seconds = coalesce_seconds
        self._pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, jobs: list[tuple[str, dict[str, Any]]]) -> None:
        for name, kwargs in jobs:
            job_id = kwargs.get("_job_id")
            if job_id is None:
                await self.pool.enqueue_job(name, **kwargs)
            elif job_id not in self._pending:
                self._pending[job_id] = (name, kwargs)
                task = asyncio.create_task(self._send_later(job_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send_later(self, job_id: str) -> None:
        await asyncio.sleep(self.coalesce_seconds)
        name, kwargs = self._pending.pop(job_id)
        try:
            await self.pool.enqueue_job(name, **kwargs)
        except Exception:
            log.warning("could not enqueue %s; the worker's cron will pick it up", name)

    async def drain(self) -> None:
        """Send what is pending now (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        pending, self._pending = self._pending, {}
        for name, kwargs in pending.values():
            await self.pool.enqueue_job(name, **kwargs)
