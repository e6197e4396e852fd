"""The phone's hardware and the other apps it hands work to, behind small interfaces.

The UI (``mobile.ui``) and the app logic (``mobile.core``) see only the protocols below and a
``Device`` bundle; ``for_platform()`` picks the implementations:

- ``mobile.device.android``: pyjnius, the p4a ``android`` module and plyer's GPS; the camera
  through an ``ACTION_IMAGE_CAPTURE`` intent (plyer's Android camera is broken on recent
  Android), the dialler and maps through intents.
- ``mobile.device.ios``: plyer's GPS and camera, ``tel:`` and Apple Maps URLs opened with
  pyobjus.
- ``mobile.device.desktop``: a configured position (or none), a file picker for photos, the
  browser for calls and maps, the user data directory.
- ``mobile.device.fakes``: for tests only.

Nothing here imports Kivy, pyjnius or pyobjus at module level: the phone-only libraries are
imported inside the functions that use them, so every module imports on the desktop.

Contracts a caller can rely on:
- ``Location.current()`` returns ``None`` when no fix came within the timeout (the UI shows a
  "no GPS fix" state, the check-in goes without a position); a position is a ``Fix`` with
  its accuracy, never a bare pair of numbers.
- ``Camera.capture(dest)`` returns ``dest`` holding the photo, or ``None`` when the user
  cancelled.
- ``Dialer.call()`` only opens the dialler with the number: the engineer places the call.
- ``Notifier.notify()`` shows a notification (new work, ``mobile.device.notify``) and never
  raises: one that cannot be shown is logged.
- A missing permission raises ``PermissionDenied``; a missing app or sensor ``DeviceError``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

# Permission names the UI asks for (each platform maps them to its own).
LOCATION = "location"
CAMERA = "camera"
PERMISSIONS = (LOCATION, CAMERA)

PLATFORMS = ("android", "ios", "desktop")
# The largest accuracy the sync protocol accepts (shared.sync's gps check): a reading less
# precise than 100 km is no position at all.
MAX_ACCURACY_M = 100_000.0


class DeviceError(Exception):
    """The phone cannot do it: no camera app, no maps app, the GPS would not start."""


class PermissionDenied(DeviceError):
    """The user refused ``permission`` (one of ``PERMISSIONS``)."""

    def __init__(self, permission: str) -> None:
        super().__init__(f"the {permission} permission was not granted")
        self.permission = permission


@dataclass(frozen=True)
class Fix:
    """A position: degrees (WGS 84), its accuracy radius in metres, and when it was taken."""

    lat: float
    lon: float
    accuracy_m: float
    at: dt.datetime

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("lat", self.lat, -90.0, 90.0),
            ("lon", self.lon, -180.0, 180.0),
            ("accuracy_m", self.accuracy_m, 0.0, MAX_ACCURACY_M),
        ):
            if not (math.isfinite(value) and low <= value <= high):
                raise ValueError(f"{name} must be between {low:g} and {high:g}, not {value!r}")
        if self.at.tzinfo is None or self.at.utcoffset() != dt.timedelta(0):
            raise ValueError("a fix's time must be in UTC (timezone-aware)")

    def as_gps(self) -> dict[str, float]:
        """The ``gps`` argument of the store's actions (``check_in``, ``check_out``, ...)."""
        return {"lat": self.lat, "lon": self.lon, "accuracy_m": self.accuracy_m}


class Location(Protocol):
    # The timeout is part of the answer (None: no fix in time), not a cancellation the caller
    # could impose with asyncio.timeout, hence ASYNC109 is silenced on every implementation.
    async def current(self, timeout: float = 10.0) -> Fix | None:  # noqa: ASYNC109
        """The next fix, or ``None`` if none came within ``timeout`` seconds."""
        ...

    def last_known(self) -> Fix | None:
        """The latest fix seen, however old (``Fix.at`` says how old)."""
        ...

    def start(self) -> None:
        """Keep the receiver running (e.g. while the Today list shows distances)."""
        ...

    def stop(self) -> None: ...


class Camera(Protocol):
    async def capture(self, dest: Path) -> Path | None:
        """Take a photo into ``dest``; ``None`` if the user cancelled."""
        ...


