"""iOS (kivy-ios): plyer's GPS and camera, ``tel:`` and Apple Maps URLs opened with pyobjus.

Phone-only imports (``pyobjus``, ``plyer``) happen inside the functions that need them, so
this module imports on the desktop.

- Location: plyer's GPS (``mobile.device.gps``); iOS asks the user itself the first time
  (``NSLocationWhenInUseUsageDescription`` must be in the app's Info.plist).
- Camera: plyer's iOS camera (the ``photolibrary`` kivy-ios recipe: a UIImagePickerController
  saving a JPEG). Its picker reports a photo but never a cancel, so a cancelled capture
  resolves as cancelled when the next capture starts or after ``timeout`` seconds.
- Dialler and maps: ``openURL:options:completionHandler:`` (plain ``openURL:`` does nothing
  since iOS 18), with ``tel:`` and ``https://maps.apple.com`` directions.
- Storage: ``~/Library/Application Support/fixflow`` in the app's sandbox (not Documents,
  which the Files app shows to the user).
- Notifications: a log line for now: plyer 2.1.0 has no iOS ``notification`` (it would
  take ``UNUserNotificationCenter`` through pyobjus); the attention list and Today's
  banner still show new work.
- Permissions: iOS prompts on first use; ``request`` reports "not refused" from the current
  authorization status (a refusal can only be undone in Settings).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from mobile.device import LOCATION, Device, DeviceError, check_permission_names
from mobile.device.capture import settle_capture
from mobile.device.folders import FolderStorage
from mobile.device.gps import GpsFacade, PlyerLocation
from mobile.device.notify import LogNotifier
from mobile.device.uris import apple_maps_url, language_tag, tel_uri

DATA_DIR = Path("Library") / "Application Support" / "fixflow"
# CLAuthorizationStatus / AVAuthorizationStatus values that mean "refused".
_REFUSED = {1, 2}  # restricted, denied
_SOURCE_CAMERA = 1  # UIImagePickerControllerSourceTypeCamera


def open_url(url: str) -> None:
    """Hand ``url`` to iOS (dialler, Maps)."""
    from pyobjus import autoclass, objc_str

    nsurl = autoclass("NSURL").URLWithString_(objc_str(url))
    if nsurl is None:
        raise ValueError(f"iOS cannot parse the URL {url!r}")
    app = autoclass("UIApplication").sharedApplication()
    try:
        app.openURL_options_completionHandler_(nsurl, autoclass("NSDictionary").dictionary(), None)
    except AttributeError:  # iOS 9 and older
        app.openURL_(nsurl)


def _plyer_gps() -> GpsFacade:
    from plyer import gps

    facade: GpsFacade = gps
    return facade


def _settle(future: asyncio.Future[bool], taken: bool) -> None:
    if not future.done():
        future.set_result(taken)


class IosCamera:
    def __init__(self, staging_dir: Path | None = None, *, timeout: float = 900.0) -> None:
        self._staging_dir = staging_dir
        self._timeout = timeout
        self._pending: asyncio.Future[bool] | None = None

    def _staging(self) -> Path:
        folder = self._staging_dir or Path.home() / "tmp" / "capture"  # NSTemporaryDirectory
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{uuid.uuid4().hex}.jpg"

    async def capture(self, dest: Path) -> Path | None:
        from plyer import camera
        from pyobjus import autoclass

        if not autoclass("UIImagePickerController").isSourceTypeAvailable_(_SOURCE_CAMERA):
            raise DeviceError("this device has no camera")
        if self._pending is not None:  # the previous capture was cancelled: say so
            _settle(self._pending, False)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending = future
        staging = self._staging()

        def on_complete(filename: str) -> bool:
            loop.call_soon_threadsafe(_settle, future, True)
            return False  # plyer deletes the file when this returns True

        camera.take_picture(filename=str(staging), on_complete=on_complete)
        try:
            taken = await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            taken = False
        finally:
            if self._pending is future:
                self._pending = None
        return settle_capture(staging, dest, taken=taken)


class IosDialer:
    def call(self, number: str) -> None:
        open_url(tel_uri(number))


class IosMaps:
    def navigate(self, *, lat: float | None, lon: float | None, address: str) -> None:
        open_url(apple_maps_url(lat=lat, lon=lon, address=address))


class IosStorage(FolderStorage):
    def __init__(self, home: Path | None = None) -> None:
        self._home = home  # the app's sandbox (HOME); given in tests

    def root(self) -> Path:
        return (self._home or Path.home()) / DATA_DIR


def _status(name: str) -> int:
    """The current authorization status for ``name`` (0 means "not asked yet")."""
    from pyobjus import autoclass, objc_str
    from pyobjus.dylib_manager import load_framework

    if name == LOCATION:
        load_framework("/System/Library/Frameworks/CoreLocation.framework")
        return int(autoclass("CLLocationManager").authorizationStatus())
    load_framework("/System/Library/Frameworks/AVFoundation.framework")
    device = autoclass("AVCaptureDevice")
    return int(device.authorizationStatusForMediaType_(objc_str("vide")))  # AVMediaTypeVideo


class IosPermissions:
    async def request(self, *names: str) -> dict[str, bool]:
        check_permission_names(names)
        return {name: _status(name) not in _REFUSED for name in names}


def locale_tag() -> str:
    """The user's first preferred language (``NSLocale.preferredLanguages``)."""
    from pyobjus import autoclass

    languages = autoclass("NSLocale").preferredLanguages()
    first = languages.objectAtIndex_(0).UTF8String() if languages.count() else ""
    tag = language_tag(first.decode() if isinstance(first, bytes) else str(first))
    return tag or "en"


def phone_model() -> str:
    """The hardware identifier, e.g. ``"iPhone15,2"`` (``uname`` on iOS)."""
    return os.uname().machine or "iPhone"


def device(model: str | None = None) -> Device:
    return Device(
        location=PlyerLocation(_plyer_gps),
        camera=IosCamera(),
        dialer=IosDialer(),
        maps=IosMaps(),
        storage=IosStorage(),
        permissions=IosPermissions(),
        locale=locale_tag,
        model=model if model is not None else phone_model(),
        notifier=LogNotifier(),
        platform="ios",
    )
