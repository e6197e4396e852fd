"""The server's reading of a push (shared/sync.py ``parse_push_lenient``) and its cursor."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from server.errors import BadRequest
from server.sync import cursor
from shared.ids import uuid7
from shared.sync import ProtocolError, parse_push_lenient

WO = str(uuid7())
NOW = "2026-11-24T10:00:00+08:00"


def _mutation(seq: int, name: str = "work_order.accept", **args: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "id": str(uuid7()),
        "name": name,
        "args": args or {"work_order_id": WO},
        "device_time": NOW,
    }


def test_a_wrong_name_or_argument_is_one_mutations_problem() -> None:
    body = {
        "client_id": str(uuid7()),
        "mutations": [
            _mutation(1),
            _mutation(2, "work_order.teleport"),
            _mutation(3, work_order_id="not a uuid"),
            {**_mutation(4), "args": ["not", "an", "object"]},
            {**_mutation(5), "device_time": "10:00"},
            {**_mutation(6), "device_time": "2026-11-24T10:00:00"},
            {**_mutation(7), "device_time": "9999-12-31T23:30:00-05:00"},
            {**_mutation(8), "name": "pump\ud800"},
            _mutation(9),
        ],
    }
    _, parsed = parse_push_lenient(body)
    errors = [None if e is None else e.field for _, e in parsed]
    assert errors == [
        None,
        "mutations[1].name",
        "mutations[2].args.work_order_id",
        "mutations[3].args",
        "mutations[4].device_time",
        "mutations[5].device_time",
        "mutations[6].device_time",
        "mutations[7].name",
        None,
    ]
    assert parsed[1][0].name == "work_order.teleport"
    assert parsed[2][0].args == {"work_order_id": "not a uuid"}  # kept as sent, for review
    # A device time that does not check is quoted in the problem (a broken clock must not
    # block the queue: the mutation is rejected, the ones after it go on).
    assert "9999-12-31T23:30:00-05:00" in parsed[6][1].message  # type: ignore[union-attr]
    # What cannot be stored as text comes back as its repr.
    assert parsed[7][0].name == repr("pump\ud800")
    assert [m.seq for m, _ in parsed] == list(range(1, 10))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seq": "1"}, "mutations[0].seq"),
        ({"seq": float("nan")}, "mutations[0].seq"),
        ({"id": "x"}, "mutations[0].id"),
        ({"id": "x", "device_time": "10:00"}, "mutations[0].id"),
    ],
)
def test_the_envelope_stays_strict(change: dict[str, Any], field: str) -> None:
    body = {"client_id": str(uuid7()), "mutations": [{**_mutation(1, "nope"), **change}]}
    with pytest.raises(ProtocolError) as caught:
        parse_push_lenient(body)
    assert caught.value.field == field


def test_seqs_must_follow_each_other() -> None:
    body = {"client_id": str(uuid7()), "mutations": [_mutation(1), _mutation(3, "nope")]}
    with pytest.raises(ProtocolError) as caught:
        parse_push_lenient(body)
    assert caught.value.field == "mutations[1].seq"


def test_a_cursor_round_trips_only_for_its_installation() -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    state = cursor.Feed(t=123, i=456, w=789, o=1_700_000_000.5)
    encoded = cursor.encode(state, secret="s" * 40, client_id=mine)
    assert cursor.decode(encoded, secret="s" * 40, client_id=mine) == state
    with pytest.raises(BadRequest):
        cursor.decode(encoded, secret="s" * 40, client_id=theirs)
    with pytest.raises(BadRequest):
        cursor.decode(encoded, secret="another secret", client_id=mine)
    snapshot = cursor.Snapshot(stage=3, key=str(uuid7()), x=99, o=1.0)
    again = cursor.encode(snapshot, secret="s" * 40, client_id=mine)
    assert cursor.decode(again, secret="s" * 40, client_id=mine) == snapshot
