from __future__ import annotations

import re

import pytest

from mobile.device.uris import (
    apple_maps_url,
    geo_uri,
    language_tag,
    normalise_number,
    osm_url,
    tel_uri,
)


@pytest.mark.parametrize(
    ("written", "dialable"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("(010) 6552-9988", "01065529988"),
        ("+86 (10) 6552 9988", "+861065529988"),
        ("  0049-30-901820  ", "004930901820"),
        ("112", "112"),
    ],
)
def test_numbers_as_people_write_them_become_dialable(written: str, dialable: str) -> None:
    assert normalise_number(written) == dialable
    assert tel_uri(written) == f"tel:{dialable}"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("020 7946 0958 ext. 12", "'e' (position 15)"),
        ("0800-FIXFLOW", "'F' (position 6)"),
        ("44+20 7946", "'+' may only start the number (found at position 3)"),
        ("020 7946 0958;", "';' (position 14)"),
        ("(020 7946 0958", "never closed"),
        ("020) 7946 0958", "')' at position 4 closes nothing"),
        ("12", "3 to 17 digits, this one 2"),
        ("+1234567890123456789", "this one 19"),
        ("٠١٢٣٤٥", "is not allowed"),  # Arabic-Indic digits: not what a dialler takes
    ],
)
def test_anything_but_a_phone_number_is_refused_naming_the_problem(
    written: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        normalise_number(written)


def test_geo_uri_pins_the_coordinates_and_labels_them_with_the_address() -> None:
    uri = geo_uri(lat=52.520008, lon=13.404954, address="Unter den Linden 1 (Hof), Berlin")
    assert uri == (
        "geo:52.520008,13.404954?q=52.520008,13.404954"
        "(Unter%20den%20Linden%201%20%28Hof%29%2C%20Berlin)"
    )


def test_geo_uri_without_coordinates_searches_the_address() -> None:
    assert geo_uri(lat=None, lon=None, address="  北京市 朝阳区\n建国路 88号 ") == (
        "geo:0,0?q=%E5%8C%97%E4%BA%AC%E5%B8%82%20%E6%9C%9D%E9%98%B3%E5%8C%BA%20"
        "%E5%BB%BA%E5%9B%BD%E8%B7%AF%2088%E5%8F%B7"
    )


def test_half_a_position_falls_back_to_the_address() -> None:
    assert geo_uri(lat=51.5, lon=None, address="1 Main St") == "geo:0,0?q=1%20Main%20St"
    assert osm_url(lat=None, lon=-0.12, address="1 Main St") == (
        "https://www.openstreetmap.org/search?query=1+Main+St"
    )


def test_a_pin_without_an_address_has_no_label() -> None:
    assert geo_uri(lat=-33.8688, lon=151.2093, address=" ") == (
        "geo:-33.868800,151.209300?q=-33.868800,151.209300"
    )


@pytest.mark.parametrize(
    ("lat", "lon", "address", "problem"),
    [
        (None, None, "  ", "nowhere to navigate to"),
        (91.0, 0.0, "x", "latitude"),
        (0.0, -180.5, "x", "longitude"),
        (float("nan"), 0.0, "x", "latitude"),
    ],
)
def test_impossible_destinations_are_refused(
    lat: float | None, lon: float | None, address: str, problem: str
) -> None:
    for build in (geo_uri, osm_url, apple_maps_url):
        with pytest.raises(ValueError, match=problem):
            build(lat=lat, lon=lon, address=address)


def test_openstreetmap_marks_the_site_at_street_zoom() -> None:
    assert osm_url(lat=48.8584, lon=2.2945, address="Champ de Mars") == (
        "https://www.openstreetmap.org/?mlat=48.858400&mlon=2.294500#map=17/48.858400/2.294500"
    )


def test_apple_maps_gives_directions_to_coordinates_or_address() -> None:
    assert apple_maps_url(lat=1.5, lon=2.25, address="x") == (
        "https://maps.apple.com/?daddr=1.500000,2.250000"
    )
    assert apple_maps_url(lat=None, lon=None, address="1 Infinite Loop, Cupertino") == (
        "https://maps.apple.com/?daddr=1+Infinite+Loop%2C+Cupertino"
    )


@pytest.mark.parametrize(
    ("spelled", "tag"),
    [
        ("zh_CN.UTF-8", "zh-CN"),
        ("en_GB", "en-GB"),
        ("en-gb", "en-GB"),
        ("zh-Hans-CN", "zh-Hans-CN"),
        ("zh_hans_cn", "zh-Hans-CN"),
        ("sr_RS@latin", "sr-RS"),
        ("es-419", "es-419"),
        ("de", "de"),
        ("C", None),
        ("C.UTF-8", None),
        ("POSIX", None),
        ("", None),
        ("1234", None),
    ],
)
def test_locales_as_platforms_spell_them_become_language_tags(
    spelled: str, tag: str | None
) -> None:
    assert language_tag(spelled) == tag
