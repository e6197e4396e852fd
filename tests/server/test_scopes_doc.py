"""docs/api.md's table of combined answers says what the code requires, route by route."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI

from server.auth.actor import SCOPES
from server.parts.reports.router import GROUP_SCOPES
from tests.fixtures.scopes import required_scopes

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`?]+)(\?group_by=(\w+))?` \| (.+) \|$")


def _table() -> dict[tuple[str, str, str | None], frozenset[str]]:
    text = API_MD.read_text(encoding="utf-8")
    section = text.split("### Scopes of combined answers", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        if found := _ROW.match(line):
            method, path, _, group, cells = found.groups()
            rows[(method, path, group)] = frozenset(re.findall(r"`([a-z]+:[a-z]+)`", cells))
    return rows


def test_the_table_of_combined_answers_matches_the_routes(app: FastAPI) -> None:
    table = _table()
    combined = {
        (method, path, None): scopes
        for (method, path), scopes in required_scopes(app).items()
        if len(scopes) > 1
    }
    grouped = {
        ("GET", "/api/v1/stock-reports/consumption", group): frozenset(scopes)
        for group, scopes in GROUP_SCOPES.items()
        if len(scopes) > 1
    }
    assert table == {**combined, **grouped}


def test_the_scope_list_names_every_scope_a_key_can_hold() -> None:
    line = next(
        x for x in API_MD.read_text(encoding="utf-8").splitlines() if x.startswith("| API key |")
    )
    assert set(re.findall(r"`([a-z]+:[a-z]+)`", line)) == set(SCOPES)
