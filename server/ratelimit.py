"""Fixed-window rate limits kept in Redis (shared by all API replicas)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from server.errors import TooManyRequests


async def hit(redis: Any, bucket: str, *, limit: int, window_s: int = 60) -> None:
    """Count one attempt in ``bucket``; raise 429 past ``limit`` per window."""
    window = int(time.time()) // window_s
    key = f"fixflow:rl:{hashlib.sha256(bucket.encode()).hexdigest()[:32]}:{window}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_s * 2)
        count, _ = await pipe.execute()
    if int(count) > limit:
        retry = window_s - int(time.time()) % window_s
        exc = TooManyRequests(f"too many attempts; retry in {retry} s", retry_after=retry)
        exc.headers["Retry-After"] = str(retry)
        raise exc
