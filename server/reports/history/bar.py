"""A progress bar on stderr for long runs (the history generator, the facts' rebuild):
percentage, count, rate and time left, redrawn in place at most five times a second. No
dependency: a ``progress(done, total)`` callback is all the callers need."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

_WIDTH = 24


class Bar:
    """``bar(done, total)`` redraws; ``bar.close()`` ends the line with the final figures."""

    def __init__(
        self,
        label: str,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = 0.2,
    ) -> None:
        self.label, self.unit, self.stream = label, unit, stream or sys.stderr
        self.clock, self.every = clock, every
        self.started = clock()
        self.shown = float("-inf")
        self.done = self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        now = self.clock()
        if now - self.shown >= self.every or done >= total:
            self.shown = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        share = self.done / self.total if self.total else 1.0
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        filled = round(share * _WIDTH)
        unit = f" {self.unit}" if self.unit else ""
        running = self.done < self.total
        when = f"ETA {_clock(left)}" if running else f"in {_clock(elapsed)}"
        return (
            f"{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {share:6.1%} "
            f"{self.done:,}/{self.total:,}{unit} {rate:,.0f}/s {when}"
        )

    def close(self) -> None:
        self.stream.write("\r" + self.line(self.clock()) + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
