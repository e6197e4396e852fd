"""``Location`` over plyer's GPS facade (Android and iOS).

plyer calls ``on_location`` on the platform's own thread (Android's main looper, iOS's
CoreLocation delegate), never on the asyncio loop the app runs on. A reading therefore
reaches a waiting ``current()`` through ``loop.call_soon_threadsafe``: the future is only ever
touched on its own loop.

``current()`` waits for the *next* fix, not the cached one: a check-in records where the
engineer is now. A reading without a usable accuracy (Android reports 0.0 when it has none)
is ignored rather than stored as perfectly precise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from mobile.device import MAX_ACCURACY_M, DeviceError, Fix

log = logging.getLogger(__name__)

# plyer's start() arguments: a reading a second at most, and every movement reported.
MIN_TIME_MS = 1000
MIN_DISTANCE_M = 0


class GpsFacade(Protocol):
    """What this module uses of ``plyer.gps``."""

    def configure(
        self, on_location: Callable[..., None], on_status: Callable[..., None] | None = None
    ) -> None: ...

    def start(self, minTime: int = 1000, minDistance: int = 1) -> None: ...

    def stop(self) -> None: ...


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fix_from_reading(reading: Mapping[str, Any], at: dt.datetime) -> Fix | None:
    """A ``Fix`` from plyer's ``on_location`` keywords (``lat``, ``lon``, ``accuracy`` and
    others), or ``None`` when the reading has no usable position or accuracy."""
    try:
        lat, lon = float(reading["lat"]), float(reading["lon"])
        accuracy = float(reading.get("accuracy") or 0.0)
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(accuracy) and 0.0 < accuracy <= MAX_ACCURACY_M):
        return None
    try:
        return Fix(lat=lat, lon=lon, accuracy_m=accuracy, at=at)
    except ValueError:
        return None


def _settle(future: asyncio.Future[Fix], fix: Fix) -> None:
    if not future.done():
        future.set_result(fix)


class PlyerLocation:
    """``Location`` on a plyer GPS facade, loaded on first use by ``load`` (so that plyer's
    platform module, which imports pyjnius or pyobjus, is only imported on the phone).

    The receiver runs while the app asked for it (``start()`` until ``stop()``) or while a
    ``current()`` is waiting; it is switched off as soon as neither holds, to save battery."""

    def __init__(
        self, load: Callable[[], GpsFacade], *, clock: Callable[[], dt.datetime] = _utc_now
    ) -> None:
        self._load = load
        self._clock = clock
        self._gps: GpsFacade | None = None
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[Fix]]] = []
        self._last: Fix | None = None
        self._wanted = False  # start() was called, stop() not yet
        self._running = False
        self.status: tuple[str, str] | None = None  # plyer's latest (kind, message)

    @property
    def running(self) -> bool:
        return self._running

    def _facade(self) -> GpsFacade:
        if self._gps is None:
            gps = self._load()
            gps.configure(on_location=self._on_location, on_status=self._on_status)
            self._gps = gps
        return self._gps

    def _switch(self) -> None:
        """Run the receiver exactly when someone wants readings."""
        with self._lock:
            needed = self._wanted or bool(self._waiters)
        if needed and not self._running:
            try:
                self._facade().start(minTime=MIN_TIME_MS, minDistance=MIN_DISTANCE_M)
            except Exception as exc:  # a Java/Objective-C exception surfaces as anything
                raise DeviceError(f"the GPS could not start: {exc}") from exc
            self._running = True
        elif not needed and self._running:
            self._running = False
            try:
                self._facade().stop()
            except Exception:  # stopping a receiver that is already gone is not a failure
                log.warning("stopping the GPS failed", exc_info=True)

    def start(self) -> None:
        self._wanted = True
        try:
            self._switch()
        except DeviceError:
            self._wanted = False
            raise

    def stop(self) -> None:
        self._wanted = False
        self._switch()

    def last_known(self) -> Fix | None:
        with self._lock:
            return self._last

    async def current(self, timeout: float = 10.0) -> Fix | None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Fix] = loop.create_future()
        waiter = (loop, future)
        with self._lock:
            self._waiters.append(waiter)
        try:
            self._switch()
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            with self._lock:
                self._waiters.remove(waiter)
            self._switch()

    def _on_location(self, **reading: Any) -> None:
        """plyer's callback, on the platform's thread."""
        fix = fix_from_reading(reading, self._clock())
        if fix is None:
            return
        with self._lock:
            self._last = fix
            waiters = list(self._waiters)
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_settle, future, fix)
            except RuntimeError:  # that loop has closed: nobody is waiting any more
                pass

    def _on_status(self, kind: str, message: str) -> None:
        self.status = (kind, message)
