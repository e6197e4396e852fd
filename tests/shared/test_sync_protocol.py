"""The sync protocol's shapes (shared/sync.py): what the phone sends is checked the same way
on both sides, and every refusal names the field to fix."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ids import uuid7
from shared.sync import (
    MAX_ANSWER_BYTES,
    MAX_MUTATIONS_PER_PUSH,
    MAX_STROKES_BYTES,
    MUTATIONS,
    Change,
    Op,
    Outcome,
    ProtocolError,
    PullPage,
    Result,
    check_args,
    device_instant,
    parse_mutation,
    parse_push,
    parse_push_lenient,
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


def test_quantities_are_ascii_as_sent() -> None:
    """Decimal() reads other scripts' digits, underscores and padding: "١٢" was 12."""
    base = {"work_order_id": WO, "line_id": str(uuid7()), "part_id": str(uuid7())}
    for bad in ("١٢", "１", "1_000", " 2", "2 ", "2\n"):
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


# --- what PostgreSQL could not store must be refused here, naming the field ----------------


def _answer(value: Any) -> dict[str, Any]:
    return {
        "work_order_id": WO,
        "visit_id": str(uuid7()),
        "item_id": str(uuid7()),
        "answer_id": str(uuid7()),
        "value": value,
    }


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (float("nan"), "args.value"),
        (float("inf"), "args.value"),
        ([1.0, float("-inf")], "args.value"),
        ({"reading": float("nan")}, "args.value"),
        ("pump \ud800", "args.value"),
        ({"k\ud800": 1}, "args.value"),
        ("a\x00b", "args.value"),
        ({1: "non-string key"}, "args.value"),
        ({1, 2}, "args.value"),
    ],
)
def test_free_json_is_finite_unicode_json(value: Any, where: str) -> None:
    assert _error(check_args, "checklist.answer", _answer(value)).field == where


def test_free_json_is_bounded_in_depth_and_size() -> None:
    deep: Any = 1
    for _ in range(20):
        deep = [deep]
    assert _error(check_args, "checklist.answer", _answer(deep)).field == "args.value"
    assert check_args("checklist.answer", _answer(deep[0]))["value"] == deep[0]
    big = "x" * MAX_ANSWER_BYTES
    assert "bytes" in _error(check_args, "checklist.answer", _answer(big)).message
    assert check_args("checklist.answer", _answer(big[:-10]))["value"] == big[:-10]
    # Signature strokes have room for some 10,000 points, not more.
    strokes = [[[100.25, 200.5, 1234]] * 1000] * 10
    args = {
        "work_order_id": WO,
        "signature_id": str(uuid7()),
        "attachment_id": str(uuid7()),
        "sha256": "0" * 64,
        "size": 100,
        "signer_name": "A. Customer",
        "signed_status": "on_site",
        "strokes": strokes,
    }
    assert check_args("signature.capture", args)["strokes"] == strokes
    huge = {**args, "strokes": strokes * 2}
    assert _error(check_args, "signature.capture", huge).field == "args.strokes"
    assert MAX_STROKES_BYTES < 1_048_576  # under the API's body cap


@pytest.mark.parametrize("text", ["pump \ud800", "\udfff", "nul \x00 byte"])
def test_text_arguments_are_unicode_without_nul(text: str) -> None:
    assert _error(
        check_args, "note.add", {"work_order_id": WO, "note_id": WO, "text": text}
    ).field == ("args.text")


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:30:00-05:00",  # past year 9999 in UTC
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC
        "0001-01-01T00:00:00Z",  # what the database driver stores as -infinity
        "9999-12-31T23:59:59.999999Z",  # ... and as infinity
        "2199-12-31T23:00:00-14:00",  # 2200 in UTC: past the bounds
        "1970-01-01T00:00:00+14:00",  # 1969 in UTC
        "1900-01-01T00:00:00Z",
        "2500-01-01T00:00:00Z",
        "2026-11-24T10:00:00",  # no offset
        "yesterday",
        float("nan"),
    ],
)
def test_a_device_time_is_an_instant_within_the_calendar(value: Any) -> None:
    assert _error(parse_mutation, {**_note(1), "device_time": value}).field == (
        "mutation.device_time"
    )
    if isinstance(value, str):
        assert device_instant(value) is None


def test_a_device_time_at_the_bounds_edges_is_kept() -> None:
    """1970-01-01T00:00:00Z (a phone whose clock was reset) up to the last instant of 2199."""
    for value in ("2199-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z", "1970-01-01T08:00+08:00"):
        assert parse_mutation({**_note(1), "device_time": value}).device_time == value
        assert device_instant(value) is not None


def test_the_server_rejects_one_mutation_for_its_device_time_not_the_push() -> None:
    """A phone's broken clock must not block its queue: the envelope is the client id, the
    seqs and the ids; the device time is the mutation's own problem."""
    body = {
        "client_id": str(uuid7()),
        "mutations": [{**_note(1), "device_time": "9999-12-31T23:30:00-05:00"}, _note(2)],
    }
    _, parsed = parse_push_lenient(body)
    assert [None if e is None else e.field for _, e in parsed] == [
        "mutations[0].device_time",
        None,
    ]
    # The strict parser (the phone's own check) still refuses it outright.
    assert _error(parse_push, body).field == "mutations[0].device_time"


