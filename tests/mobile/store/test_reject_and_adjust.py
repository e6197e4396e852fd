"""Declining a job and correcting labour on the phone: each action writes its local effect
and its outbox mutation in one transaction, refuses locally what the server would always
refuse, shows its result at once, and gives way to the server's rows when they arrive."""

from __future__ import annotations

from typing import Any

import pytest

from mobile.store import ActionRefused, Store, rows
from shared.ids import uuid7
from shared.sync import Change, Op, Outcome, Result, check_args, parse_mutation
from tests.mobile.helpers import page, put, work_order

ME, COLLEAGUE = str(uuid7()), str(uuid7())
NINE, TEN, ELEVEN = (f"2026-11-24T{h}:00:00+08:00" for h in ("09", "10", "11"))
REASON = "van broke down"


def _ack(seq: int, outcome: str = "applied", **extra: Any) -> Change:
    return Change(Op.ACK, "mutation", str(seq), {"outcome": outcome, "data": {}, **extra})


def _entry(wo: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid7()),
        "work_order_id": wo["id"],
        "engineer_id": ME,
        "visit_id": None,
        "kind": "work",
        "started_at": NINE,
        "ended_at": ELEVEN,
        "note": "compressor",
        "replaces_id": None,
        "voided_by": None,
        "replaced_by": None,
        "approved_at": None,
        **fields,
    }


@pytest.fixture
def assigned(store: Store) -> dict[str, Any]:
    row = work_order("assigned", assignee_id=ME)
    note = {"id": str(uuid7()), "work_order_id": row["id"], "text": "gate code 1234"}
    store.apply_page(page(put("work_order", row), put(rows.NOTE, note)))
    return row


@pytest.fixture
def mine(store: Store) -> dict[str, Any]:
    row = work_order("on_site", assignee_id=ME)
    store.apply_page(page(put("work_order", row)))
    return row


# --- work_order.reject ------------------------------------------------------------------


def test_a_reject_shows_the_job_declined_at_once_and_queues_the_mutation(
    store: Store, assigned: dict[str, Any]
) -> None:
    store.reject(assigned["id"], reason=REASON)

    row = store.get("work_order", assigned["id"])
    assert (row["status"], row["assignee_id"]) == ("new", None)
    assert store.work_orders(statuses=["assigned", "accepted"]) == []
    [entry] = store.outbox()
    assert (entry.name, entry.args) == (
        "work_order.reject",
        {"work_order_id": assigned["id"], "reason": REASON},
    )
    assert check_args(entry.name, entry.args) == entry.args
    parse_mutation(entry.mutation().to_json())
    # Nothing more can be recorded on a job the engineer gave back.
    with pytest.raises(ActionRefused) as refused:
        store.add_note(assigned["id"], "one more thing")
    assert refused.value.field == "work_order_id"
    with pytest.raises(ActionRefused):
        store.accept(assigned["id"])
    assert len(store.outbox()) == 1


def test_a_reject_follows_the_state_machine_and_needs_a_reason(
    store: Store, mine: dict[str, Any], assigned: dict[str, Any]
) -> None:
    with pytest.raises(ActionRefused) as started:
        store.reject(mine["id"], reason=REASON)  # on site: too late to decline
    assert started.value.field == "status"
    for blank in ("", "   "):
        with pytest.raises(ActionRefused) as empty:
            store.reject(assigned["id"], reason=blank)
        assert empty.value.field == "args.reason"
    assert store.outbox() == []
    assert store.get("work_order", assigned["id"])["status"] == "assigned"
    assert store.get("work_order", mine["id"])["status"] == "on_site"


def test_the_pull_after_an_applied_reject_takes_the_job_off_the_phone(
    store: Store, assigned: dict[str, Any]
) -> None:
    [note] = store.children(rows.NOTE, assigned["id"])
    store.reject(assigned["id"], reason=REASON)
    store.record_results([Result(1, Outcome.APPLIED)], last_seq=1)
    # Still shown declined until the feed brings the change with the acknowledgement.
    assert store.get("work_order", assigned["id"])["status"] == "new"

    store.apply_page(
        page(
            Change(Op.REMOVE, "work_order", assigned["id"]),
            Change(Op.REMOVE, rows.NOTE, note["id"]),
            _ack(1),
        )
    )
    assert store.get("work_order", assigned["id"]) is None
    assert store.children(rows.NOTE, assigned["id"]) == []
    [entry] = store.outbox()
    assert (entry.state, entry.acked) == ("applied", True)


def test_a_reject_the_server_refused_shows_the_job_as_the_server_has_it(
    store: Store, assigned: dict[str, Any]
) -> None:
    """The office cancelled the job before the reject arrived: the reject is rejected,
    the phone shows the job cancelled (as pulled meanwhile) and keeps the reason."""
    store.reject(assigned["id"], reason=REASON)
    store.apply_page(page(put("work_order", {**assigned, "status": "cancelled"}), cursor="c2"))
    assert store.get("work_order", assigned["id"])["status"] == "new"

    problem = {"status": 409, "code": "invalid_transition", "current_status": "cancelled"}
    store.record_results([Result(1, Outcome.REJECTED, error=problem)], last_seq=1)

    row = store.get("work_order", assigned["id"])
    assert (row["status"], row["assignee_id"]) == ("cancelled", ME)
    [entry] = store.outbox(states=["rejected"])
    assert entry.result and entry.result["error"] == problem


# --- labour.adjust ----------------------------------------------------------------------


