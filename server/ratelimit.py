"""Fixed-window rate limits kept in Redis (shared by all API replicas)."""

from __future__ import annotations

import hashlib
import ipaddress
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


def client_key(host: str | None) -> str:
    """The client a per-address limit counts: an IPv4 address, an IPv6 client by its /64
    (a subscriber's prefix, in which they may pick any of 2**64 addresses, one per
    attempt), an IPv4-mapped IPv6 address as the IPv4 address it is."""
    try:
        ip = ipaddress.ip_address((host or "").split("%")[0])
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)
