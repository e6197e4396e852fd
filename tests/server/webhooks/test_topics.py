"""Every event the code emits is one an endpoint may subscribe to (and lists)."""

from __future__ import annotations

import ast
import pathlib

from server.webhooks.topics import EVENT_TYPES

SERVER = pathlib.Path(__file__).resolve().parents[3] / "server"


def _emitted() -> set[str]:
    """Topics named literally: ``emit(..., topic="x")`` and ``audit.record(..., kind="y")``
    (the work order's events, ``ticket.y``)."""
    found: set[str] = set()
    for path in SERVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            for word in node.keywords:
                if not isinstance(word.value, ast.Constant) or not isinstance(
                    word.value.value, str
                ):
                    continue
                if word.arg == "topic" and name == "emit":
                    found.add(word.value.value)
                if word.arg == "kind" and name == "record":
                    found.add(f"ticket.{word.value.value}")
    return found


def test_every_emitted_topic_is_a_known_event_type() -> None:
    emitted = _emitted()
    assert len(emitted) >= 10, "found too few topics: is the search broken?"
    assert not emitted - set(EVENT_TYPES), sorted(emitted - set(EVENT_TYPES))
