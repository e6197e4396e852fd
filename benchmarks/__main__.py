"""`python -m benchmarks [NAME ...]`: run every benchmark, or the ones named.

A benchmark is a module ``benchmarks/bench_<name>.py`` with ``DESCRIPTION`` and
``async def run() -> dict``. The result is printed and written to
``benchmarks/results/<name>.json`` together with when and where it was measured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def discover() -> dict[str, str]:
    """name -> module path for every benchmarks/bench_<name>.py."""
    return {
        path.stem.removeprefix("bench_"): f"benchmarks.{path.stem}"
        for path in sorted(HERE.glob("bench_*.py"))
    }


def _machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _lines(value: Any, indent: int = 2) -> list[str]:
    """A nested dict as indented 'key: value' lines."""
    pad = " " * indent
    out: list[str] = []
    for key, item in value.items():
        if isinstance(item, dict):
            flat = all(not isinstance(v, dict | list) for v in item.values())
            if flat and len(item) <= 6:
                out.append(f"{pad}{key}: " + ", ".join(f"{k}={v}" for k, v in item.items()))
            else:
                out.append(f"{pad}{key}:")
                out += _lines(item, indent + 2)
        elif isinstance(item, list):
            out.append(f"{pad}{key}:")
            out += [f"{pad}  - {v}" for v in item]
        else:
            out.append(f"{pad}{key}: {item}")
    return out


def summary(name: str, result: dict[str, Any]) -> str:
    head = [f"== {name}: {result.get('description', '')}"]
    for section in ("figures", "baseline", "ratios", "plans_brief", "cpu", "setup"):
        if section in result:
            head.append(f" {section}:")
            head += _lines(result[section])
    if "notes" in result:
        head.append(" notes:")
        head += [f"  - {note}" for note in result["notes"]]
    met = result.get("goal_met")
    verdict = "met" if met else "NOT met" if met is not None else "n/a"
    head.append(f" ratio: {result['ratio']}  ({result.get('ratio_means', '')})")
    head.append(f" goal: {result.get('goal', 'none')}  -> {verdict}")
    return "\n".join(head)


def run_one(name: str, module_path: str) -> dict[str, Any]:
    module = importlib.import_module(module_path)
    print(f"-- running {name} ...", flush=True)
    started = time.perf_counter()
    result: dict[str, Any] = asyncio.run(module.run())
    result = {
        "name": name,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "machine": _machine(),
        **result,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(summary(name, result), flush=True)
    print(f" ({result['duration_s']} s; written to {RESULTS / f'{name}.json'})\n", flush=True)
    return result


def main(argv: list[str]) -> int:
    available = discover()
    wanted = argv or list(available)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {sorted(available)}", file=sys.stderr)
        return 2
    for name in wanted:
        run_one(name, available[name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
