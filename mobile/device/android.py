"""Android: pyjnius, python-for-android's ``android`` module and plyer's GPS.

Every phone-only import (``jnius``, ``android.*``, ``plyer``) happens inside the function that
needs it: this module imports on the desktop, where its pure helpers are tested.

- Location: plyer's GPS (``mobile.device.gps``), after asking for the location permission.
- Camera: an ``ACTION_IMAGE_CAPTURE`` intent (plyer's camera hands the camera app a
  ``file://`` URI, which Android 7+ refuses). The camera app writes through a FileProvider
  ``content://`` URI (``EXTRA_OUTPUT``) into ``files/capture/``, the folder the provider shares
  (``tools/android_build/fileprovider_paths.xml``, declared in the manifest by
  ``tools/android_build/p4a_hook.py``); the result comes back through
  ``android.activity.bind(on_activity_result=...)``. The app declares CAMERA, so Android
  refuses the intent unless that permission is granted: it is asked for first.
- Dialler: ``ACTION_DIAL`` with ``tel:`` (no CALL_PHONE permission: the engineer calls).
- Notifications: plyer's ``notification`` (``mobile.device.notify``), after asking once
  for ``POST_NOTIFICATIONS`` (Android 13+).
- Maps: ``ACTION_VIEW`` with a ``geo:`` URI.
- Storage: under ``getFilesDir()`` (``android.storage.app_storage_path``), but not in its
  ``app/`` folder, which python-for-android replaces on every app update.
- Callbacks from Java (activity results, permission answers) run on Android's UI thread and
  reach the asyncio loop through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mobile.device import (
    CAMERA,
    LOCATION,
    Device,
    DeviceError,
    Fix,
    PermissionDenied,
    check_permission_names,
)
from mobile.device.capture import settle_capture
from mobile.device.folders import FolderStorage
from mobile.device.gps import GpsFacade, PlyerLocation
from mobile.device.notify import PlyerNotifier
from mobile.device.uris import geo_uri, language_tag, tel_uri

# Must match tools/android_build/fileprovider_paths.xml (<files-path path="capture/">) and the
# provider's authority in tools/android_build/p4a_hook.py (${applicationId}.fileprovider).
CAPTURE_DIR = "capture"
FILEPROVIDER_SUFFIX = ".fileprovider"
DATA_DIR = "fixflow"
ANDROID_PERMISSIONS: dict[str, tuple[str, ...]] = {
    LOCATION: (
        "android.permission.ACCESS_FINE_LOCATION",
        "android.permission.ACCESS_COARSE_LOCATION",
    ),
    CAMERA: ("android.permission.CAMERA",),
}
RESULT_OK = -1  # android.app.Activity.RESULT_OK
_REQUEST_CODES = itertools.count(0x4658)  # "FX": distinct from other activity results


def android_permissions(names: Sequence[str]) -> list[str]:
    """The Android permissions behind our names, in order, without repeats."""
    check_permission_names(tuple(names))
    wanted = [permission for name in names for permission in ANDROID_PERMISSIONS[name]]
    return list(dict.fromkeys(wanted))


def grants_by_name(names: Sequence[str], answered: Mapping[str, bool]) -> dict[str, bool]:
    """Our names' answers from Android's per-permission answers. Location is granted with
    either the fine or the coarse permission (Android 12+ lets the user give only
    "approximate"; the fix's accuracy then says so). A permission missing from the answer
    (an interrupted request) is refused."""
    return {
        name: any(answered.get(permission, False) for permission in ANDROID_PERMISSIONS[name])
        for name in names
    }


def android_model(manufacturer: str, model: str) -> str:
    """``"Google Pixel 8"`` from Build.MANUFACTURER and Build.MODEL, without saying the
    maker twice when the model already does (``"samsung"``, ``"samsung SM-S911B"``)."""
    maker, name = manufacturer.strip(), model.strip()
    if not maker or name.lower().startswith(maker.lower()):
        return name or maker or "Android"
    return f"{maker} {name}".strip()


def _activity() -> Any:
    from android.config import ACTIVITY_CLASS_NAME
    from jnius import autoclass

    return autoclass(ACTIVITY_CLASS_NAME).mActivity


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _start_activity(action: str, uri: str, what: str) -> None:
    """Start the app that handles ``uri``; ``DeviceError`` when the phone has none."""
    from jnius import JavaException, autoclass

    intent_class = autoclass("android.content.Intent")
    intent = intent_class(getattr(intent_class, action), autoclass("android.net.Uri").parse(uri))
    try:
        _activity().startActivity(intent)
    except JavaException as exc:
        raise DeviceError(f"no {what} app on this phone") from exc


class AndroidPermissions:
    """Runtime permissions through ``android.permissions``; already granted ones are not
    asked again (no dialog)."""

    async def request(self, *names: str) -> dict[str, bool]:
        wanted = android_permissions(names)
        if not wanted:
            return {}
        from android.permissions import check_permission, request_permissions

        if all(check_permission(permission) for permission in wanted):
            return dict.fromkeys(names, True)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, bool]] = loop.create_future()

        def answered(permissions: Sequence[str], grants: Sequence[bool]) -> None:
            loop.call_soon_threadsafe(_settle, future, dict(zip(permissions, grants, strict=False)))

        request_permissions(wanted, answered)
        return grants_by_name(names, await future)


POST_NOTIFICATIONS = "android.permission.POST_NOTIFICATIONS"
_asked_to_notify: list[bool] = []  # asked once per run


def _ask_to_notify() -> None:
    """Android 13+: ask for the notification permission once, without waiting for the
    answer (the first notification may be dropped while the dialog shows; the attention
    list has it). Older Android grants it with the install."""
    if _asked_to_notify:
        return
    _asked_to_notify.append(True)
    from android.permissions import check_permission, request_permissions

    if not check_permission(POST_NOTIFICATIONS):
        request_permissions([POST_NOTIFICATIONS])


class AndroidLocation(PlyerLocation):
    def __init__(self, permissions: AndroidPermissions) -> None:
        super().__init__(_plyer_gps)
        self._permissions = permissions

    async def current(self, timeout: float = 10.0) -> Fix | None:  # noqa: ASYNC109
        if not (await self._permissions.request(LOCATION))[LOCATION]:
            raise PermissionDenied(LOCATION)
        return await super().current(timeout)


def _plyer_gps() -> GpsFacade:
    from plyer import gps

    facade: GpsFacade = gps
    return facade


class AndroidStorage(FolderStorage):
    def _files(self) -> Path:
        """``getFilesDir()``: private to the app, removed with it."""
        from android.storage import app_storage_path

        return Path(app_storage_path())

    def root(self) -> Path:
        return self._files() / DATA_DIR

    def capture_dir(self) -> Path:
        """The folder the FileProvider shares with the camera app (``files/capture``)."""
        path = self._files() / CAPTURE_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path


def _launch_capture(staging: Path, request_code: int) -> None:
    """Ask the camera app for a photo written to ``staging`` through our FileProvider."""
    from jnius import JavaException, autoclass, cast

    activity = _activity()
    context = activity.getApplicationContext()
    authority = context.getPackageName() + FILEPROVIDER_SUFFIX
    provider = autoclass("androidx.core.content.FileProvider")
    uri = provider.getUriForFile(context, authority, autoclass("java.io.File")(str(staging)))
    intent_class = autoclass("android.content.Intent")
    media_store = autoclass("android.provider.MediaStore")
    intent = intent_class(media_store.ACTION_IMAGE_CAPTURE)
    intent.putExtra(media_store.EXTRA_OUTPUT, cast("android.os.Parcelable", uri))
    intent.addFlags(
        intent_class.FLAG_GRANT_WRITE_URI_PERMISSION | intent_class.FLAG_GRANT_READ_URI_PERMISSION
    )
    try:
        activity.startActivityForResult(intent, request_code)
    except JavaException as exc:
        raise DeviceError("no camera app on this phone") from exc


class AndroidCamera:
    """One capture at a time (the camera app is in front while it runs). The Kivy app must
    allow pausing (``App.on_pause`` returns True), since Android pauses it meanwhile."""

    def __init__(self, permissions: AndroidPermissions, storage: AndroidStorage) -> None:
        self._permissions = permissions
        self._storage = storage

    def _staging(self) -> Path:
        """A new staging file; leftovers of a capture the app did not live to finish go."""
        folder = self._storage.capture_dir()
        for leftover in folder.iterdir():
            leftover.unlink(missing_ok=True)
        return folder / f"{uuid.uuid4().hex}.jpg"

    async def capture(self, dest: Path) -> Path | None:
        if not (await self._permissions.request(CAMERA))[CAMERA]:
            raise PermissionDenied(CAMERA)
        from android import activity as android_activity

        staging = self._staging()
        code = next(_REQUEST_CODES)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()

        def on_result(request_code: int, result_code: int, intent: Any) -> None:
            if request_code == code:
                loop.call_soon_threadsafe(_settle, future, result_code == RESULT_OK)

        android_activity.bind(on_activity_result=on_result)
        try:
            _launch_capture(staging, code)
            taken = await future
        finally:
            android_activity.unbind(on_activity_result=on_result)
        return settle_capture(staging, dest, taken=taken)


class AndroidDialer:
    def call(self, number: str) -> None:
        _start_activity("ACTION_DIAL", tel_uri(number), "phone")


class AndroidMaps:
    def navigate(self, *, lat: float | None, lon: float | None, address: str) -> None:
        _start_activity("ACTION_VIEW", geo_uri(lat=lat, lon=lon, address=address), "maps")


def locale_tag() -> str:
    """The phone's language (``java.util.Locale.getDefault().toLanguageTag()``)."""
    from jnius import autoclass

    tag = autoclass("java.util.Locale").getDefault().toLanguageTag()
    return language_tag(str(tag)) or "en"


def phone_model() -> str:
    from jnius import autoclass

    build = autoclass("android.os.Build")
    return android_model(str(build.MANUFACTURER), str(build.MODEL))


def device(model: str | None = None) -> Device:
    permissions = AndroidPermissions()
    storage = AndroidStorage()
    return Device(
        location=AndroidLocation(permissions),
        camera=AndroidCamera(permissions, storage),
        dialer=AndroidDialer(),
        maps=AndroidMaps(),
        storage=storage,
        permissions=permissions,
        locale=locale_tag,
        model=model if model is not None else phone_model(),
        notifier=PlyerNotifier(before=_ask_to_notify),
        platform="android",
    )
