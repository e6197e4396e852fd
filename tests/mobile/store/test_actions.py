"""User actions: each writes its local effect and its outbox mutation in one transaction,
with the protocol's exact names and arguments, refused locally by the same state machine."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mobile.store import ActionRefused, Store, rows
from shared.sync import check_args, parse_mutation
from tests.mobile.helpers import page, put, work_order

GPS = {"lat": 1.3521, "lon": 103.8198, "accuracy_m": 8.0}
ROOT = Path(__file__).resolve().parents[3]


def test_check_in_writes_the_visit_the_status_and_the_mutation(
    store: Store, wo: dict[str, Any]
) -> None:
    visit_id = store.check_in(wo["id"], GPS)

    assert store.get("work_order", wo["id"])["status"] == "on_site"
    visit = store.get("visit", visit_id)
    assert visit is not None and visit["work_order_id"] == wo["id"]
    assert visit["check_in_gps"] == GPS
    [entry] = store.outbox()
    assert (entry.seq, entry.name, entry.state) == (1, "visit.check_in", "pending")
    assert entry.args == {"work_order_id": wo["id"], "visit_id": visit_id, "gps": GPS}
    assert entry.device_time == "2026-11-24T09:30:00+08:00"
    # What the sync engine will send is a valid protocol mutation.
    parse_mutation(entry.mutation().to_json())


def test_every_action_sends_its_protocol_name_with_valid_args(
    store: Store, wo: dict[str, Any], tmp_path: Path
) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"x" * 100)
    store.start_travel(wo["id"])
    visit = store.check_in(wo["id"], GPS)
    entry = store.add_labour(
        wo["id"],
        kind="work",
        started_at="2026-11-24T09:00:00+08:00",
        ended_at="2026-11-24T10:00:00+08:00",
        visit_id=visit,
    )
    store.void_labour(entry, reason="wrong visit")
    store.use_part(wo["id"], part_id=wo["id"], quantity="2", serial_numbers=["S1", "S2"])
    store.return_part(wo["id"], part_id=wo["id"], quantity="1", condition="defective")
    store.add_note(wo["id"], "fan bearing worn", visit_id=visit)
    store.answer_checklist(wo["id"], visit_id=visit, item_id=wo["id"], value=True)
    store.register_photo(wo["id"], photo, visit_id=visit, gps=GPS)
    store.capture_signature(
        wo["id"], png=b"\x89PNG\r\n\x1a\nsig", strokes=[[[0, 0], [5, 5]]], signer_name="Mei"
    )
    store.hold(wo["id"], waiting_for="parts", reason="compressor on order")
    store.resume(wo["id"])
    store.resolve(wo["id"], resolution_code="REPLACED", summary="replaced the fan")
    store.check_out(visit, GPS)

    entries = store.outbox()
    assert [e.name for e in entries] == [
        "work_order.start_travel",
        "visit.check_in",
        "labour.add",
        "labour.void",
        "part.use",
        "part.return",
        "note.add",
        "checklist.answer",
        "attachment.register",
        "signature.capture",
        "work_order.hold",
        "work_order.resume",
        "work_order.resolve",
        "visit.check_out",
    ]
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    for e in entries:
        assert check_args(e.name, e.args) == e.args
    assert store.get("work_order", wo["id"])["status"] == "resolved"
    signature = entries[9].args
    assert signature["signed_status"] == "on_site"
    assert signature["sha256"] == hashlib.sha256(b"\x89PNG\r\n\x1a\nsig").hexdigest()


def test_a_refused_transition_writes_nothing_and_uses_no_seq(
    store: Store, wo: dict[str, Any]
) -> None:
    with pytest.raises(ActionRefused) as refused:
        store.resolve(wo["id"], resolution_code="X", summary="done")  # accepted, not on site
    assert refused.value.field == "status"
    assert "allowed" in refused.value.message
    assert store.outbox() == []
    store.start_travel(wo["id"])
    assert [e.seq for e in store.outbox()] == [1]


def test_bad_arguments_are_refused_naming_the_field(store: Store, wo: dict[str, Any]) -> None:
    with pytest.raises(ActionRefused) as refused:
        store.add_labour(
            wo["id"],
            kind="nap",
            started_at="2026-11-24T09:00:00+08:00",
            ended_at="2026-11-24T10:00:00+08:00",
        )
    assert refused.value.field == "args.kind"
    with pytest.raises(ActionRefused) as backwards:
        store.add_labour(
            wo["id"],
            kind="work",
            started_at="2026-11-24T10:00:00+08:00",
            ended_at="2026-11-24T09:00:00+08:00",
        )
    assert backwards.value.field == "ended_at"
    assert store.outbox() == []
    assert store.children(rows.LABOUR, wo["id"]) == []


def test_an_unknown_work_order_is_refused(store: Store) -> None:
    with pytest.raises(ActionRefused) as refused:
        store.add_note(str(work_order()["id"]), "hello")
    assert refused.value.field == "work_order_id"


def test_local_effect_and_outbox_row_are_one_transaction(
    store: Store, wo: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The phone loses power after the outbox row is written but before the effect is: on
    restart neither exists (a half-written action would be sent but not shown, or shown but
    never sent)."""
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + os.urandom(64))

    def power_cut(*args: Any) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(rows, "add_effects", power_cut)
    with pytest.raises(KeyboardInterrupt):
        store.register_photo(wo["id"], photo)
    with pytest.raises(KeyboardInterrupt):
        store.check_in(wo["id"], GPS)
    monkeypatch.undo()

    assert store.outbox() == []
    assert store.pending_uploads() == []
    assert store.all(rows.ATTACHMENT) == [] and store.all(rows.VISIT) == []
    assert store.get("work_order", wo["id"])["status"] == "accepted"
    store.add_note(wo["id"], "after the power cut")
    assert [e.seq for e in store.outbox()] == [1]


