"""Applying pulled pages: atomic with the cursor, ops put/delete/remove/ack, reset keeping the
outbox and unsynced creations, and local effects that survive server rows pulled meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from mobile.store import Store, rows
from shared.sync import Change, Op, Outcome, Result
from tests.mobile.helpers import page, put, work_order


def _ack(seq: int, outcome: str = "applied", **extra: Any) -> Change:
    return Change(Op.ACK, "mutation", str(seq), {"outcome": outcome, "data": {}, **extra})


def test_a_page_and_its_cursor_are_stored_together_or_not_at_all(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [work_order() for _ in range(3)]
    store.apply_page(page(*(put("work_order", r) for r in first), cursor="page-1"))
    second = [work_order() for _ in range(3)]
    original, calls = rows.put, []

    def dies_on_the_second_row(*args: Any) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed midway")
        original(*args)

    monkeypatch.setattr(rows, "put", dies_on_the_second_row)
    doomed = page(
        put("work_order", second[0]),
        Change(Op.DELETE, "work_order", first[0]["id"]),
        put("work_order", second[1]),
        put("work_order", second[2]),
        cursor="page-2",
    )
    with pytest.raises(KeyboardInterrupt):
        store.apply_page(doomed)
    monkeypatch.undo()

    assert store.cursor == "page-1"
    assert {r["id"] for r in store.work_orders()} == {r["id"] for r in first}
    # Resuming from the stored cursor re-applies the page: nothing lost, nothing doubled.
    store.apply_page(doomed)
    assert store.cursor == "page-2"
    assert {r["id"] for r in store.work_orders()} == {r["id"] for r in first[1:] + second}


def test_delete_and_remove_take_the_row_off_the_phone(store: Store) -> None:
    a, b = work_order(), work_order()
    store.apply_page(page(put("work_order", a), put("work_order", b)))
    store.apply_page(
        page(Change(Op.REMOVE, "work_order", a["id"]), Change(Op.DELETE, "work_order", b["id"]))
    )
    assert store.work_orders() == []


def test_reset_replaces_the_snapshot_but_keeps_the_outbox_and_local_creations(
    store: Store, wo: dict[str, Any]
) -> None:
    other = work_order()
    store.apply_page(page(put("work_order", other), put("customer", {"id": "c1", "name": "A"})))
    note_id = store.add_note(wo["id"], "written offline")
    store.accept(other["id"])

    fresh = work_order()
    store.apply_page(
        page(put("work_order", wo), put("work_order", fresh), cursor="snap", reset=True)
    )

    assert {r["id"] for r in store.work_orders()} == {wo["id"], fresh["id"]}
    assert store.get("customer", "c1") is None
    assert store.get(rows.NOTE, note_id) is not None
    assert store.is_local(rows.NOTE, note_id)
    assert [(e.seq, e.name, e.state) for e in store.outbox()] == [
        (1, "note.add", "pending"),
        (2, "work_order.accept", "pending"),
    ]
    assert store.cursor == "snap"


def test_a_server_row_pulled_before_the_ack_does_not_undo_the_engineers_action(
    store: Store,
) -> None:
    row = work_order("assigned")
    store.apply_page(page(put("work_order", row)))
    store.accept(row["id"])

    # The dispatcher changed the priority; the accept is still in the outbox.
    store.apply_page(page(put("work_order", {**row, "priority": "high"}), cursor="c2"))
    seen = store.get("work_order", row["id"])
    assert (seen["status"], seen["priority"]) == ("accepted", "high")

    # The server applied it: its effects come through the feed, then the acknowledgement.
    store.record_results([Result(1, Outcome.APPLIED)], last_seq=1)
    store.apply_page(
        page(put("work_order", {**row, "priority": "high", "status": "accepted"}), _ack(1))
    )
    assert store.get("work_order", row["id"])["status"] == "accepted"
    assert not store.is_local("work_order", row["id"])
    [entry] = store.outbox()
    assert (entry.state, entry.acked) == ("applied", True)
    assert store.last_seq == 1


def test_a_rejected_mutation_restores_the_servers_row_and_keeps_the_reason(
    store: Store,
) -> None:
    row = work_order("assigned")
    store.apply_page(page(put("work_order", row)))
    store.accept(row["id"])
    note = store.add_note(row["id"], "on my way")
    store.apply_page(page(put("work_order", {**row, "status": "cancelled"}), cursor="c2"))
    assert store.get("work_order", row["id"])["status"] == "accepted"

    problem = {"code": "transition_not_allowed", "detail": "cancelled", "field": "status"}
    store.record_results(
        [Result(1, Outcome.REJECTED, error=problem), Result(2, Outcome.APPLIED)], last_seq=2
    )

    assert store.get("work_order", row["id"])["status"] == "cancelled"
    assert store.get(rows.NOTE, note) is not None  # applied: kept until its ack
    rejected = store.outbox(states=["rejected"])
    assert [(e.seq, e.result and e.result["error"]) for e in rejected] == [(1, problem)]


def test_an_ack_in_the_feed_records_the_outcome_when_the_push_answer_was_lost(
    store: Store, wo: dict[str, Any]
) -> None:
    note = store.add_note(wo["id"], "first")
    store.add_note(wo["id"], "second")
    store.mark_sent([1, 2])
    problem = {"code": "forbidden", "detail": "no", "field": None}
    store.apply_page(page(put("note", {"id": note, "work_order_id": wo["id"], "text": "first"})))
    store.apply_page(page(_ack(1), _ack(2, "rejected", error=problem), cursor="c3"))

    states = [(e.seq, e.state, e.acked) for e in store.outbox()]
    assert states == [(1, "applied", True), (2, "rejected", True)]
    assert [n["text"] for n in store.children(rows.NOTE, wo["id"])] == ["first"]
    assert store.unsent(10) == []


def test_work_orders_by_status_and_window(store: Store) -> None:
    early = work_order("accepted", window_start="2026-11-24T08:00:00+00:00")
    late = work_order("assigned", window_start="2026-11-24T15:00:00+00:00")
    tomorrow = work_order("assigned", window_start="2026-11-25T09:00:00+00:00")
    done = work_order("closed", window_start="2026-11-24T07:00:00+00:00")
    store.apply_page(page(*(put("work_order", r) for r in (tomorrow, done, late, early))))

    today = store.work_orders(
        statuses=["assigned", "accepted"],
        window_from="2026-11-24T00:00:00+00:00",
        window_to="2026-11-25T00:00:00+00:00",
    )
    assert [r["id"] for r in today] == [early["id"], late["id"]]
    store.accept(late["id"])
    accepted = store.work_orders(statuses=["accepted"])
    assert [r["id"] for r in accepted] == [early["id"], late["id"]]
