"""Worker jobs, declared by the domain that owns them.

Each domain lists its jobs in its ``jobs.py`` with ``@job(...)``; its ``plug.py`` names
them (``JOBS``) and the worker (server/worker.py) collects every domain's through
``server.domains``, so a new domain's jobs and cron need no edit of the worker.

Jobs are thin (open a session, call one service) and idempotent: arq delivers at least
once, and cron jobs may run on several workers. Each outcome is counted in Redis, which the
API's ``/metrics`` shows.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from arq import Retry

JOB_OUTCOMES_KEY = "fixflow:metrics:jobs"
JobFn = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Job:
    """One arq function: ``name`` is how it is enqueued (``after_commit(session, name)``);
    ``cron`` the arq ``cron()`` schedule (``second=...``, ``minute=...``) when it also runs
    on a clock; ``keep_result=0`` for nudges that reuse one job id."""

    name: str
    fn: JobFn
    cron: dict[str, Any] | None = None
    run_at_startup: bool = False
    keep_result: int | None = None
    max_tries: int | None = None

    async def __call__(self, ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return await self.fn(ctx, *args, **kwargs)


class Later(Exception):
    """Raised by a job that cannot run now (its resource is busy): the queue runs it again
    in ``seconds``, and the worker slot is free meanwhile for other jobs."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"again in {seconds} s")
        self.seconds = seconds


def job(
    name: str,
    *,
    cron: dict[str, Any] | None = None,
    run_at_startup: bool = False,
    keep_result: int | None = None,
    max_tries: int | None = None,
) -> Callable[[JobFn], Job]:
    """Declare ``fn`` as the job ``name`` (its outcomes counted). ``max_tries``: how often
    it may run (a ``Later`` counts as a try); unset: arq's default (5)."""

    def declare(fn: JobFn) -> Job:
        @functools.wraps(fn)
        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            try:
                result = await fn(ctx, *args, **kwargs)
            except Later as later:
                await ctx["redis"].hincrby(JOB_OUTCOMES_KEY, f"{name}:deferred", 1)
                raise Retry(defer=later.seconds) from None
            except Exception:
                await ctx["redis"].hincrby(JOB_OUTCOMES_KEY, f"{name}:failed", 1)
                raise
            await ctx["redis"].hincrby(JOB_OUTCOMES_KEY, f"{name}:succeeded", 1)
            return result

        run.__qualname__ = name
        run.__name__ = name
        return Job(name, run, cron, run_at_startup, keep_result, max_tries)

    return declare
