"""The change feed's row format has one home, server/feed.py: its columns, its scopes and
the SQL that resolves a scope through a work order, for the ORM capture and every
hand-written statement alike."""

from __future__ import annotations

import ast
import re

from server import feed
from server.config import ROOT
from server.sync import capture

SERVER = ROOT / "server"


def _strings(tree: ast.AST) -> list[str]:
    """The string constants of a module's code (f-strings' constant parts included),
    docstrings and comments left out."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_change_feed_row_format_has_one_home() -> None:
    """Only server/feed.py writes ``INSERT INTO sync_changes`` or spells a scope."""
    strays = []
    for path in sorted(SERVER.rglob("*.py")):
        file = path.relative_to(ROOT).as_posix()
        if file == "server/feed.py":
            continue
        for value in _strings(ast.parse(path.read_text())):
            shown = repr(value.strip()[:60])
            if re.search(r"INSERT\s+INTO\s+sync_changes", value, re.IGNORECASE):
                strays.append(f"{file}: a feed row written by hand ({shown})")
            if re.search(r"(^|')(engineer|client):", value) or value == "catalogue":
                strays.append(f"{file}: a scope spelt by hand ({shown})")
    assert strays == [], "use server/feed.py:\n" + "\n".join(strays)


def test_scopes_are_spelt_as_the_pull_reads_them() -> None:
    assert feed.engineer_scope("e1") == "engineer:e1"
    assert feed.client_scope("c1") == "client:c1"
    assert feed.CATALOGUE == "catalogue"
    assert feed.engineer_scope_sql("t.assignee_id") == "'engineer:' || t.assignee_id"


def test_every_route_of_the_capture_has_its_statement() -> None:
    assert set(capture._SQL) == set(feed.VIAS)
    for via in feed.VIAS:
        sql = feed.from_notes(via)
        assert sql.startswith("INSERT INTO sync_changes (org_id, scope, entity, entity_id, op)")
        assert ("t.assignee_id IS NOT NULL" in sql) is (via != "scope")
        assert (":recent_days" in sql) is (via in feed.REFERENCE_COLUMN)
