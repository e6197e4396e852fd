"""The desktop build (``make mobile``, the UI tests): no GPS, no camera, no phone.

- Location: a configured position (``FIXFLOW_DEVICE_GPS="lat,lon,accuracy_m"`` or the
  constructor's), or none at all, so the "no GPS fix" state is reachable.
- Camera: a file picker (the UI's popup) whose photo is copied to ``dest``; by default the
  file named by ``FIXFLOW_DEVICE_PHOTO``, else the picker is "cancelled".
- Dialler and maps: ``tel:`` and OpenStreetMap opened with the browser (injectable opener).
- Storage: ``FIXFLOW_MOBILE_DATA``, else the platform's user data directory + ``fixflow``.
- Notifications: a log line (``mobile.device.notify``).
- Permissions: always granted; locale: ``LANGUAGE`` / ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``.
"""

from __future__ import annotations

import datetime as dt
import locale as _locale
import os
import platform as _platform
import sys
import webbrowser
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from mobile.device import Device, Fix, check_permission_names
from mobile.device.capture import copy_photo
from mobile.device.folders import FolderStorage
from mobile.device.notify import LogNotifier
from mobile.device.uris import language_tag, osm_url, tel_uri

GPS_ENV = "FIXFLOW_DEVICE_GPS"
PHOTO_ENV = "FIXFLOW_DEVICE_PHOTO"
DATA_ENV = "FIXFLOW_MOBILE_DATA"
APP_DIR = "fixflow"
DEFAULT_LANGUAGE = "en"

Opener = Callable[[str], object]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_gps(value: str) -> tuple[float, float, float]:
    """``"lat,lon,accuracy_m"`` (accuracy optional, 10 m) as numbers; ``ValueError`` naming
    what is wrong, so a typo in the environment is an error, not a silent "no fix"."""
    parts = [part.strip() for part in value.split(",")]
    if len(parts) not in (2, 3):
        raise ValueError(f"{GPS_ENV} must be 'lat,lon' or 'lat,lon,accuracy_m', not {value!r}")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise ValueError(f"{GPS_ENV} must hold numbers, not {value!r}") from None
    lat, lon, accuracy = (*numbers, 10.0) if len(numbers) == 2 else numbers
    Fix(lat=lat, lon=lon, accuracy_m=accuracy, at=_utc_now())  # checks the ranges
    return lat, lon, accuracy


class DesktopLocation:
    """A fixed position, reported as current whenever asked, or no position at all."""

    def __init__(
        self,
        position: tuple[float, float, float] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        env = os.environ if environ is None else environ
        if position is None and env.get(GPS_ENV, "").strip():
            position = parse_gps(env[GPS_ENV])
        self.position = position
        self._clock = clock
        self._last: Fix | None = None
        self.running = False

    def _fix(self) -> Fix | None:
        if self.position is None:
            return None
        lat, lon, accuracy = self.position
        self._last = Fix(lat=lat, lon=lon, accuracy_m=accuracy, at=self._clock())
        return self._last

    async def current(self, timeout: float = 10.0) -> Fix | None:  # noqa: ASYNC109
        # No receiver to wait for: a configured position is there at once, none never comes.
        return self._fix()

    def last_known(self) -> Fix | None:
        return self._last

    def start(self) -> None:
        self.running = True
        self._fix()

    def stop(self) -> None:
        self.running = False


Picker = Callable[[], Awaitable[Path | None]]


def env_picker(environ: Mapping[str, str] | None = None) -> Picker:
    """A picker that "picks" the file named by ``FIXFLOW_DEVICE_PHOTO`` (``make mobile`` and
    scripted runs), or cancels when it is unset."""
    env = os.environ if environ is None else environ

    async def pick() -> Path | None:
        value = env.get(PHOTO_ENV, "").strip()
        return Path(value) if value else None

    return pick


class DesktopCamera:
    """The desktop's camera is a file picker: the picked photo is copied to ``dest``."""

    def __init__(self, pick: Picker) -> None:
        self._pick = pick

    async def capture(self, dest: Path) -> Path | None:
        picked = await self._pick()
        if picked is None:
            return None
        return copy_photo(Path(picked), dest)


class BrowserDialer:
    """Hands ``tel:`` to the desktop (a softphone, if one is registered for it)."""

    def __init__(self, opener: Opener = webbrowser.open) -> None:
        self._open = opener

    def call(self, number: str) -> None:
        self._open(tel_uri(number))


class BrowserMaps:
    """OpenStreetMap in the browser."""

    def __init__(self, opener: Opener = webbrowser.open) -> None:
        self._open = opener

    def navigate(self, *, lat: float | None, lon: float | None, address: str) -> None:
        self._open(osm_url(lat=lat, lon=lon, address=address))


def user_data_base(environ: Mapping[str, str] | None = None, system: str = "") -> Path:
    """The platform's per-user data directory (XDG on Linux)."""
    env = os.environ if environ is None else environ
    name = system or sys.platform
    if name == "darwin":
        return Path.home() / "Library" / "Application Support"
    if name in ("win32", "cygwin"):
        return Path(env.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    return Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


class DesktopStorage(FolderStorage):
    """Everything under one directory: ``base`` if given, else ``FIXFLOW_MOBILE_DATA``,
    else ``<user data dir>/fixflow`` (``~/.local/share/fixflow`` on Linux)."""

    def __init__(
        self, base: Path | None = None, *, environ: Mapping[str, str] | None = None
    ) -> None:
        env = os.environ if environ is None else environ
        if base is None:
            override = env.get(DATA_ENV, "").strip()
            base = Path(override) if override else user_data_base(env) / APP_DIR
        self.base = Path(base).expanduser()

    def root(self) -> Path:
        return self.base


class GrantedPermissions:
    """A desktop asks nobody: every permission is granted (unknown names still refused)."""

    async def request(self, *names: str) -> dict[str, bool]:
        check_permission_names(names)
        return dict.fromkeys(names, True)


def locale_tag(environ: Mapping[str, str] | None = None) -> str:
    """The user's language as a BCP 47 tag, in gettext's order of precedence: ``LANGUAGE``
    (its first entry), ``LC_ALL``, ``LC_MESSAGES``, ``LANG``; then Python's locale; ``en``."""
    env = os.environ if environ is None else environ
    candidates = [env.get("LANGUAGE", "").split(":")[0]]
    candidates += [env.get(name, "") for name in ("LC_ALL", "LC_MESSAGES", "LANG")]
    candidates.append(_locale.getlocale()[0] or "")
    for candidate in candidates:
        tag = language_tag(candidate) if candidate else None
        if tag:
            return tag
    return DEFAULT_LANGUAGE


def desktop_model() -> str:
    """e.g. ``"Desktop (Linux x86_64)"``: the host name stays private."""
    return f"Desktop ({_platform.system() or sys.platform} {_platform.machine()})".replace(
        " )", ")"
    )


def device(model: str | None = None) -> Device:
    return Device(
        location=DesktopLocation(),
        camera=DesktopCamera(env_picker()),
        dialer=BrowserDialer(),
        maps=BrowserMaps(),
        storage=DesktopStorage(),
        permissions=GrantedPermissions(),
        locale=locale_tag,
        model=model if model is not None else desktop_model(),
        notifier=LogNotifier(),
        platform="desktop",
    )
