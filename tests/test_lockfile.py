"""The locks (requirements.lock, requirements-runtime.lock) agree with pyproject.toml and with
each other, and this environment is the lock's."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+))?"
)


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lockfile", ROOT / "tools" / "lockfile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lockfile = _tool()


@dataclass
class Pin:
    name: str
    version: str
    marker: Marker | None
    hashes: int = 0


def _pins(text: str) -> dict[str, Pin]:
    """``name==version [; marker]`` lines, each followed by its ``--hash`` lines."""
    pins: dict[str, Pin] = {}
    last: Pin | None = None
    for line in text.splitlines():
        if (found := _PIN.match(line)) is not None:
            marker = Marker(found["marker"].strip()) if found["marker"] else None
            last = Pin(canonicalize_name(found["name"]), found["version"], marker)
            pins[last.name] = last
        elif last is not None and "--hash=sha256:" in line:
            last.hashes += 1
    return pins


PINS = _pins(lockfile.LOCK.read_text())
RUNTIME_PINS = _pins(lockfile.RUNTIME_LOCK.read_text())


@pytest.mark.parametrize("lock", [lockfile.LOCK, lockfile.RUNTIME_LOCK], ids=lambda p: p.name)
def test_the_locks_were_made_from_this_pyproject(lock: Path) -> None:
    assert lockfile.recorded_digest(lock) == lockfile.digest(), (
        f"pyproject.toml's dependencies changed since {lock.name} was made: run `make lock`"
    )


def test_the_runtime_lock_pins_the_same_releases() -> None:
    runtime = {name: pin.version for name, pin in RUNTIME_PINS.items()}
    assert runtime == {name: PINS[name].version for name in runtime if name in PINS}
    assert "pytest" not in runtime
    assert [name for name, pin in RUNTIME_PINS.items() if pin.hashes == 0] == []


def _requirements() -> list[Any]:
    inputs = lockfile.locked_inputs()
    runtime = [*inputs["dependencies"], *inputs["build"], *inputs["tooling"]]
    extras = [text for texts in inputs["extras"].values() for text in texts]
    return [
        pytest.param(Requirement(text), pins, id=f"{lock.name}:{text}")
        for lock, pins, texts in (
            (lockfile.LOCK, PINS, runtime + extras),
            (lockfile.RUNTIME_LOCK, RUNTIME_PINS, runtime),
        )
        for text in texts
    ]


@pytest.mark.parametrize(("requirement", "pins"), _requirements())
def test_every_requirement_is_pinned_within_its_range(
    requirement: Requirement, pins: dict[str, Pin]
) -> None:
    pin = pins.get(canonicalize_name(requirement.name))
    assert pin is not None, f"{requirement.name} is not in a lock: run `make lock`"
    assert requirement.specifier.contains(pin.version, prereleases=True), (
        f"requirements.lock pins {pin.name}=={pin.version}, outside {requirement}: run `make lock`"
    )


def test_every_pin_carries_hashes() -> None:
    assert len(PINS) > 50
    assert [name for name, pin in PINS.items() if pin.hashes == 0] == []


def test_this_environment_was_installed_from_the_lock() -> None:
    drift = {}
    for name, pin in PINS.items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "missing"
        if installed != pin.version:
            drift[name] = f"locked {pin.version}, installed {installed}"
    assert drift == {}, "run `make install` (it installs requirements.lock)"


def test_a_changed_pyproject_is_noticed(tmp_path: Path) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    changed = tmp_path / "pyproject.toml"
    changed.write_text(pyproject.replace('"fastapi>=', '"fastapi[all]>=', 1))
    assert lockfile.digest(changed) != lockfile.digest()
