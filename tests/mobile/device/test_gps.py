"""PlyerLocation against a stand-in for plyer's GPS facade that, like the real one, calls
``on_location`` from its own thread."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest

from mobile.device import DeviceError, Fix
from mobile.device.gps import MIN_DISTANCE_M, MIN_TIME_MS, PlyerLocation, fix_from_reading

NOW = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


class ThreadedGps:
    """plyer.gps as the app sees it: configure(), start(), stop(); readings arrive on a
    separate thread ``delay`` seconds after start()."""

    def __init__(self, readings: list[dict[str, Any]], *, delay: float = 0.05) -> None:
        self.readings = readings
        self.delay = delay
        self.on_location: Callable[..., None] | None = None
        self.on_status: Callable[..., None] | None = None
        self.configured = 0
        self.calls: list[str] = []
        self.start_args: dict[str, int] = {}
        self.threads: set[int] = set()
        self._stopped = threading.Event()

    def configure(
        self, on_location: Callable[..., None], on_status: Callable[..., None] | None = None
    ) -> None:
        self.configured += 1
        self.on_location, self.on_status = on_location, on_status

    def start(self, minTime: int = 1000, minDistance: int = 1) -> None:
        self.calls.append("start")
        self.start_args = {"minTime": minTime, "minDistance": minDistance}
        self._stopped.clear()
        threading.Thread(target=self._feed, daemon=True).start()

    def stop(self) -> None:
        self.calls.append("stop")
        self._stopped.set()

    def _feed(self) -> None:
        if self.on_status is not None:
            self.on_status("provider-enabled", "gps")
        for reading in self.readings:
            if self._stopped.wait(self.delay):
                return
            assert self.on_location is not None
            self.threads.add(threading.get_ident())
            self.on_location(**reading)


def reading(lat: float, lon: float, accuracy: float) -> dict[str, Any]:
    return {"lat": lat, "lon": lon, "accuracy": accuracy, "speed": 0.0, "altitude": 30.0}


async def test_current_waits_for_the_next_fix_from_the_gps_thread() -> None:
    gps = ThreadedGps([reading(22.5431, 114.0579, 8.0)])
    location = PlyerLocation(lambda: gps, clock=lambda: NOW)
    fix = await location.current(timeout=5)
    assert fix == Fix(lat=22.5431, lon=114.0579, accuracy_m=8.0, at=NOW)
    assert gps.threads and threading.get_ident() not in gps.threads
    assert location.last_known() == fix
    # started for this one question, and switched off again to save the battery
    assert gps.calls == ["start", "stop"]
    assert gps.start_args == {"minTime": MIN_TIME_MS, "minDistance": MIN_DISTANCE_M}
    assert not location.running


async def test_no_fix_within_the_timeout_is_none() -> None:
    gps = ThreadedGps([reading(1.0, 2.0, 5.0)], delay=2.0)
    location = PlyerLocation(lambda: gps)
    assert await location.current(timeout=0.05) is None
    assert location.last_known() is None
    assert gps.calls == ["start", "stop"]


async def test_readings_without_a_usable_accuracy_are_not_fixes() -> None:
    gps = ThreadedGps(
        [reading(1.0, 2.0, 0.0), reading(1.0, 2.0, float("nan")), reading(3.0, 4.0, 25.0)],
        delay=0.02,
    )
    location = PlyerLocation(lambda: gps, clock=lambda: NOW)
    fix = await location.current(timeout=5)
    assert fix is not None and (fix.lat, fix.lon, fix.accuracy_m) == (3.0, 4.0, 25.0)


async def test_a_receiver_the_app_started_keeps_running_after_a_question() -> None:
    gps = ThreadedGps([reading(1.0, 2.0, 5.0), reading(1.1, 2.1, 4.0)], delay=0.02)
    location = PlyerLocation(lambda: gps, clock=lambda: NOW)
    location.start()
    location.start()  # idempotent
    fix = await location.current(timeout=5)
    assert fix is not None
    assert location.running and gps.calls == ["start"]
    location.stop()
    assert gps.calls == ["start", "stop"] and gps.configured == 1
    assert location.status == ("provider-enabled", "gps")


async def test_questions_asked_together_get_the_same_fix_and_one_receiver() -> None:
    gps = ThreadedGps([reading(10.0, 20.0, 6.0)], delay=0.05)
    location = PlyerLocation(lambda: gps, clock=lambda: NOW)
    first, second = await asyncio.gather(location.current(5), location.current(5))
    assert first is not None and first == second
    assert gps.calls == ["start", "stop"]


class BrokenGps(ThreadedGps):
    def start(self, minTime: int = 1000, minDistance: int = 1) -> None:
        raise RuntimeError("java.lang.SecurityException: no location permission")


async def test_a_gps_that_cannot_start_is_a_device_error() -> None:
    location = PlyerLocation(lambda: BrokenGps([]))
    with pytest.raises(DeviceError, match="SecurityException"):
        await location.current(timeout=1)
    with pytest.raises(DeviceError):
        location.start()
    assert not location.running


@pytest.mark.parametrize(
    "raw",
    [
        {"lat": 1.0},
        {"lat": "north", "lon": 2.0, "accuracy": 5.0},
        {"lat": 1.0, "lon": 2.0},  # no accuracy at all
        {"lat": 1.0, "lon": 2.0, "accuracy": -3.0},
        {"lat": 1.0, "lon": 2.0, "accuracy": 250_000.0},
        {"lat": 95.0, "lon": 2.0, "accuracy": 5.0},
    ],
)
def test_unusable_readings_are_dropped(raw: dict[str, Any]) -> None:
    assert fix_from_reading(raw, NOW) is None


def test_a_reading_becomes_a_fix() -> None:
    assert fix_from_reading({"lat": "1.5", "lon": 2, "accuracy": 3}, NOW) == Fix(
        lat=1.5, lon=2.0, accuracy_m=3.0, at=NOW
    )