def test_an_adjustment_replaces_the_entry_at_once(store: Store, mine: dict[str, Any]) -> None:
    original = _entry(mine, visit_id=str(uuid7()), kind="travel")
    store.apply_page(page(put(rows.LABOUR, original)))

    new_id = store.adjust_labour(original["id"], started_at=NINE, ended_at=TEN, reason="late")

    [entry] = store.outbox()
    assert entry.name == "labour.adjust"
    assert entry.args == {
        "work_order_id": mine["id"],
        "entry_id": original["id"],
        "adjustment_id": new_id,
        "started_at": NINE,
        "ended_at": TEN,
        "reason": "late",
    }
    parse_mutation(entry.mutation().to_json())
    assert store.get(rows.LABOUR, original["id"])["replaced_by"] == new_id
    new = store.get(rows.LABOUR, new_id)
    assert new is not None
    # As the server makes it: the original's work order, engineer, visit and kind.
    assert (new["replaces_id"], new["engineer_id"], new["visit_id"], new["kind"]) == (
        original["id"],
        ME,
        original["visit_id"],
        "travel",
    )
    assert (new["started_at"], new["ended_at"], new["note"]) == (NINE, TEN, None)
    assert store.is_local(rows.LABOUR, new_id) and store.is_local(rows.LABOUR, original["id"])


def test_an_entry_recorded_offline_can_be_adjusted_before_it_synced(
    store: Store, mine: dict[str, Any]
) -> None:
    entry_id = store.add_labour(mine["id"], kind="work", started_at=NINE, ended_at=ELEVEN)
    new_id = store.adjust_labour(
        entry_id, started_at=NINE, ended_at=TEN, reason="typo", kind="break", note="lunch"
    )
    assert [e.name for e in store.outbox()] == ["labour.add", "labour.adjust"]
    assert store.outbox()[1].args["kind"] == "break"
    assert store.get(rows.LABOUR, entry_id)["replaced_by"] == new_id
    assert (store.get(rows.LABOUR, new_id)["kind"], store.get(rows.LABOUR, new_id)["note"]) == (
        "break",
        "lunch",
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"voided_by": str(uuid7())}, "voided"),
        ({"replaced_by": str(uuid7())}, "replaced"),
        ({"approved_at": "2026-11-24T18:00:00+08:00"}, "approved"),
        ({"engineer_id": COLLEAGUE}, "colleague"),
    ],
)
def test_an_entry_the_server_would_not_let_the_engineer_correct_is_refused(
    store: Store, mine: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    entry = _entry(mine, **fields)
    store.apply_page(page(put(rows.LABOUR, entry)))
    with pytest.raises(ActionRefused) as adjusting:
        store.adjust_labour(entry["id"], started_at=NINE, ended_at=TEN, reason="late")
    with pytest.raises(ActionRefused) as voiding:
        store.void_labour(entry["id"], reason="twice")
    for refused in (adjusting.value, voiding.value):
        assert refused.field == "entry_id" and message in refused.message
    assert store.outbox() == []
    assert store.get(rows.LABOUR, entry["id"]) == entry


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (TEN, NINE, "ended_at"),
        (TEN, TEN, "ended_at"),
        (NINE, "2026-11-25T09:00:01+08:00", "ended_at"),
        (NINE, "2026-11-24T10:00:00", "args.ended_at"),
    ],
)
def test_an_adjustment_needs_a_span_the_server_takes(
    store: Store, mine: dict[str, Any], start: str, end: str, field: str
) -> None:
    entry = _entry(mine)
    store.apply_page(page(put(rows.LABOUR, entry)))
    with pytest.raises(ActionRefused) as refused:
        store.adjust_labour(entry["id"], started_at=start, ended_at=end, reason="late")
    assert refused.value.field == field
    with pytest.raises(ActionRefused) as blank:
        store.adjust_labour(entry["id"], started_at=NINE, ended_at=TEN, reason=" ")
    assert blank.value.field == "args.reason"
    assert store.outbox() == []
    assert store.get(rows.LABOUR, entry["id"])["replaced_by"] is None


def test_the_servers_rows_take_over_when_the_adjustment_is_acknowledged(
    store: Store, mine: dict[str, Any]
) -> None:
    original = _entry(mine)
    store.apply_page(page(put(rows.LABOUR, original)))
    new_id = store.adjust_labour(original["id"], started_at=NINE, ended_at=TEN, reason="late")
    store.record_results([Result(1, Outcome.APPLIED)], last_seq=1)

    server_new = _entry(
        mine, id=new_id, ended_at=TEN, note=None, replaces_id=original["id"], reason="late"
    )
    store.apply_page(
        page(
            put(rows.LABOUR, server_new),
            put(rows.LABOUR, {**original, "replaced_by": new_id}),
            _ack(1),
        )
    )
    assert store.get(rows.LABOUR, new_id) == server_new
    assert store.get(rows.LABOUR, original["id"])["replaced_by"] == new_id
    assert not store.is_local(rows.LABOUR, new_id)
    assert not store.is_local(rows.LABOUR, original["id"])


def test_a_rejected_adjustment_leaves_the_entry_as_it_was(
    store: Store, mine: dict[str, Any]
) -> None:
    """The office approved the entry before the adjustment arrived: rejected
    (labour_approved); the new entry disappears and the original counts again."""
    original = _entry(mine)
    store.apply_page(page(put(rows.LABOUR, original)))
    new_id = store.adjust_labour(original["id"], started_at=NINE, ended_at=TEN, reason="late")
    problem = {"status": 409, "code": "labour_approved"}
    store.record_results([Result(1, Outcome.REJECTED, error=problem)], last_seq=1)
    assert store.get(rows.LABOUR, new_id) is None
    assert store.get(rows.LABOUR, original["id"]) == original
