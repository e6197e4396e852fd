"""buildozer.spec builds the app the tests run: the same pinned versions as requirements.lock,
every package the app imports (python-for-android installs what it is told and nothing it
was not: it does not resolve sub-dependencies), the permissions the device layer asks for,
the icon and presplash, the version of pyproject.toml, only the app's own folders, and a
manifest hook that declares the camera's FileProvider.

The phone build itself cannot run here (it downloads the Android SDK and NDK); these checks
are what can go wrong in this file without a build noticing until a phone crashes.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from fnmatch import fnmatch
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from PIL import Image

from mobile.device.android import ANDROID_PERMISSIONS

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "buildozer.spec"
ANDROID, IOS = "app", "app@ios"  # the default section and the iOS profile's

# The Python each phone build runs, for the dependency markers: python-for-android's python3
# recipe at the pinned p4a release (Python 3.13+ reports sys.platform "android"), and
# kivy-ios's (3.11, reporting "darwin"). A new p4a.branch must be added here.
P4A_PYTHON = {"v2026.05.09": "3.14"}
IOS_PYTHON = "3.11"
# python-for-android / kivy-ios recipes that are not PyPI packages of the lock.
RECIPES = {"python3", "sqlite3", "openssl", "pyjnius", "android", "pyobjus", "photolibrary"}
# Import name -> requirement name, where they differ.
MODULE_REQUIREMENT = {"jnius": "pyjnius", "PIL": "pillow"}
# Modules that only one build ships, and test doubles the app never imports.
ONLY_IN = {"mobile/device/android.py": {ANDROID}, "mobile/device/ios.py": {IOS}}
NEVER_ON_THE_PHONE = {"mobile/device/fakes.py"}
REQUIRED_PERMISSIONS = {
    "INTERNET",
    "ACCESS_FINE_LOCATION",
    "ACCESS_COARSE_LOCATION",
    "CAMERA",
    "POST_NOTIFICATIONS",  # mobile.device.android asks for it (new work)
}
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)")


def _spec() -> configparser.ConfigParser:
    """Read as buildozer does: case-sensitive keys, ``%(source.dir)s`` interpolation."""
    parser = configparser.ConfigParser(allow_no_value=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(SPEC, encoding="utf-8")
    return parser


def _list(section: str, key: str) -> list[str]:
    return [item.strip() for item in _spec().get(section, key).split(",") if item.strip()]


def _requirements(section: str) -> dict[str, str | None]:
    """Canonical name -> pinned version (``None`` when unpinned)."""
    found: dict[str, str | None] = {}
    for item in _list(section, "requirements"):
        name, _, version = item.partition("==")
        found[canonicalize_name(name)] = version or None
    return found


def _lock() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {
        canonicalize_name(m["name"]): m["version"]
        for line in text.splitlines()
        if (m := _PIN.match(line))
    }


def _environments() -> list[dict[str, str]]:
    branch = _spec().get(ANDROID, "p4a.branch")
    assert branch in P4A_PYTHON, f"p4a.branch {branch}: which Python does it build?"
    base = {"os_name": "posix", "platform_python_implementation": "CPython", "extra": ""}
    base["implementation_name"] = "cpython"
    phones = [("android", "Android", P4A_PYTHON[branch]), ("darwin", "Darwin", IOS_PYTHON)]
    return [
        {
            **base,
            "sys_platform": platform,
            "platform_system": system,
            "python_version": python,
            "python_full_version": python + ".0",
            "platform_machine": "arm64",
        }
        for platform, system, python in phones
    ]


def _runtime_closure(root: str) -> set[str]:
    """``root`` and everything it needs on a phone, transitively, from the installed
    metadata (which test_lockfile.py holds to the lock): no extras, markers evaluated for
    the phones' Pythons."""
    environments = _environments()
    seen, todo = set(), [canonicalize_name(root)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate(env) for env in environments):
                todo.append(canonicalize_name(requirement.name))
    return seen


@pytest.mark.parametrize("section", [ANDROID, IOS])
def test_every_pin_is_the_locked_version(section: str) -> None:
    lock = _lock()
    for name, version in _requirements(section).items():
        if name in RECIPES:
            continue
        assert name in lock, f"{name} is not in requirements.lock: the desktop never ran it"
        assert version == lock[name], f"{name}=={version} in [{section}], {lock[name]} locked"


@pytest.mark.parametrize("section", [ANDROID, IOS])
def test_httpx_and_all_it_needs_are_required_and_pinned(section: str) -> None:
    needed = _runtime_closure("httpx")
    assert {"httpx", "httpcore", "h11", "anyio", "idna", "certifi"} <= needed  # sanity
    required = _requirements(section)
    lock = _lock()
    for name in sorted(needed):
        assert name in required, f"[{section}] requirements lack {name} (needed by httpx)"
        assert required[name] == lock[name] == importlib.metadata.version(name), name


