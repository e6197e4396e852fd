"""The Android module's pure parts, and its agreement with the build files that make its
FileProvider exist (tools/android_build). The Java side cannot run here: see
test_device.py for the lazy imports."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mobile.device.android import (
    CAPTURE_DIR,
    FILEPROVIDER_SUFFIX,
    AndroidPermissions,
    android_model,
    android_permissions,
    grants_by_name,
)

ROOT = Path(__file__).resolve().parents[3]
FINE, COARSE, CAMERA = (
    "android.permission.ACCESS_FINE_LOCATION",
    "android.permission.ACCESS_COARSE_LOCATION",
    "android.permission.CAMERA",
)


def test_our_names_become_androids_permissions_once_each() -> None:
    assert android_permissions(["location", "camera", "location"]) == [FINE, COARSE, CAMERA]
    assert android_permissions([]) == []
    with pytest.raises(ValueError, match="unknown permission 'storage'"):
        android_permissions(["storage"])


@pytest.mark.parametrize(
    ("answered", "location"),
    [
        ({FINE: True, COARSE: True}, True),
        ({FINE: False, COARSE: True}, True),  # "approximate" on Android 12+
        ({FINE: False, COARSE: False}, False),
        ({}, False),  # an interrupted request answers nothing: nothing is granted
    ],
)
def test_location_is_granted_with_fine_or_coarse(answered: dict[str, bool], location: bool) -> None:
    assert grants_by_name(["location"], answered) == {"location": location}


def test_each_name_is_answered_from_its_own_permissions() -> None:
    assert grants_by_name(["camera", "location"], {FINE: True, CAMERA: False}) == {
        "camera": False,
        "location": True,
    }


async def test_asking_for_nothing_asks_android_nothing() -> None:
    # would import p4a's android module (absent here) if it reached the request
    assert await AndroidPermissions().request() == {}


@pytest.mark.parametrize(
    ("manufacturer", "model", "name"),
    [
        ("Google", "Pixel 8", "Google Pixel 8"),
        ("samsung", "SM-S911B", "samsung SM-S911B"),
        ("Xiaomi", "Xiaomi 14", "Xiaomi 14"),
        ("HUAWEI", "huawei P60", "huawei P60"),
        ("", "Pixel 8", "Pixel 8"),
        ("Fairphone", "", "Fairphone"),
        ("", "", "Android"),
    ],
)
def test_the_phone_is_named_without_repeating_its_maker(
    manufacturer: str, model: str, name: str
) -> None:
    assert android_model(manufacturer, model) == name


def test_the_shared_folder_is_the_one_the_camera_writes_to() -> None:
    """The FileProvider refuses a file outside the folders its paths file lists: a staging
    folder renamed on one side only would fail every capture on the phone."""
    paths = ET.parse(ROOT / "tools/android_build/fileprovider_paths.xml").getroot()
    shared = [(node.tag, node.get("path")) for node in paths]
    assert shared == [("files-path", f"{CAPTURE_DIR}/")]


def test_the_provider_authority_is_the_one_the_camera_asks_for() -> None:
    spec = importlib.util.spec_from_file_location(
        "p4a_hook", ROOT / "tools/android_build/p4a_hook.py"
    )
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert hook.AUTHORITY == "${applicationId}" + FILEPROVIDER_SUFFIX
    assert hook.PATHS_RESOURCE == "@xml/fileprovider_paths"