def test_an_unknown_arguments_name_is_echoed_safely() -> None:
    error = _error(check_args, "note.add", {"work_order_id": WO, "x\ud800": 1})
    assert error.field == "args." + repr("x\ud800")
    error.field.encode("utf-8")  # printable, storable


def test_numbers_must_be_finite() -> None:
    args = {"work_order_id": WO, "visit_id": str(uuid7())}
    for bad in (float("nan"), float("inf")):
        gps = {"lat": bad, "lon": 0, "accuracy_m": 5}
        error = _error(check_args, "visit.check_in", {**args, "gps": gps})
        assert error.field == "args.gps.lat"


def _reject(**args: Any) -> dict[str, Any]:
    return {"work_order_id": WO, "reason": "customer not home", **args}


def _adjust(**args: Any) -> dict[str, Any]:
    return {
        "work_order_id": WO,
        "entry_id": str(uuid7()),
        "adjustment_id": str(uuid7()),
        "started_at": "2026-11-24T09:00:00+08:00",
        "ended_at": "2026-11-24T10:00:00+08:00",
        "reason": "stopped the clock late",
        **args,
    }


def test_a_reject_and_an_adjustment_check_like_the_rest() -> None:
    assert check_args("work_order.reject", _reject()) == _reject()
    bare = _adjust()
    assert check_args("labour.adjust", {**bare, "kind": None, "note": None}) == bare
    full = _adjust(kind="travel", note="second trip")
    assert check_args("labour.adjust", full) == full


@pytest.mark.parametrize(
    ("name", "args", "field"),
    [
        ("work_order.reject", {"work_order_id": WO}, "args.reason"),
        ("work_order.reject", _reject(reason="x" * 2001), "args.reason"),
        ("work_order.reject", _reject(reason="nul \x00"), "args.reason"),
        ("work_order.reject", _reject(work_order_id="WO-1"), "args.work_order_id"),
        ("work_order.reject", _reject(reason_code="BUSY"), "args.reason_code"),
        ("work_order.reject", _reject(assignee_id=WO), "args.assignee_id"),
        ("labour.adjust", _adjust(entry_id="e1"), "args.entry_id"),
        ("labour.adjust", _adjust(adjustment_id=None), "args.adjustment_id"),
        ("labour.adjust", _adjust(work_order_id=None), "args.work_order_id"),
        ("labour.adjust", _adjust(started_at="09:00"), "args.started_at"),
        ("labour.adjust", _adjust(ended_at="2026-11-24T10:00:00"), "args.ended_at"),
        ("labour.adjust", _adjust(kind="nap"), "args.kind"),
        ("labour.adjust", _adjust(note="n" * 2001), "args.note"),
        ("labour.adjust", _adjust(reason=None), "args.reason"),
        ("labour.adjust", _adjust(engineer_id=WO), "args.engineer_id"),
        ("labour.adjust", _adjust(visit_id=WO), "args.visit_id"),
    ],
)
def test_a_reject_and_an_adjustment_name_the_argument_to_fix(
    name: str, args: dict[str, Any], field: str
) -> None:
    assert _error(check_args, name, args).field == field


# Required free text the services strip and refuse when blank (server/field/access.text).
SAID = [
    ("work_order.reject", _reject(), "reason"),
    ("work_order.hold", {"work_order_id": WO, "waiting_for": "parts", "reason": "x"}, "reason"),
    (
        "work_order.resolve",
        {"work_order_id": WO, "resolution_code": "FIXED", "summary": "done"},
        "resolution_code",
    ),
    (
        "work_order.resolve",
        {"work_order_id": WO, "resolution_code": "FIXED", "summary": "done"},
        "summary",
    ),
    ("labour.void", {"entry_id": WO, "void_id": WO, "reason": "twice"}, "reason"),
    ("labour.adjust", _adjust(), "reason"),
    ("note.add", {"work_order_id": WO, "note_id": WO, "text": "hi"}, "text"),
]


@pytest.mark.parametrize(("name", "args", "key"), SAID)
@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_required_text_must_say_something(
    name: str, args: dict[str, Any], key: str, blank: str
) -> None:
    """The phone refuses before queueing what the server would always reject."""
    assert check_args(name, args)[key] == args[key]
    error = _error(check_args, name, {**args, key: blank})
    assert (error.field, error.message) == (f"args.{key}", "must not be blank")


def test_findings_are_optional_fields_of_the_engineers_own() -> None:
    args = {"work_order_id": WO, "fault_code": "E31", "resolution_notes": "n" * 20_000}
    assert check_args("work_order.update_findings", args) == args
    for key, bad in (
        ("fault_code", " "),
        ("resolution_code", ""),
        ("fault_code", "E" * 41),
        ("root_cause", "r" * 2001),
        ("resolution_summary", "s" * 5001),
        ("resolution_notes", "n" * 20_001),
        ("priority", "P1"),
    ):
        error = _error(check_args, "work_order.update_findings", {**args, key: bad})
        assert error.field == f"args.{key}"
