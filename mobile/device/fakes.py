"""Test doubles for the parts a test machine does not have: a GPS, a camera, a phone, a maps
app, a permission dialog. For tests only; storage needs none (``DesktopStorage`` on a
temporary directory is the real thing).

Each fake behaves like the real part where it matters to the app (the numbers and addresses
are checked by the same functions, the camera writes a real image file) and records what it
was asked, so a test can assert on it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mobile.device import Device, Fix, check_permission_names
from mobile.device.desktop import DesktopStorage
from mobile.device.uris import geo_uri, normalise_number


def fix_at(lat: float, lon: float, accuracy_m: float = 5.0) -> Fix:
    """A fix taken now."""
    return Fix(lat=lat, lon=lon, accuracy_m=accuracy_m, at=dt.datetime.now(dt.UTC))


class FakeLocation:
    """Answers ``fix`` (settable; ``None`` is "no fix") after ``delay`` seconds; a delay
    longer than the caller's timeout is "no fix within the timeout"."""

    def __init__(self, fix: Fix | None = None, *, delay: float = 0.0) -> None:
        self.fix = fix
        self.delay = delay
        self.requests = 0
        self.starts = 0
        self.stops = 0
        self.running = False
        self._last: Fix | None = None

    async def current(self, timeout: float = 10.0) -> Fix | None:  # noqa: ASYNC109
        self.requests += 1
        if self.delay:
            await asyncio.sleep(min(self.delay, timeout))
            if self.delay > timeout:
                return None
        if self.fix is not None:
            self._last = self.fix
        return self.fix

    def last_known(self) -> Fix | None:
        return self._last

    def start(self) -> None:
        self.starts += 1
        self.running = True

    def stop(self) -> None:
        self.stops += 1
        self.running = False


class FakeCamera:
    """Writes a small real photo (JPEG, or PNG for a ``.png`` dest) into ``dest``, a different
    picture each time (so content-addressed uploads stay distinct), or returns ``None`` when
    ``cancel`` is set, as when the user backs out of the camera."""

    def __init__(self, *, cancel: bool = False, size: tuple[int, int] = (64, 48)) -> None:
        self.cancel = cancel
        self.size = size
        self.captures: list[Path] = []  # every dest asked for, cancelled ones included

    async def capture(self, dest: Path) -> Path | None:
        from PIL import Image, ImageDraw

        self.captures.append(dest)
        if self.cancel:
            return None
        shade = (len(self.captures) * 37) % 256
        image = Image.new("RGB", self.size, (shade, 128, 255 - shade))
        ImageDraw.Draw(image).rectangle((4, 4, self.size[0] // 2, self.size[1] // 2), fill="white")
        dest.parent.mkdir(parents=True, exist_ok=True)
        image.save(dest, format="PNG" if dest.suffix.lower() == ".png" else "JPEG")
        return dest


class FakeDialer:
    """Records the numbers it was asked to dial, normalised as the real dialler would."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def call(self, number: str) -> None:
        self.calls.append(normalise_number(number))


@dataclass(frozen=True)
class Navigation:
    lat: float | None
    lon: float | None
    address: str
    uri: str  # what Android would have opened


class FakeMaps:
    """Records each navigation, with the ``geo:`` URI the phone would have opened."""

    def __init__(self) -> None:
        self.navigations: list[Navigation] = []

    def navigate(self, *, lat: float | None, lon: float | None, address: str) -> None:
        uri = geo_uri(lat=lat, lon=lon, address=address)
        self.navigations.append(Navigation(lat, lon, address, uri))


class FakePermissions:
    """Answers from ``answers`` (a name not listed is granted); records every request."""

    def __init__(self, answers: Mapping[str, bool] | None = None) -> None:
        self.answers = dict(answers or {})
        self.requests: list[tuple[str, ...]] = []

    async def request(self, *names: str) -> dict[str, bool]:
        check_permission_names(names)
        self.requests.append(names)
        return {name: self.answers.get(name, True) for name in names}


class FakeNotifier:
    """Records every notification as (title, message)."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def notify(self, title: str, message: str) -> None:
        self.shown.append((title, message))


def fixed_locale(tag: str) -> Callable[[], str]:
    """A phone whose language is ``tag``."""

    def locale() -> str:
        return tag

    return locale


def fake_device(data_dir: Path, **parts: Any) -> Device:
    """A ``Device`` of fakes storing under ``data_dir``; ``parts`` replace any of them."""
    device = Device(
        location=FakeLocation(),
        camera=FakeCamera(),
        dialer=FakeDialer(),
        maps=FakeMaps(),
        storage=DesktopStorage(data_dir),
        permissions=FakePermissions(),
        locale=fixed_locale("en-GB"),
        model="Test phone",
        notifier=FakeNotifier(),
        platform="desktop",
    )
    return replace(device, **parts)