def test_an_action_survives_a_kill_right_after_it_returns(db_path: Path) -> None:
    """A real process is killed (SIGKILL) right after the actions return, before any push:
    reopening the database finds every action, its effect and its outbox row, in order."""
    seed = Store(db_path)
    row = work_order("accepted")
    seed.apply_page(page(put("work_order", row)))
    seed.close()
    script = textwrap.dedent(
        f"""
        import os, signal
        from mobile.store import Store
        store = Store({str(db_path)!r})
        visit = store.check_in({row["id"]!r}, {GPS!r})
        store.add_labour({row["id"]!r}, kind="work", started_at="2026-11-24T09:00:00+08:00",
                         ended_at="2026-11-24T10:00:00+08:00", visit_id=visit)
        store.add_note({row["id"]!r}, "compressor replaced", visit_id=visit)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False)
    assert done.returncode == -9

    reopened = Store(db_path)
    try:
        entries = reopened.outbox()
        assert [(e.seq, e.name) for e in entries] == [
            (1, "visit.check_in"),
            (2, "labour.add"),
            (3, "note.add"),
        ]
        [visit] = reopened.children(rows.VISIT, row["id"])
        assert entries[0].args["visit_id"] == visit["id"]
        assert reopened.get("work_order", row["id"])["status"] == "on_site"
        assert [n["text"] for n in reopened.children(rows.NOTE, row["id"])] == [
            "compressor replaced"
        ]
    finally:
        reopened.close()


def test_the_client_id_is_stable_across_restarts(db_path: Path) -> None:
    first = Store(db_path)
    client_id = first.client_id
    first.close()
    second = Store(db_path)
    assert second.client_id == client_id
    second.close()


def test_the_same_photo_twice_uploads_once(
    store: Store, wo: dict[str, Any], tmp_path: Path
) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + os.urandom(64))
    a = store.register_photo(wo["id"], photo)
    b = store.register_photo(wo["id"], photo)
    assert a != b
    [upload] = store.pending_uploads()
    assert upload.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert (upload.size, upload.mime, upload.offset) == (67, "image/jpeg", 0)


def test_a_signature_keeps_its_png_on_disk_for_the_upload(store: Store, wo: dict[str, Any]) -> None:
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(32)
    store.capture_signature(wo["id"], png=png, strokes=[], signer_name="Mei")
    [upload] = store.pending_uploads()
    assert Path(upload.path).read_bytes() == png
    assert upload.mime == "image/png"


def test_findings_show_at_once_and_send_only_what_was_given(
    store: Store, wo: dict[str, Any]
) -> None:
    store.apply_page(page(put("work_order", {**wo, "fault_code": "E10"})))
    store.update_findings(wo["id"], resolution_notes="bearing worn", root_cause="no grease")

    row = store.get("work_order", wo["id"])
    assert (row["resolution_notes"], row["root_cause"], row["fault_code"]) == (
        "bearing worn",
        "no grease",
        "E10",
    )
    [entry] = store.outbox()
    assert (entry.name, entry.args) == (
        "work_order.update_findings",
        {"work_order_id": wo["id"], "resolution_notes": "bearing worn", "root_cause": "no grease"},
    )
    parse_mutation(entry.mutation().to_json())
    with pytest.raises(ActionRefused) as nothing:
        store.update_findings(wo["id"])
    assert nothing.value.field == "args"
    with pytest.raises(ActionRefused) as blank:
        store.update_findings(wo["id"], fault_code="  ")
    assert blank.value.field == "args.fault_code"
    assert len(store.outbox()) == 1


def test_a_hold_may_wait_for_something_else(store: Store, wo: dict[str, Any]) -> None:
    store.check_in(wo["id"], GPS)
    store.hold(wo["id"], waiting_for="other", reason="site closed for a safety drill")
    assert store.get("work_order", wo["id"])["status"] == "on_hold"
    assert store.outbox()[-1].args["waiting_for"] == "other"


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2500-01-01T00:00:00Z"]
)
def test_labour_outside_the_instant_bounds_is_refused_on_the_phone(
    store: Store, wo: dict[str, Any], when: str
) -> None:
    """The phone checks with the server's rule (shared/times.py) before queueing: a time the
    server would reject never enters the outbox."""
    with pytest.raises(ActionRefused) as refused:
        store.add_labour(wo["id"], kind="work", started_at=when, ended_at=when)
    assert refused.value.field == "args.started_at"
    assert "1970" in refused.value.message
    assert store.outbox() == []
