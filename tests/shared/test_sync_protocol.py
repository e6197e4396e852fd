"""The sync protocol's shapes (shared/sync.py): what the phone sends is checked the same way
on both sides, and every refusal names the field to fix."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ids import uuid7
from shared.sync import (
    MAX_MUTATIONS_PER_PUSH,
    MUTATIONS,
    Change,
    Op,
    Outcome,
    ProtocolError,
    PullPage,
    Result,
    check_args,
    parse_mutation,
    parse_push,
)

WO = str(uuid7())
NOW = "2026-11-24T10:00:00+08:00"


def _note(seq: int, **args: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "id": str(uuid7()),
        "name": "note.add",
        "args": {"work_order_id": WO, "note_id": str(uuid7()), "text": "fan noisy", **args},
        "device_time": NOW,
    }


def _error(fn: Any, *args: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        fn(*args)
    return caught.value


def test_a_push_parses_into_ordered_mutations() -> None:
    client = str(uuid7())
    client_id, mutations = parse_push({"client_id": client, "mutations": [_note(7), _note(8)]})
    assert client_id == client
    assert [m.seq for m in mutations] == [7, 8]
    assert mutations[0].args["text"] == "fan noisy"
    assert mutations[0].to_json()["device_time"] == NOW


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"mutations": [_note(1)]}, "client_id"),
        ({"client_id": "nope", "mutations": [_note(1)]}, "client_id"),
        ({"client_id": str(uuid7()), "mutations": []}, "mutations"),
        ({"client_id": str(uuid7()), "mutations": [_note(1), _note(3)]}, "mutations[1].seq"),
        ({"client_id": str(uuid7()), "mutations": [_note(2), _note(1)]}, "mutations[1].seq"),
        ({"client_id": str(uuid7()), "mutations": [_note(0)]}, "mutations[0].seq"),
        ({"client_id": str(uuid7()), "mutations": [{**_note(1), "seq": True}]}, "mutations[0].seq"),
        ({"client_id": str(uuid7()), "mutations": [{**_note(1), "id": 5}]}, "mutations[0].id"),
        (
            {"client_id": str(uuid7()), "mutations": [{**_note(1), "name": "ticket.delete"}]},
            "mutations[0].name",
        ),
        (
            {"client_id": str(uuid7()), "mutations": [{**_note(1), "device_time": "10:00"}]},
            "mutations[0].device_time",
        ),
        (
            {
                "client_id": str(uuid7()),
                "mutations": [{**_note(1), "device_time": "2026-11-24T10:00:00"}],
            },
            "mutations[0].device_time",
        ),
        (
            {"client_id": str(uuid7()), "mutations": [_note(1, text=None)]},
            "mutations[0].args.text",
        ),
        (
            {"client_id": str(uuid7()), "mutations": [_note(1, org_id=str(uuid7()))]},
            "mutations[0].args.org_id",
        ),
    ],
)
def test_a_bad_push_names_the_field_to_fix(body: Any, field: str) -> None:
    assert _error(parse_push, body).field == field


def test_a_push_is_capped() -> None:
    body = {
        "client_id": str(uuid7()),
        "mutations": [_note(i) for i in range(1, MAX_MUTATIONS_PER_PUSH + 2)],
    }
    assert _error(parse_push, body).field == "mutations"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"gps": {"lat": 91, "lon": 0, "accuracy_m": 5}}, "args.gps.lat"),
        ({"gps": {"lat": 31.2, "lon": 121.5}}, "args.gps.accuracy_m"),
        ({"gps": "31.2,121.5"}, "args.gps"),
        ({"visit_id": "x"}, "args.visit_id"),
    ],
)
def test_check_in_arguments_are_checked(args: dict[str, Any], field: str) -> None:
    base = {"work_order_id": WO, "visit_id": str(uuid7())}
    assert _error(check_args, "visit.check_in", {**base, **args}).field == field


def test_quantities_travel_as_positive_decimal_strings() -> None:
    base = {"work_order_id": WO, "line_id": str(uuid7()), "part_id": str(uuid7())}
    assert check_args("part.use", {**base, "quantity": "1.5"})["quantity"] == "1.5"
    for bad in (2, "0", "-1", "NaN", "1e10", "two"):
        assert _error(check_args, "part.use", {**base, "quantity": bad}).field == "args.quantity"


def test_optional_arguments_may_be_left_out_or_null() -> None:
    args = {"work_order_id": WO, "visit_id": str(uuid7()), "gps": None}
    assert check_args("visit.check_in", args) == {
        "work_order_id": WO,
        "visit_id": args["visit_id"],
    }


def test_every_mutation_names_a_client_id_or_a_work_order() -> None:
    """The phone creates records with its own ids (idempotent creation), and every mutation
    says which record it acts on."""
    for name, spec in MUTATIONS.items():
        ids = [key for key in spec if key.endswith("_id")]
        assert ids, name


def test_results_and_pages_round_trip_through_json() -> None:
    result = Result(
        seq=3,
        outcome=Outcome.REJECTED,
        error={"code": "invalid_transition", "detail": "cancelled", "field": None},
    )
    assert Result.from_json(result.to_json()) == result
    page = PullPage(
        cursor="abc",
        has_more=True,
        reset=False,
        changes=[
            Change(Op.PUT, "work_order", WO, {"status": "assigned"}),
            Change(Op.REMOVE, "work_order", WO),
            Change(Op.ACK, "mutation", "3", result.to_json()),
        ],
    )
    assert PullPage.from_json(page.to_json()) == page


def test_an_unknown_op_in_a_page_is_refused() -> None:
    raw = {"cursor": "", "changes": [{"op": "merge", "entity": "x", "id": "1"}]}
    assert _error(PullPage.from_json, raw).field == "changes[].op"


def test_parse_mutation_accepts_one_mutation_alone() -> None:
    mutation = parse_mutation(_note(1))
    assert mutation.name == "note.add" and mutation.seq == 1
