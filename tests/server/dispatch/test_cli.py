"""`fixflow solve-vrptw` end to end: a Solomon file in, a checked plan and its JSON out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from server.cli import app as cli

DATA = Path(__file__).resolve().parents[2] / "fixtures" / "vrptw"


def test_solve_vrptw_prints_the_gap_and_writes_every_customer_once(tmp_path: Path) -> None:
    out = tmp_path / "routes.json"

    result = CliRunner().invoke(
        cli,
        ["solve-vrptw", str(DATA / "solomon" / "R101.txt"), "--seconds", "1", "--out", str(out)],
    )

    assert result.exit_code == 0, result.output
    assert "R101:" in result.output
    assert "best-known (DIMACS) 20 vehicles, 1637.7: gap" in result.output
    plan = json.loads(out.read_text())
    customers = [c for route in plan["routes"] for c in route["customers"]]
    assert sorted(customers) == list(range(1, 101))
    assert plan["vehicles"] == len(plan["routes"])
    assert plan["distance"] >= 1637.7


def test_solve_vrptw_on_an_instance_of_ones_own_prints_no_gap(tmp_path: Path) -> None:
    own = tmp_path / "mine" / "MINE1.txt"
    own.parent.mkdir()
    shutil.copy(DATA / "solomon" / "C101.txt", own)

    result = CliRunner().invoke(cli, ["solve-vrptw", str(own), "--seconds", "0.5"])

    assert result.exit_code == 0, result.output
    assert "MINE1:" in result.output
    assert "gap" not in result.output
