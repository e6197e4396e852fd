from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mobile.device import (
    PERMISSIONS,
    Device,
    Fix,
    check_permission_names,
    detect_platform,
    for_platform,
)
from mobile.device.android import AndroidCamera, AndroidLocation, AndroidMaps, AndroidStorage
from mobile.device.desktop import DesktopCamera, DesktopLocation, DesktopStorage
from mobile.device.ios import IosCamera, IosDialer, IosStorage
from shared.ids import uuid7
from shared.sync import check_args

ROOT = Path(__file__).resolve().parents[3]
NOW = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


def test_a_fix_is_the_gps_argument_the_sync_protocol_accepts() -> None:
    fix = Fix(lat=31.2304, lon=121.4737, accuracy_m=4.5, at=NOW)
    args = {"work_order_id": str(uuid7()), "visit_id": str(uuid7()), "gps": fix.as_gps()}
    assert check_args("visit.check_in", args)["gps"] == {
        "lat": 31.2304,
        "lon": 121.4737,
        "accuracy_m": 4.5,
    }


@pytest.mark.parametrize(
    ("lat", "lon", "accuracy", "problem"),
    [
        (90.5, 0.0, 5.0, "lat"),
        (0.0, 180.01, 5.0, "lon"),
        (0.0, 0.0, -1.0, "accuracy_m"),
        (0.0, 0.0, 100_001.0, "accuracy_m"),
        (float("inf"), 0.0, 5.0, "lat"),
    ],
)
def test_a_fix_outside_what_the_server_takes_cannot_exist(
    lat: float, lon: float, accuracy: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Fix(lat=lat, lon=lon, accuracy_m=accuracy, at=NOW)


def test_a_fix_time_is_utc() -> None:
    with pytest.raises(ValueError, match="UTC"):
        Fix(lat=0, lon=0, accuracy_m=1, at=dt.datetime(2026, 3, 2, 8, 30))
    with pytest.raises(ValueError, match="UTC"):
        Fix(lat=0, lon=0, accuracy_m=1, at=NOW.astimezone(dt.timezone(dt.timedelta(hours=8))))


def test_permission_names_are_checked_so_a_typo_is_not_a_refusal() -> None:
    check_permission_names(PERMISSIONS)
    with pytest.raises(ValueError, match="unknown permission 'gps'"):
        check_permission_names(("camera", "gps"))


@pytest.mark.parametrize(
    ("environ", "sys_platform", "expected"),
    [
        ({"KIVY_BUILD": "ios"}, "darwin", "ios"),
        ({"KIVY_BUILD": "android"}, "linux", "android"),
        ({"P4A_BOOTSTRAP": "SDL2"}, "linux", "android"),
        ({"ANDROID_ARGUMENT": "/data/app"}, "linux", "android"),
        ({}, "android", "android"),
        ({}, "ios", "ios"),
        ({}, "linux", "desktop"),
        ({}, "darwin", "desktop"),
        ({"KIVY_BUILD": ""}, "win32", "desktop"),
    ],
)
def test_the_platform_is_detected_by_kivys_conventions(
    environ: dict[str, str], sys_platform: str, expected: str
) -> None:
    assert detect_platform(environ, sys_platform) == expected


def test_the_desktop_device_reads_its_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FIXFLOW_DEVICE_GPS", "48.1,11.5,12")
    monkeypatch.setenv("FIXFLOW_MOBILE_DATA", str(tmp_path / "phone"))
    for platform in ("desktop", "linux", "macosx", "win"):
        device = for_platform(platform)
        assert device.platform == "desktop"
        assert isinstance(device.location, DesktopLocation)
        assert device.location.position == (48.1, 11.5, 12.0)
        assert isinstance(device.storage, DesktopStorage)
        assert device.storage.data_dir() == tmp_path / "phone"
        assert device.model.startswith("Desktop (")


def test_parts_can_be_replaced_by_name(tmp_path: Path) -> None:
    async def pick() -> Path | None:
        return None

    camera = DesktopCamera(pick)
    device = for_platform("desktop", camera=camera, model="Bench laptop")
    assert device.camera is camera
    assert device.model == "Bench laptop"
    with pytest.raises(TypeError, match="'scanner'"):
        for_platform("desktop", scanner=object())
    with pytest.raises(ValueError, match="unknown platform 'symbian'"):
        for_platform("symbian")


def test_the_phone_devices_are_assembled_without_touching_the_phone() -> None:
    """Building the bundle imports no phone library (only using a part does), so the model
    is the one thing that must be given on a desktop."""
    android = for_platform("android", model="Pixel 8")
    assert android.platform == "android"
    assert isinstance(android.location, AndroidLocation)
    assert isinstance(android.camera, AndroidCamera)
    assert isinstance(android.maps, AndroidMaps)
    assert isinstance(android.storage, AndroidStorage)
    ios = for_platform("ios", model="iPhone15,2")
    assert (ios.platform, ios.model) == ("ios", "iPhone15,2")
    assert isinstance(ios.camera, IosCamera)
    assert isinstance(ios.dialer, IosDialer)
    assert isinstance(ios.storage, IosStorage)
    assert isinstance(android, Device) and isinstance(ios, Device)


BLOCKED = ("jnius", "android", "pyobjus", "plyer", "photolibrary", "kivy", "PIL")


def test_every_device_module_imports_without_the_phone_libraries_or_kivy() -> None:
    """The phone-only imports are lazy: with pyjnius, p4a's android module, pyobjus, plyer,
    Kivy and Pillow all unimportable, every module still imports and the desktop device
    still works."""
    script = f"""
import json, sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # "import name" now raises ImportError
import mobile.device, mobile.device.android, mobile.device.ios, mobile.device.desktop
import mobile.device.fakes, mobile.device.gps, mobile.device.capture, mobile.device.uris
import mobile.device.folders
device = mobile.device.for_platform("desktop", model="x")
loaded = sorted(n for n in sys.modules if n.split(".")[0] in {BLOCKED!r} and sys.modules[n])
print(json.dumps({{"loaded": loaded, "platform": device.platform}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"loaded": [], "platform": "desktop"}
