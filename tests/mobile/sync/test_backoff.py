"""The retry timer: capped exponential growth with full jitter, never under Retry-After."""

from __future__ import annotations

import random

from mobile.sync import Backoff


def test_delays_grow_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(7))
    for ceiling in (1, 2, 4, 8, 16, 32, 60, 60, 60, 60):
        assert 0 <= backoff.failure() <= ceiling
    # The ceiling really grows: the largest of many 7th attempts nears the cap.
    sevenths = []
    for seed in range(200):
        b = Backoff(base=1.0, cap=60.0, rng=random.Random(seed))
        for _ in range(7):
            delay = b.failure()
        sevenths.append(delay)
    assert 50 < max(sevenths) <= 60


def test_full_jitter_spreads_clients_that_failed_together() -> None:
    delays = []
    for seed in range(50):
        b = Backoff(base=1.0, cap=60.0, rng=random.Random(seed))
        for _ in range(6):
            delay = b.failure()
        delays.append(delay)
    assert all(0 <= d <= 32 for d in delays)
    assert min(delays) < 5 and max(delays) > 25  # spread over [0, 32], not clustered


def test_retry_after_is_a_floor_and_success_starts_over() -> None:
    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(1))
    assert backoff.failure(retry_after=20) >= 20
    assert backoff.failure(retry_after=1000) == 60  # never longer than the cap
    backoff.success()
    assert backoff.failure() <= 1
