"""The "needs attention" list: rejections with the server's reason, the server's flags on
the engineer's records, and why a job left the phone (written with the page that removed
it); dismissing hides an item, the record stays."""

from __future__ import annotations

from typing import Any

import pytest

from mobile.store import Store, rows
from shared.ids import uuid7
from shared.sync import Change, Op, Outcome, Result
from tests.mobile.helpers import page, put, work_order

ME, COLLEAGUE = str(uuid7()), str(uuid7())


@pytest.fixture
def mine(store: Store) -> Store:
    store.set_meta(engineer_id=ME)
    return store


@pytest.fixture
def job(mine: Store) -> dict[str, Any]:
    row = work_order("accepted", assignee_id=ME, number="WO-000042", title="Chiller alarm")
    mine.apply_page(page(put("work_order", row)))
    return row


def _kinds(store: Store) -> list[tuple[str, str | None]]:
    return [(i["kind"], i["work_order_id"]) for i in store.attention()]


def _remove(row: dict[str, Any], reason: str) -> Change:
    data = {"reason": reason, "number": row["number"], "title": row["title"]}
    return Change(Op.REMOVE, "work_order", row["id"], data)


def test_a_rejection_shows_the_servers_reason_and_its_flag(
    mine: Store, job: dict[str, Any]
) -> None:
    visit = mine.check_in(job["id"])
    mine.resolve(job["id"], resolution_code="FIXED", summary="done")
    mine.check_out(visit)
    problem = {
        "code": "work_order_cancelled",
        "status": 409,
        "flag_id": "f1",
        "detail": "the office cancelled this work order before your completion arrived",
    }
    gone = {"code": "not_found", "status": 404, "detail": "visit not found"}
    mine.record_results(
        [
            Result(1, Outcome.APPLIED),
            Result(2, Outcome.REJECTED, error=problem),
            Result(3, Outcome.REJECTED, error=gone),
        ],
        last_seq=3,
    )

    [check_out, resolve] = mine.attention()  # the same device time: the later seq first
    assert (check_out["key"], resolve["key"]) == ("rejected:3", "rejected:2")
    assert (resolve["kind"], resolve["work_order_id"]) == ("rejected", job["id"])
    assert (resolve["number"], resolve["title"]) == ("WO-000042", "Chiller alarm")
    assert resolve["reason"] == problem["detail"]
    assert resolve["detail"]["flag_id"] == "f1"
    assert resolve["detail"]["mutation"] == "work_order.resolve"
    assert check_out["work_order_id"] == job["id"]  # found through its visit


def test_the_servers_flags_on_visits_and_van_stock_need_attention(
    mine: Store, job: dict[str, Any]
) -> None:
    visit = {
        "id": str(uuid7()),
        "work_order_id": job["id"],
        "engineer_id": ME,
        "check_in_device_at": "2026-11-24T09:00:00+08:00",
        "check_in_far_from_site": True,
        "check_in_distance_m": 2400.0,
        "check_in_clock_skew": False,
        "check_out_device_at": "2026-11-24T10:00:00+08:00",
        "check_out_far_from_site": False,
        "check_out_clock_skew": True,
    }
    colleague = {**visit, "id": str(uuid7()), "engineer_id": COLLEAGUE}
    part = {"id": str(uuid7()), "sku": "FAN-12", "name": "Fan"}
    stock = {
        "part_id": part["id"],
        "on_hand": "-1.000",
        "needs_reconciliation": True,
        "updated_at": "2026-11-24T02:00:00+00:00",
    }
    mine.apply_page(
        page(
            put("visit", visit),
            put("visit", colleague),
            put("part", part),
            Change(Op.PUT, "stock_balance", part["id"], stock),
            cursor="c2",
        )
    )

    items = {i["kind"]: i for i in mine.attention()}
    assert set(items) == {"far_from_site", "clock_skew", "negative_stock"}
    assert items["far_from_site"]["reason"] == "checked in 2400 m away from the site"
    assert items["far_from_site"]["number"] == "WO-000042"
    assert items["clock_skew"]["detail"] == {"visit_id": visit["id"], "side": "check_out"}
    assert items["negative_stock"]["detail"]["sku"] == "FAN-12"
    assert items["negative_stock"]["work_order_id"] is None

    mine.apply_page(
        page(
            Change(
                Op.PUT,
                "stock_balance",
                part["id"],
                {**stock, "needs_reconciliation": False, "on_hand": "0"},
            ),
            cursor="c3",
        )
    )
    assert {i["kind"] for i in mine.attention()} == {"far_from_site", "clock_skew"}


