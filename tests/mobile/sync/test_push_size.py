"""A push stays under the server's body limit however large its mutations are."""

from __future__ import annotations

import json
from typing import Any

from mobile.sync.engine import MAX_PUSH_BYTES, _fitting


def _mutation(seq: int, size: int) -> dict[str, Any]:
    return {"seq": seq, "name": "note.add", "args": {"text": "x" * size}}


def test_big_mutations_are_split_across_pushes() -> None:
    mutations = [_mutation(i, 200 * 1024) for i in range(1, 11)]  # 2 MiB in all
    first = _fitting(mutations)
    assert 1 <= len(first) < len(mutations)
    assert len(json.dumps({"mutations": first}).encode()) < MAX_PUSH_BYTES + 1024
    assert [m["seq"] for m in first] == list(range(1, len(first) + 1))


def test_small_mutations_go_together_and_one_always_goes() -> None:
    small = [_mutation(i, 100) for i in range(1, 101)]
    assert _fitting(small) == small
    assert _fitting([_mutation(1, 2 * MAX_PUSH_BYTES)]) == [_mutation(1, 2 * MAX_PUSH_BYTES)]
