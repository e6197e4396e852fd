from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PIL import Image

from mobile.device import Device, Fix
from mobile.device.capture import photo_mime
from mobile.device.fakes import (
    FakeCamera,
    FakeDialer,
    FakeLocation,
    FakeMaps,
    FakePermissions,
    Navigation,
    fake_device,
    fix_at,
    fixed_locale,
)

NOW = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


async def test_the_fake_camera_writes_real_distinct_photos(tmp_path: Path) -> None:
    camera = FakeCamera(size=(40, 30))
    first = await camera.capture(tmp_path / "a" / "1.jpg")
    second = await camera.capture(tmp_path / "a" / "2.png")
    assert first is not None and second is not None
    assert (photo_mime(first), photo_mime(second)) == ("image/jpeg", "image/png")
    with Image.open(first) as image:
        assert image.size == (40, 30)
    assert first.read_bytes() != second.read_bytes()
    assert camera.captures == [tmp_path / "a" / "1.jpg", tmp_path / "a" / "2.png"]


async def test_the_fake_camera_can_be_cancelled(tmp_path: Path) -> None:
    camera = FakeCamera(cancel=True)
    assert await camera.capture(tmp_path / "x.jpg") is None
    assert not (tmp_path / "x.jpg").exists() and camera.captures == [tmp_path / "x.jpg"]


async def test_the_fake_location_answers_its_fix_or_none_after_the_timeout() -> None:
    fix = Fix(lat=1.0, lon=2.0, accuracy_m=3.0, at=NOW)
    location = FakeLocation(fix)
    assert await location.current() == fix and location.last_known() == fix
    location.fix = None
    assert await location.current() is None and location.last_known() == fix
    slow = FakeLocation(fix, delay=0.2)
    assert await slow.current(timeout=0.01) is None
    assert await slow.current(timeout=1) == fix
    assert slow.requests == 2
    slow.start()
    slow.stop()
    assert (slow.starts, slow.stops, slow.running) == (1, 1, False)


def test_the_fake_dialer_and_maps_check_what_they_record() -> None:
    dialer, maps = FakeDialer(), FakeMaps()
    dialer.call("+86 10 6552 9988")
    with pytest.raises(ValueError):
        dialer.call("ask for Li")
    maps.navigate(lat=None, lon=None, address="Main St 1")
    with pytest.raises(ValueError):
        maps.navigate(lat=None, lon=None, address="")
    assert dialer.calls == ["+861065529988"]
    assert maps.navigations == [Navigation(None, None, "Main St 1", "geo:0,0?q=Main%20St%201")]


async def test_the_fake_permissions_answer_as_configured() -> None:
    permissions = FakePermissions({"camera": False})
    assert await permissions.request("location", "camera") == {
        "location": True,
        "camera": False,
    }
    with pytest.raises(ValueError):
        await permissions.request("contacts")
    assert permissions.requests == [("location", "camera")]


def test_a_fake_device_bundles_the_fakes_with_real_storage(tmp_path: Path) -> None:
    location = FakeLocation(fix_at(1.0, 2.0))
    device = fake_device(tmp_path / "phone", location=location, locale=fixed_locale("zh-CN"))
    assert isinstance(device, Device)
    assert device.location is location and device.locale() == "zh-CN"
    assert device.storage.photos_dir() == tmp_path / "phone" / "photos"
    assert device.storage.photos_dir().is_dir()
    with pytest.raises(TypeError):
        fake_device(tmp_path, barometer=object())
