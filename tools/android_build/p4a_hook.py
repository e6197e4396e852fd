"""python-for-android build hook (buildozer.spec ``p4a.hook``): completes the generated
AndroidManifest.xml with what buildozer's options cannot express.

- The camera's FileProvider. The camera app must write the photo through a ``content://``
  URI (Android 7+ refuses ``file://``), which takes a ``<provider>`` inside ``<application>``.
  python-for-android's manifest template has no place for one: ``android.extra_manifest_xml``
  lands in ``<manifest>``, ``android.extra_manifest_application_arguments`` among the
  ``<application>`` tag's attributes (and both have had quoting bugs, buildozer#1535,
  python-for-android#2905).
- ``<uses-feature ... required="false">`` for the camera and the GPS. Declaring the CAMERA
  and location permissions makes Google Play assume those features are required and hide the
  app from devices without them; the app works without them (no photos, no position).
  buildozer's ``android.features`` is refused by python-for-android's build ("unrecognized
  arguments: --feature").

p4a runs ``after_apk_build`` once it has rendered the manifest into the distribution's
``src/main/`` and before Gradle builds it, so the manifest is completed there.

The provider's paths file (``@xml/fileprovider_paths``) is copied by ``android.res_xml``; its
class comes from ``androidx.core`` (``android.gradle_dependencies``). The authority is
``${applicationId}.fileprovider``, which Gradle fills in, and which
``mobile/device/android.py`` builds the same way (package name + ``FILEPROVIDER_SUFFIX``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

MANIFEST = Path("src") / "main" / "AndroidManifest.xml"
AUTHORITY = "${applicationId}.fileprovider"
PATHS_RESOURCE = "@xml/fileprovider_paths"
PROVIDER = f"""
        <provider
            android:name="androidx.core.content.FileProvider"
            android:authorities="{AUTHORITY}"
            android:exported="false"
            android:grantUriPermissions="true">
            <meta-data
                android:name="android.support.FILE_PROVIDER_PATHS"
                android:resource="{PATHS_RESOURCE}" />
        </provider>
"""
OPTIONAL_FEATURES = ("android.hardware.camera", "android.hardware.location.gps")


def _insert_once(manifest: str, marker: str, before: str, text: str) -> str:
    """``text`` inserted before the one ``before`` tag, unless ``marker`` shows it is there
    already (p4a reuses a distribution between builds)."""
    if marker in manifest:
        return manifest
    if manifest.count(before) != 1:
        raise RuntimeError(f"AndroidManifest.xml must have exactly one {before}")
    return manifest.replace(before, text + before)


def complete_manifest(manifest: str) -> str:
    """``manifest`` with the FileProvider and the optional features; idempotent."""
    patched = _insert_once(manifest, AUTHORITY, "</application>", PROVIDER + "    ")
    for feature in OPTIONAL_FEATURES:
        line = f'    <uses-feature android:name="{feature}" android:required="false" />\n'
        patched = _insert_once(patched, f'"{feature}"', "<application", line + "    ")
    # Our own build output, not untrusted input: a broken manifest fails here, not in Gradle.
    ET.fromstring(patched.encode())  # noqa: S314
    return patched


def manifest_path(toolchain: Any) -> Path:
    """The distribution's manifest: p4a runs the hook from the distribution directory."""
    dist = getattr(toolchain, "_dist", None)
    base = Path(dist.dist_dir) if dist is not None else Path.cwd()
    return base / MANIFEST


def after_apk_build(toolchain: Any) -> None:
    path = manifest_path(toolchain)
    path.write_text(complete_manifest(path.read_text(encoding="utf-8")), encoding="utf-8")