def test_a_job_that_left_the_phone_says_why(mine: Store, job: dict[str, Any]) -> None:
    mine.apply_page(page(_remove(job, "reassigned"), cursor="c2"))

    assert mine.get(rows.WORK_ORDER, job["id"]) is None
    [item] = mine.attention()
    assert item["key"].startswith("notice:")
    assert (item["kind"], item["work_order_id"], item["reason"]) == (
        "removed",
        job["id"],
        "reassigned",
    )
    assert (item["number"], item["title"]) == ("WO-000042", "Chiller alarm")
    assert item["detail"]["status"] == "accepted"  # as the phone showed it
    assert item["at"] == mine.device_time()


def test_no_notice_for_what_was_not_the_engineers_or_is_only_ageing_out(mine: Store) -> None:
    history = work_order("closed", assignee_id=COLLEAGUE)
    old = work_order("closed", assignee_id=ME)
    declined = work_order("assigned", assignee_id=ME)
    mine.apply_page(page(*(put("work_order", r) for r in (history, old, declined))))
    mine.reject(declined["id"], reason="not my skill")

    mine.apply_page(
        page(
            _remove(history, "reassigned"),  # a colleague's job in an asset's history
            _remove(old, "out_of_scope"),  # my finished job, no longer recent
            _remove(declined, "unassigned"),  # the job I declined myself
            cursor="c2",
        )
    )
    assert mine.attention() == []


def test_the_notice_is_written_with_the_page_that_removed_the_job(
    mine: Store, job: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = rows.drop

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt("killed while applying the page")

    monkeypatch.setattr(rows, "drop", killed)
    with pytest.raises(KeyboardInterrupt):
        mine.apply_page(page(_remove(job, "unassigned"), cursor="c2"))
    monkeypatch.setattr(rows, "drop", original)
    assert mine.attention() == [] and mine.get(rows.WORK_ORDER, job["id"]) is not None

    mine.apply_page(page(_remove(job, "unassigned"), cursor="c2"))
    assert [i["reason"] for i in mine.attention()] == ["unassigned"]


def test_a_timer_running_on_a_job_that_leaves_is_recorded_for_the_office(
    mine: Store, job: dict[str, Any]
) -> None:
    mine.start_timer(job["id"], "work")
    mine.apply_page(page(Change(Op.DELETE, "work_order", job["id"]), cursor="c2"))

    assert mine.running_timers() == []
    [entry] = mine.outbox()
    assert (entry.name, entry.args["work_order_id"]) == ("labour.add", job["id"])
    [item] = mine.attention()
    assert (item["kind"], item["reason"]) == ("removed", "deleted")


def test_dismissed_items_leave_the_list_and_the_records_stay(
    mine: Store, job: dict[str, Any]
) -> None:
    mine.add_note(job["id"], "refused later")
    mine.record_results([Result(1, Outcome.REJECTED, error={"detail": "no"})], last_seq=1)
    mine.apply_page(page(_remove(job, "reassigned"), cursor="c2"))
    items = mine.attention()
    assert sorted(i["kind"] for i in items) == ["rejected", "removed"]

    for item in items:
        mine.dismiss_attention(item["key"])
    mine.dismiss_attention(items[0]["key"])  # twice is once

    assert mine.attention() == []
    assert mine.outbox(states=["rejected"])[0].result == {
        "seq": 1,
        "outcome": "rejected",
        "data": {},
        "error": {"detail": "no"},
    }
    assert mine._con.execute("SELECT count(*) FROM notices").fetchone()[0] == 1