class Dialer(Protocol):
    def call(self, number: str) -> None:
        """Open the dialler with ``number`` (``ValueError`` if it is not a phone number)."""
        ...


class Maps(Protocol):
    def navigate(self, *, lat: float | None, lon: float | None, address: str) -> None:
        """Open the maps app at the site: its coordinates when known, else its address."""
        ...


class Notifier(Protocol):
    def notify(self, title: str, message: str) -> None:
        """Show a notification on the phone (never raises: a failure is logged)."""
        ...


class Storage(Protocol):
    def data_dir(self) -> Path:
        """Where the SQLite store lives (private app storage on the phone); created."""
        ...

    def photos_dir(self) -> Path:
        """Where captured photos are kept until uploaded; created."""
        ...


class Permissions(Protocol):
    async def request(self, *names: str) -> dict[str, bool]:
        """Ask for ``names`` (from ``PERMISSIONS``); each name's answer."""
        ...


@dataclass
class Device:
    """Everything the app uses of the phone. ``locale()`` is the phone's language tag (BCP 47,
    e.g. ``"zh-CN"``, ``"en-GB"``); ``model`` names the phone to the server (sync
    registration)."""

    location: Location
    camera: Camera
    dialer: Dialer
    maps: Maps
    storage: Storage
    permissions: Permissions
    locale: Callable[[], str]
    model: str
    notifier: Notifier
    platform: str = field(default="desktop")


def check_permission_names(names: tuple[str, ...]) -> None:
    """``ValueError`` for a name outside ``PERMISSIONS`` (a typo must not read as "denied")."""
    unknown = [name for name in names if name not in PERMISSIONS]
    if unknown:
        raise ValueError(f"unknown permission {unknown[0]!r}: use one of {', '.join(PERMISSIONS)}")


def detect_platform(environ: Mapping[str, str] | None = None, sys_platform: str = "") -> str:
    """``"android"``, ``"ios"`` or ``"desktop"``, by Kivy's own conventions (without importing
    Kivy): ``KIVY_BUILD`` set by the phone builds, ``P4A_BOOTSTRAP`` / ``ANDROID_ARGUMENT``
    set by python-for-android's bootstrap, and ``sys.platform`` on Python 3.13+ phones."""
    env = os.environ if environ is None else environ
    name = sys_platform or sys.platform
    kivy_build = env.get("KIVY_BUILD", "")
    if kivy_build in ("android", "ios"):
        return kivy_build
    if "P4A_BOOTSTRAP" in env or "ANDROID_ARGUMENT" in env or name == "android":
        return "android"
    if name == "ios":
        return "ios"
    return "desktop"


def _platform_name(platform: str | None) -> str:
    """Our name for ``platform``: Kivy's desktop names (linux, win, macosx) are the desktop."""
    if platform is None:
        return detect_platform()
    if platform in PLATFORMS:
        return platform
    if platform in ("linux", "win", "macosx", "unknown"):
        return "desktop"
    raise ValueError(f"unknown platform {platform!r}: use one of {', '.join(PLATFORMS)}")


def for_platform(platform: str | None = None, **overrides: Any) -> Device:
    """The ``Device`` for ``platform`` (detected when ``None``); ``overrides`` replace parts by
    field name, e.g. ``for_platform(camera=DesktopCamera(picker))`` from the UI, whose file
    picker popup is the desktop's camera. An unknown field name is a ``TypeError``."""
    name = _platform_name(platform)
    chosen = importlib.import_module(f"mobile.device.{name}")
    known = {f for f in Device.__dataclass_fields__ if f != "platform"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"Device has no part {unknown[0]!r}")
    device: Device = chosen.device(model=overrides.get("model"))
    return replace(device, **overrides)


__all__ = [
    "CAMERA",
    "LOCATION",
    "PERMISSIONS",
    "Camera",
    "Device",
    "DeviceError",
    "Dialer",
    "Fix",
    "Location",
    "Maps",
    "Notifier",
    "PermissionDenied",
    "Permissions",
    "Storage",
    "detect_platform",
    "for_platform",
]
