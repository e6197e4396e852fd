"""`python -m benchmarks [NAME ...]`: run every benchmark, or the ones named.

A benchmark is a module ``benchmarks/bench_<name>.py`` with ``DESCRIPTION``, ``GOAL``
(a ``common.Goal``) and either ``async def run() -> dict`` (one whole run, set-up
included) or ``setup()``, an async context manager whose value is passed to
``async def run(context) -> dict`` (for set-up too heavy to repeat, e.g. loading a million
rows). A run's result holds at least ``ratio`` (its headline ratio) and ``judged`` (the
number its goal is about); ``checks_met`` (optional) says whether conditions that do not
drift with the machine's load held.

Every benchmark runs BENCH_RUNS times (default 3) in one invocation, here and nowhere
else: one run on a shared machine swings by a third. The printout has each run's ratio,
the median and the spread (min-max), and the goal is judged on the median (and on
``checks_met`` of every run). Everything, each run in full, is written to
``benchmarks/results/<name>.json`` together with when and where it was measured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.common import RUNS, Goal

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
    """One run in full."""
    head = [f"== {name}: {result.get('description', '')}"]
    for section in ("figures", "baseline", "ratios", "plans_brief", "cpu", "setup"):
        if section in result:
            head.append(f" {section}:")
            head += _lines(result[section])
    if "notes" in result:
        head.append(" notes:")
        head += [f"  - {note}" for note in result["notes"]]
    head.append(f" ratio: {result['ratio']}  ({result.get('ratio_means', '')})")
    return "\n".join(head)


def run_line(index: int, result: dict[str, Any]) -> str:
    """One run in a line: its ratio, the number its goal judges, and its brief figures
    (rates, the other jobs' CPU) when the benchmark gives them."""
    brief = ", ".join(f"{k} {v}" for k, v in result.get("brief", {}).items())
    checks = "" if result.get("checks_met", True) else ", checks NOT met"
    return f"  run {index}: ratio {result['ratio']}, judged {result['judged']}{checks}" + (
        f"; {brief}" if brief else ""
    )


def combine(goal: Goal, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' median and spread, and the goal judged on the median; the fields a run
    names in ``summary_keys`` (e.g. solomon's gaps and per-instance rows) also at the top,
    from the run nearest the median."""
    ratios = [r["ratio"] for r in runs]
    judged = statistics.median(r["judged"] for r in runs)
    checks = all(r.get("checks_met", True) for r in runs)
    ratio = statistics.median(ratios)
    typical = min(runs, key=lambda r: abs(r["ratio"] - ratio))
    return {
        "description": typical.get("description", ""),
        "ratio": round(ratio, 3),
        "ratio_means": typical.get("ratio_means", ""),
        "ratio_runs": ratios,
        "ratio_spread": [min(ratios), max(ratios)],
        "judged_runs": [r["judged"] for r in runs],
        "judged_median": round(judged, 3),
        "goal": f"{goal.text}, on the median of {len(runs)} runs",
        "goal_met": goal.met(judged) and checks,
        "checks_met_every_run": checks,
        **{key: typical[key] for key in typical.get("summary_keys", ())},
        "runs": runs,
    }


async def _runs(module: ModuleType, count: int) -> list[dict[str, Any]]:
    """``count`` runs of one benchmark, its set-up (if it has one) made once."""
    results: list[dict[str, Any]] = []

    async def one(*context: Any) -> None:
        result: dict[str, Any] = await module.run(*context)
        results.append(result)
        print(run_line(len(results), result), flush=True)

    setup = getattr(module, "setup", None)
    if setup is None:
        for _ in range(count):
            await one()
    else:
        async with setup() as context:
            for _ in range(count):
                await one(context)
    return results


def run_one(name: str, module_path: str, runs: int = RUNS) -> dict[str, Any]:
    module = importlib.import_module(module_path)
    print(f"-- running {name}, {runs} run(s) ...", flush=True)
    started = time.perf_counter()
    results = asyncio.run(_runs(module, runs))
    result = {
        "name": name,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "machine": _machine(),
        **combine(module.GOAL, results),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    typical = min(results, key=lambda r: abs(r["ratio"] - result["ratio"]))
    print(summary(name, typical), flush=True)
    verdict = "met" if result["goal_met"] else "NOT met"
    spread = result["ratio_spread"]
    print(
        f" ratio over {runs} runs: median {result['ratio']}, spread {spread[0]}-{spread[1]} "
        f"(runs: {', '.join(str(r) for r in result['ratio_runs'])}); the run above is the "
        "one nearest the median",
        flush=True,
    )
    print(f" goal: {result['goal']}: median {result['judged_median']} -> {verdict}", flush=True)
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
