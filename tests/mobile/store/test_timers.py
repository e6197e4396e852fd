"""Labour timers: a running travel or work timer survives the app being killed; stopping it
records a labour.add through the normal path in the same transaction as ending the timer;
one timer per work order, switching kinds records the one that ran."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mobile.store import TIMER_KINDS, ActionRefused, Store, rows
from shared.sync import ProtocolError, check_args, parse_mutation
from tests.mobile.helpers import NOW, page, put, work_order

ROOT = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self) -> None:
        self.now = NOW.replace(microsecond=250_000)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(db_path: Path, clock: Clock) -> Iterator[Store]:
    s = Store(db_path, clock=clock)
    yield s
    s.close()


@pytest.fixture
def job(timed: Store) -> dict[str, Any]:
    row = work_order("accepted")
    timed.apply_page(page(put("work_order", row)))
    return row


def test_the_timer_kinds_are_the_ones_labour_add_takes() -> None:
    base = {
        "work_order_id": str(work_order()["id"]),
        "entry_id": str(work_order()["id"]),
        "started_at": "2026-11-24T09:00:00+08:00",
        "ended_at": "2026-11-24T10:00:00+08:00",
    }
    for kind in TIMER_KINDS:
        check_args("labour.add", {**base, "kind": kind})
    with pytest.raises(ProtocolError):
        check_args("labour.add", {**base, "kind": "lunch"})


def test_stopping_records_the_span_through_labour_add(
    timed: Store, job: dict[str, Any], clock: Clock
) -> None:
    timed.start_timer(job["id"], "travel")
    assert timed.outbox() == []  # a running timer sends nothing
    assert timed.running_timer(job["id"]) == {
        "kind": "travel",
        "started_at": "2026-11-24T09:30:00.250000+08:00",
        "visit_id": None,
    }
    clock.advance(minutes=42, seconds=10)

    entry = timed.stop_timer(job["id"])

    assert entry is not None
    [sent] = timed.outbox()
    assert sent.name == "labour.add"
    assert sent.args == {
        "work_order_id": job["id"],
        "entry_id": entry,
        "kind": "travel",
        "started_at": "2026-11-24T09:30:00+08:00",
        "ended_at": "2026-11-24T10:12:11+08:00",  # the stop rounded up to the second
    }
    parse_mutation(sent.mutation().to_json())
    assert timed.get(rows.LABOUR, entry)["kind"] == "travel"
    assert timed.running_timer(job["id"]) is None
    assert timed.stop_timer(job["id"]) is None  # nothing runs any more


def test_a_span_under_a_minute_is_recorded_as_it_was(
    timed: Store, job: dict[str, Any], clock: Clock
) -> None:
    timed.start_timer(job["id"], "work")
    clock.advance(seconds=20)
    first = timed.stop_timer(job["id"])
    timed.start_timer(job["id"], "work")
    clock.advance(microseconds=100)  # stopped in the same second it started
    second = timed.stop_timer(job["id"])

    spans = [(e["started_at"], e["ended_at"]) for e in timed.children(rows.LABOUR, job["id"])]
    assert [first, second] == [e["id"] for e in timed.children(rows.LABOUR, job["id"])]
    assert spans == [
        ("2026-11-24T09:30:00+08:00", "2026-11-24T09:30:21+08:00"),
        ("2026-11-24T09:30:20+08:00", "2026-11-24T09:30:21+08:00"),
    ]


def test_switching_kind_records_the_running_one_and_starts_the_other(
    timed: Store, job: dict[str, Any], clock: Clock
) -> None:
    visit = timed.check_in(job["id"], None)
    timed.start_timer(job["id"], "travel")
    clock.advance(minutes=30)
    timed.start_timer(job["id"], "travel")  # the one that runs: nothing changes
    assert [e.name for e in timed.outbox()] == ["visit.check_in"]
    timed.start_timer(job["id"], "work", visit_id=visit)

    assert [e.name for e in timed.outbox()] == ["visit.check_in", "labour.add"]
    assert timed.outbox()[-1].args["kind"] == "travel"
    assert timed.running_timer(job["id"]) == {
        "kind": "work",
        "started_at": "2026-11-24T10:00:00.250000+08:00",
        "visit_id": visit,
    }
    other = work_order("accepted")
    timed.apply_page(page(put("work_order", other), cursor="c2"))
    timed.start_timer(other["id"], "break")
    assert [(t["work_order_id"], t["kind"]) for t in timed.running_timers()] == [
        (job["id"], "work"),
        (other["id"], "break"),
    ]


def test_a_timer_is_refused_where_labour_would_be(timed: Store, job: dict[str, Any]) -> None:
    with pytest.raises(ActionRefused) as kind:
        timed.start_timer(job["id"], "lunch")
    assert kind.value.field == "kind"
    with pytest.raises(ActionRefused) as unknown:
        timed.start_timer(str(work_order()["id"]), "work")
    assert unknown.value.field == "work_order_id"
    assert timed.running_timers() == []


def test_a_timer_left_running_past_a_day_is_recorded_in_day_long_pieces(
    timed: Store, job: dict[str, Any], clock: Clock
) -> None:
    timed.start_timer(job["id"], "work")
    clock.advance(hours=50)
    last = timed.stop_timer(job["id"])

    entries = timed.children(rows.LABOUR, job["id"])
    assert [(e["started_at"], e["ended_at"]) for e in entries] == [
        ("2026-11-24T09:30:00+08:00", "2026-11-25T09:30:00+08:00"),
        ("2026-11-25T09:30:00+08:00", "2026-11-26T09:30:00+08:00"),
        ("2026-11-26T09:30:00+08:00", "2026-11-26T11:30:01+08:00"),
    ]
    assert entries[-1]["id"] == last


def test_declining_the_job_records_the_running_timer_first(timed: Store, clock: Clock) -> None:
    row = work_order("assigned")
    timed.apply_page(page(put("work_order", row)))
    timed.start_timer(row["id"], "travel")
    clock.advance(minutes=5)
    timed.reject(row["id"], reason="van broke down")
    assert [e.name for e in timed.outbox()] == ["labour.add", "work_order.reject"]
    assert timed.running_timers() == []


def test_stopping_is_one_transaction_with_the_outbox_row(
    timed: Store, job: dict[str, Any], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    timed.start_timer(job["id"], "work")
    clock.advance(minutes=10)

    def power_cut(*args: Any) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(rows, "add_effects", power_cut)
    with pytest.raises(KeyboardInterrupt):
        timed.stop_timer(job["id"])
    monkeypatch.undo()
    assert timed.outbox() == []
    assert timed.running_timer(job["id"]) is not None  # still running: nothing lost

    assert timed.stop_timer(job["id"]) is not None
    assert len(timed.outbox()) == 1


def test_a_running_timer_survives_the_app_being_killed(db_path: Path) -> None:
    seed = Store(db_path, clock=lambda: NOW)
    row = work_order("accepted")
    seed.apply_page(page(put("work_order", row)))
    seed.close()
    script = textwrap.dedent(
        f"""
        import datetime as dt, os, signal
        from mobile.store import Store
        start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        Store({str(db_path)!r}, clock=lambda: start).start_timer({row["id"]!r}, "work")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False)
    assert done.returncode == -9

    reopened = Store(db_path, clock=lambda: NOW)
    try:
        assert reopened.running_timer(row["id"]) == {
            "kind": "work",
            "started_at": "2026-11-24T09:00:00+08:00",
            "visit_id": None,
        }
        entry = reopened.stop_timer(row["id"])
        assert reopened.get(rows.LABOUR, str(entry))["ended_at"] == "2026-11-24T09:30:00+08:00"
    finally:
        reopened.close()