def _optional(tree: ast.AST) -> set[int]:
    """Imports inside ``try: ... except ImportError`` (the app works without them, as the
    desktop-only font package): they need not be on the phone."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _imports(path: Path) -> set[str]:
    """Top-level modules ``path`` imports (at any depth: lazy imports count, optional ones
    guarded by ``except ImportError`` do not), absolute only."""
    names = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    optional = _optional(tree)
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"mobile", "shared", "__future__"}


def test_every_package_the_app_imports_is_a_requirement() -> None:
    sources = [ROOT / "main.py", *ROOT.glob("mobile/**/*.py"), *ROOT.glob("shared/**/*.py")]
    requirements = {section: _requirements(section) for section in (ANDROID, IOS)}
    missing = []
    for path in sources:
        relative = path.relative_to(ROOT).as_posix()
        if relative in NEVER_ON_THE_PHONE:
            continue
        for module in _imports(path):
            name = canonicalize_name(MODULE_REQUIREMENT.get(module, module))
            for section in ONLY_IN.get(relative, {ANDROID, IOS}):
                if name not in requirements[section]:
                    missing.append(f"{relative} imports {module}: not in [{section}]")
    assert not missing, "\n".join(missing)


def test_the_permissions_the_app_uses_are_declared() -> None:
    declared = {
        p.removeprefix("android.permission.") for p in _list(ANDROID, "android.permissions")
    }
    assert declared >= REQUIRED_PERMISSIONS, REQUIRED_PERMISSIONS - declared
    asked = {p for names in ANDROID_PERMISSIONS.values() for p in names}  # mobile.device asks
    assert {p.removeprefix("android.permission.") for p in asked} <= declared
    assert "CALL_PHONE" not in declared  # the dialler opens; the engineer calls


def test_the_icon_and_presplash_exist() -> None:
    spec = _spec()  # paths relative to the spec's folder, as buildozer runs from there
    icon = ROOT / spec.get(ANDROID, "icon.filename")
    presplash = ROOT / spec.get(ANDROID, "presplash.filename")
    with Image.open(icon) as image:
        assert (image.format, image.size) == ("PNG", (512, 512))
    with Image.open(presplash) as image:
        assert image.format == "PNG" and min(image.size) >= 512


def test_the_version_is_pyprojects() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _spec().get(ANDROID, "version") == project["version"]


def test_the_build_targets_what_the_docs_say() -> None:
    spec = _spec()
    expected = {
        "title": "Fixflow",
        "package.name": "fixflow",
        "package.domain": "org.fixflow",
        "orientation": "portrait",
        "fullscreen": "0",
        "android.api": "34",
        "android.minapi": "24",
        "android.accept_sdk_license": "True",
    }
    assert {key: spec.get(ANDROID, key) for key in expected} == expected
    assert _list(ANDROID, "android.archs") == ["arm64-v8a", "armeabi-v7a"]
    assert (ROOT / spec.get(ANDROID, "source.dir") / "main.py").is_file()


def _excluded(path: str, excludes: list[str], includes: list[str]) -> bool:
    """buildozer's verdict on one path (lower-cased dir paths end with "/"): an exclude
    pattern removes it, an include pattern brings it back."""
    if any(fnmatch(path, pattern) for pattern in excludes):
        return not any(fnmatch(path, pattern) for pattern in includes)
    return False


def _packaged(root: Path) -> set[str]:
    """The files ``buildozer`` copies into the app, by its own rules
    (``Buildozer._copy_application_sources``): hidden paths never; a folder under
    ``source.exclude_dirs`` or matching ``source.exclude_patterns`` is skipped unless
    ``source.include_patterns`` matches it; then the same for each file; then the file's
    extension must be in ``source.include_exts`` (a file without one always passes)."""
    exts = [e.lower() for e in _list(ANDROID, "source.include_exts")]
    dirs = [d.lower().rstrip("/") + "/" for d in _list(ANDROID, "source.exclude_dirs")]
    excludes = [p.lower() for p in _list(ANDROID, "source.exclude_patterns")]
    includes = [p.lower() for p in _list(ANDROID, "source.include_patterns")]
    packaged = set()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]  # as buildozer skips
        relative = Path(folder).relative_to(root).as_posix().lower()
        prefix = "" if relative == "." else relative + "/"
        if prefix and (any(prefix.startswith(d) for d in dirs) or _excluded(prefix, excludes, [])):
            if not any(fnmatch(prefix, pattern) for pattern in includes):
                continue
        for name in files:
            candidate = prefix + name if prefix else name.lower()
            if name.startswith(".") or _excluded(candidate, excludes, includes):
                continue
            ext = Path(name).suffix[1:].lower()
            if not ext or ext in exts:
                packaged.add(Path(folder, name).relative_to(root).as_posix())
    return packaged


def test_only_the_app_goes_into_the_package() -> None:
    packaged = _packaged(ROOT)
    outside = sorted(
        p for p in packaged if p != "main.py" and p.split("/")[0] not in ("mobile", "shared")
    )
    assert not outside, f"would be packaged: {outside[:10]}"
    exts = {"." + e for e in _list(ANDROID, "source.include_exts")}
    wanted = {
        path.relative_to(ROOT).as_posix()
        for top in ("mobile", "shared")
        for path in (ROOT / top).rglob("*")
        if path.is_file() and path.suffix in exts and "__pycache__" not in path.parts
    }
    assert wanted - packaged == set()
    assert {
        "main.py",
        "mobile/device/android.py",
        "shared/sync.py",
        "mobile/assets/icon.png",
    } <= packaged


def test_packaging_rules_are_read_as_buildozer_reads_them(tmp_path: Path) -> None:
    """The simulation above on a made-up tree: a stray top-level file, a file without an
    extension, a test folder and a Python cache are all left out."""
    for name in (
        "main.py",
        "Makefile",
        "setup.py",
        "mobile/ui/app.py",
        "mobile/ui/app.kv",
        "mobile/__pycache__/x.cpython-311.pyc",
        "shared/LICENSE",
        "server/main.py",
        "tests/mobile/test_x.py",
        ".venv/lib/site.py",
        "mobile/.hidden/x.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert _packaged(tmp_path) == {
        "main.py",
        "mobile/ui/app.py",
        "mobile/ui/app.kv",
        "shared/LICENSE",
    }


def _hook() -> ModuleType:
    path = ROOT / _spec().get(ANDROID, "p4a.hook")
    spec = importlib.util.spec_from_file_location("p4a_hook", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What python-for-android renders from its manifest template, reduced to the parts the hook
# relies on (one <application>, one </application>, permissions before it).
RENDERED = """<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android"
      android:versionCode="10010" android:versionName="0.1.0" android:installLocation="auto">
    <uses-sdk android:minSdkVersion="24" android:targetSdkVersion="34" />
    <uses-permission android:name="android.permission.CAMERA" />
    <application android:label="@string/app_name" android:icon="@mipmap/icon"
                 android:allowBackup="false" android:hardwareAccelerated="true">
        <activity android:name="org.kivy.android.PythonActivity" android:exported="true" />
    </application>
