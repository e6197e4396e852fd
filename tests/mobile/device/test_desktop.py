from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PIL import Image

from mobile.device import Fix
from mobile.device.desktop import (
    BrowserDialer,
    BrowserMaps,
    DesktopCamera,
    DesktopLocation,
    DesktopStorage,
    GrantedPermissions,
    env_picker,
    locale_tag,
    parse_gps,
    user_data_base,
)

NOW = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


async def test_a_configured_position_is_the_current_fix() -> None:
    location = DesktopLocation(environ={"FIXFLOW_DEVICE_GPS": "39.9042, 116.4074, 15"})
    assert location.last_known() is None
    fix = await location.current()
    assert fix is not None and (fix.lat, fix.lon, fix.accuracy_m) == (39.9042, 116.4074, 15.0)
    assert fix.at.tzinfo is dt.UTC
    assert location.last_known() == fix


async def test_the_constructor_position_wins_and_time_comes_from_the_clock() -> None:
    location = DesktopLocation(
        (1.0, 2.0, 3.0), environ={"FIXFLOW_DEVICE_GPS": "9,9,9"}, clock=lambda: NOW
    )
    assert await location.current() == Fix(lat=1.0, lon=2.0, accuracy_m=3.0, at=NOW)


async def test_without_configuration_there_is_no_fix() -> None:
    location = DesktopLocation(environ={"FIXFLOW_DEVICE_GPS": "  "})
    location.start()
    assert location.running
    assert await location.current(timeout=0.1) is None
    assert location.last_known() is None
    location.stop()
    assert not location.running


def test_the_accuracy_defaults_to_ten_metres() -> None:
    assert parse_gps("51.5,-0.12") == (51.5, -0.12, 10.0)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("51.5", "'lat,lon' or 'lat,lon,accuracy_m'"),
        ("51.5,-0.12,5,1", "'lat,lon' or"),
        ("north,west", "must hold numbers"),
        ("91,0", "lat must be between"),
        ("0,0,-5", "accuracy_m must be between"),
    ],
)
def test_a_bad_configured_position_is_an_error_not_a_silent_no_fix(
    value: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        DesktopLocation(environ={"FIXFLOW_DEVICE_GPS": value})


async def test_the_desktop_camera_copies_the_picked_photo(tmp_path: Path) -> None:
    picked = tmp_path / "boiler.jpg"
    Image.new("RGB", (10, 10), "red").save(picked)
    asked = []

    async def pick() -> Path | None:
        asked.append(True)
        return picked

    dest = tmp_path / "store" / "photos" / "p.jpg"
    assert await DesktopCamera(pick).capture(dest) == dest
    assert dest.read_bytes() == picked.read_bytes() and picked.exists() and asked == [True]


async def test_closing_the_picker_is_a_cancelled_capture(tmp_path: Path) -> None:
    async def pick() -> Path | None:
        return None

    assert await DesktopCamera(pick).capture(tmp_path / "p.jpg") is None
    assert not (tmp_path / "p.jpg").exists()


async def test_picking_something_that_is_not_a_photo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "invoice.pdf").write_bytes(b"%PDF-1.4")

    async def pick() -> Path | None:
        return tmp_path / "invoice.pdf"

    with pytest.raises(ValueError, match="not a photo"):
        await DesktopCamera(pick).capture(tmp_path / "p.jpg")


async def test_the_environment_picker_picks_the_configured_file(tmp_path: Path) -> None:
    assert await env_picker({"FIXFLOW_DEVICE_PHOTO": str(tmp_path / "a.jpg")})() == (
        tmp_path / "a.jpg"
    )
    assert await env_picker({})() is None


def test_calls_and_navigation_open_the_right_addresses() -> None:
    opened: list[str] = []
    BrowserDialer(opened.append).call("+44 (0)20 7946-0958")
    BrowserMaps(opened.append).navigate(lat=51.501, lon=-0.1419, address="Buckingham Palace")
    BrowserMaps(opened.append).navigate(lat=None, lon=None, address="10 Downing St, London")
    assert opened == [
        "tel:+4402079460958",
        "https://www.openstreetmap.org/?mlat=51.501000&mlon=-0.141900#map=17/51.501000/-0.141900",
        "https://www.openstreetmap.org/search?query=10+Downing+St%2C+London",
    ]


def test_a_bad_number_opens_nothing() -> None:
    opened: list[str] = []
    with pytest.raises(ValueError):
        BrowserDialer(opened.append).call("call the office")
    assert opened == []


def test_storage_lives_under_the_override_or_the_user_data_dir(tmp_path: Path) -> None:
    storage = DesktopStorage(environ={"FIXFLOW_MOBILE_DATA": str(tmp_path / "override")})
    assert storage.data_dir() == tmp_path / "override" and storage.data_dir().is_dir()
    assert storage.photos_dir() == tmp_path / "override" / "photos"
    assert storage.photos_dir().is_dir()
    xdg = DesktopStorage(environ={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert xdg.base == tmp_path / "xdg" / "fixflow"
    assert DesktopStorage(tmp_path / "given", environ={"FIXFLOW_MOBILE_DATA": "x"}).base == (
        tmp_path / "given"
    )


def test_the_user_data_dir_follows_the_platform() -> None:
    home = Path.home()
    assert user_data_base({}, "linux") == home / ".local" / "share"
    assert user_data_base({"XDG_DATA_HOME": "/srv/x"}, "linux") == Path("/srv/x")
    assert user_data_base({}, "darwin") == home / "Library" / "Application Support"
    assert user_data_base({"APPDATA": "C:/Users/e/AppData/Roaming"}, "win32") == Path(
        "C:/Users/e/AppData/Roaming"
    )


async def test_the_desktop_grants_every_known_permission() -> None:
    assert await GrantedPermissions().request("location", "camera") == {
        "location": True,
        "camera": True,
    }
    with pytest.raises(ValueError, match="unknown permission"):
        await GrantedPermissions().request("microphone")


@pytest.mark.parametrize(
    ("environ", "tag"),
    [
        ({"LANGUAGE": "zh_CN:en_GB", "LANG": "en_US.UTF-8"}, "zh-CN"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en-GB"),
        ({"LC_MESSAGES": "de_DE.UTF-8", "LANG": "zh_CN.UTF-8"}, "de-DE"),
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LANGUAGE": "", "LC_ALL": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, "fr-FR"),
    ],
)
def test_the_desktop_language_follows_gettexts_precedence(
    environ: dict[str, str], tag: str
) -> None:
    assert locale_tag(environ) == tag


def test_without_any_language_setting_english_is_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("locale.getlocale", lambda: (None, None))
    assert locale_tag({"LANG": "C"}) == "en"
    monkeypatch.setattr("locale.getlocale", lambda: ("pt_BR", "UTF-8"))
    assert locale_tag({}) == "pt-BR"
