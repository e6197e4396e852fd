"""Capped exponential backoff with full jitter (the AWS Architecture Blog's recommendation):
the n-th consecutive failure waits a uniform random time in [0, min(cap, base * 2**(n-1))],
and never less than the server's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def success(self) -> None:
        self.failures = 0

    def failure(self, retry_after: float | None = None) -> float:
        """Count a failure; the seconds to wait before the next attempt."""
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** min(self.failures - 1, 62))
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap))
        return delay