</manifest>
"""
ANDROID_NS = "{http://schemas.android.com/apk/res/android}"


def test_the_hook_declares_the_file_provider_and_optional_features(tmp_path: Path) -> None:
    manifest = tmp_path / "src" / "main" / "AndroidManifest.xml"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(RENDERED)
    hook = _hook()
    toolchain = SimpleNamespace(_dist=SimpleNamespace(dist_dir=str(tmp_path)))
    hook.after_apk_build(toolchain)
    hook.after_apk_build(toolchain)  # p4a reuses a distribution: nothing doubles
    root = ET.fromstring(manifest.read_bytes())
    providers = root.findall("application/provider")
    assert len(providers) == 1
    provider = providers[0]
    assert provider.get(ANDROID_NS + "name") == "androidx.core.content.FileProvider"
    assert provider.get(ANDROID_NS + "authorities") == "${applicationId}.fileprovider"
    assert provider.get(ANDROID_NS + "exported") == "false"
    assert provider.get(ANDROID_NS + "grantUriPermissions") == "true"
    resource = provider.find("meta-data").get(ANDROID_NS + "resource")  # type: ignore[union-attr]
    shipped = [Path(p).stem for p in _list(ANDROID, "android.res_xml")]
    assert resource == "@xml/fileprovider_paths" and "fileprovider_paths" in shipped
    features = {
        f.get(ANDROID_NS + "name"): f.get(ANDROID_NS + "required")
        for f in root.findall("uses-feature")
    }
    assert features == {
        "android.hardware.camera": "false",
        "android.hardware.location.gps": "false",
    }


def test_the_hook_refuses_a_manifest_it_does_not_understand() -> None:
    with pytest.raises(RuntimeError, match="exactly one </application>"):
        _hook().complete_manifest(RENDERED.replace("</application>", ""))


def test_the_build_files_the_spec_names_exist() -> None:
    spec = _spec()
    for key in ("p4a.hook", "android.res_xml"):
        assert (ROOT / spec.get(ANDROID, key)).is_file(), key
    assert "androidx.core:core:" in spec.get(ANDROID, "android.gradle_dependencies")


def test_main_py_starts_the_app_only_when_run() -> None:
    """Importing main.py (tests, tooling) neither needs Kivy nor starts the UI; run as
    ``__main__`` (as on the phone) it imports ``mobile.ui.app`` and calls its ``main``."""
    script = (
        "import sys\nsys.modules['kivy'] = None\nimport main\n"
        "print(sorted(n for n in sys.modules if n.startswith(('mobile', 'kivy'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['kivy']"  # only the blocker: nothing of the app loaded
    tree = ast.parse((ROOT / "main.py").read_text())
    guard = next(node for node in tree.body if isinstance(node, ast.If))
    assert ast.unparse(guard.test) == "__name__ == '__main__'"
    assert [ast.unparse(node) for node in guard.body] == [
        "from mobile.ui.app import main",
        "main()",
    ]
