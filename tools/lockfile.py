"""The dependency locks: exact versions with hashes for every platform.

- `requirements.lock`: the server, the `dev` extra (tests, linters) and the tooling;
  `make run`, `make test` and CI install only this (`pip install --require-hashes`), so a
  fresh machine gets the same versions as the last `make lock`, whatever PyPI released since.
- `requirements-runtime.lock`: the server alone, for production images; resolved within the
  first lock, so both pin the same versions.

Each lock's first line records a digest of what pyproject.toml asks for (dependencies, the
`dev` extra, the build requirements, requires-python); tests/test_lockfile.py fails when a
lock and pyproject.toml disagree, so a change to pyproject.toml lands together with its locks.

    python tools/lockfile.py             # re-lock: keep current pins, add/drop what changed
    python tools/lockfile.py --upgrade   # re-lock on the newest releases allowed
    python tools/lockfile.py --upgrade-package fastapi

Resolution is uv's universal mode (markers for every OS and Python the project supports) with
the hashes of every file of each pinned release, so the lock installs on Linux, macOS and
Windows alike. Standard library only: the test imports it before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"
EXTRAS = ("dev",)  # what `make install` installs; [mobile] is built by buildozer, not pip
DIGEST_PREFIX = "# pyproject-digest: "
# Installed by pip into the venv but not part of the resolution: pip itself, and setuptools
# (the build backend, pinned here so `pip install --no-build-isolation -e .` is locked too).
TOOLING = ("pip", "setuptools")


def locked_inputs(pyproject: Path = PYPROJECT) -> dict[str, Any]:
    """What the lock must satisfy, read from pyproject.toml."""
    data = tomllib.loads(pyproject.read_text())
    project = data["project"]
    extras = project.get("optional-dependencies", {})
    return {
        "requires-python": project.get("requires-python"),
        "dependencies": sorted(project.get("dependencies", [])),
        "extras": {name: sorted(extras.get(name, [])) for name in EXTRAS},
        "build": sorted(data.get("build-system", {}).get("requires", [])),
        "tooling": list(TOOLING),
    }


def digest(pyproject: Path = PYPROJECT) -> str:
    canonical = json.dumps(locked_inputs(pyproject), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded_digest(lock: Path = LOCK) -> str | None:
    first = lock.read_text().splitlines()[0] if lock.exists() else ""
    return first.removeprefix(DIGEST_PREFIX) if first.startswith(DIGEST_PREFIX) else None


def relock(extra_args: list[str]) -> None:
    inputs = locked_inputs()
    with tempfile.TemporaryDirectory() as tmp:
        tooling = Path(tmp) / "tooling.in"
        tooling.write_text("\n".join([*inputs["build"], *TOOLING]) + "\n")
        full = _compile(tmp, LOCK, [tooling], [*(f"--extra={n}" for n in EXTRAS), *extra_args])
        _write(LOCK, full, tmp)
        runtime = _compile(tmp, RUNTIME_LOCK, [tooling], [f"--constraint={LOCK}"])
        _write(RUNTIME_LOCK, runtime, tmp)


def _compile(tmp: str, lock: Path, inputs: list[Path], args: list[str]) -> str:
    out = Path(tmp) / lock.name
    if lock.exists():  # uv keeps the pins of the output file unless asked to upgrade
        out.write_text(lock.read_text())
    command = [
        sys.executable, "-m", "uv", "pip", "compile", str(PYPROJECT), *map(str, inputs),
        "--universal", "--generate-hashes", "--no-header", "--quiet",
        f"--output-file={out}", *args,
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT)  # noqa: S603
    return out.read_text().replace(tmp + "/", "")


def _write(lock: Path, body: str, tmp: str) -> None:
    header = [
        f"{DIGEST_PREFIX}{digest()}",
        "# Exact versions with hashes; made by `make lock` (tools/lockfile.py). Do not edit.",
        f"# Install: pip install --require-hashes -r {lock.name}",
    ]
    lock.write_text("\n".join(header) + "\n" + body)
    print(f"wrote {lock.relative_to(ROOT)} ({body.count('==')} pinned releases)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="newest releases allowed")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME")
    args = parser.parse_args()
    extra = ["--upgrade"] if args.upgrade else []
    extra += [f"--upgrade-package={name}" for name in args.upgrade_package]
    relock(extra)


if __name__ == "__main__":
    main()
