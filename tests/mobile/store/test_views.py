"""What the screens list: the engineer's own jobs by local day (today, upcoming, done) in
window-priority-number order, an asset's history, the parts reserved for a job."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mobile.store import Store
from shared.ids import uuid7
from shared.sync import Change, Op
from tests.mobile.helpers import page, put, work_order

ME, COLLEAGUE = str(uuid7()), str(uuid7())
SHANGHAI = ZoneInfo("Asia/Shanghai")
# 23:30 in Shanghai on the 24th: 15:30 UTC, so "today" ends at 16:00 UTC.
NOW = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)


def _job(status: str, window: str | None, **fields: Any) -> dict[str, Any]:
    return work_order(status, window_start=window, assignee_id=ME, **fields)


def _ids(found: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in found]


@pytest.fixture
def mine(store: Store) -> Store:
    store.set_meta(engineer_id=ME)
    return store


def test_today_and_upcoming_are_cut_at_the_end_of_the_local_day(mine: Store) -> None:
    overdue = _job("accepted", "2026-11-20T01:00:00+00:00", number="WO-000005")
    late = _job("assigned", "2026-11-24T15:45:00+00:00", number="WO-000004")  # 23:45 local
    unscheduled = _job("on_hold", None, number="WO-000001")
    after_midnight = _job("assigned", "2026-11-24T16:00:00+00:00", number="WO-000003")
    next_week = _job("assigned", "2026-12-01T01:00:00+00:00", number="WO-000002")
    rows = (next_week, unscheduled, after_midnight, late, overdue)
    mine.apply_page(page(*(put("work_order", r) for r in rows)))

    today = mine.my_work_orders("today", now=NOW, tz=SHANGHAI)
    assert _ids(today) == [overdue["id"], late["id"], unscheduled["id"]]  # no window: last
    upcoming = mine.my_work_orders("upcoming", now=NOW, tz=SHANGHAI)
    assert _ids(upcoming) == [after_midnight["id"], next_week["id"]]
    # The same instant in UTC's day: 15:45 and 16:00 UTC are both still the 24th.
    utc_today = mine.my_work_orders("today", now=NOW, tz=ZoneInfo("UTC"))
    assert after_midnight["id"] in _ids(utc_today)


def test_jobs_at_the_same_time_go_by_priority_then_number_unless_a_plan_orders_them(
    mine: Store,
) -> None:
    nine = "2026-11-24T01:00:00+00:00"
    p3 = _job("assigned", nine, priority="P3", number="WO-000001")
    p1b = _job("assigned", nine, priority="P1", number="WO-000009")
    p1a = _job("assigned", nine, priority="P1", number="WO-000002")
    mine.apply_page(page(*(put("work_order", r) for r in (p3, p1b, p1a))))
    today = mine.my_work_orders("today", now=NOW, tz=SHANGHAI)
    assert _ids(today) == [p1a["id"], p1b["id"], p3["id"]]

    # A dispatch plan's order, when the rows carry one, comes first.
    planned = [{**p3, "plan_position": 1}, {**p1b, "plan_position": 2}]
    mine.apply_page(page(*(put("work_order", r) for r in planned), cursor="c2"))
    today = mine.my_work_orders("today", now=NOW, tz=SHANGHAI)
    assert _ids(today) == [p3["id"], p1b["id"], p1a["id"]]


def test_only_the_engineers_own_jobs_are_listed(mine: Store) -> None:
    asset = str(uuid7())
    own = _job("accepted", None, asset_id=asset)
    colleague = work_order("closed", assignee_id=COLLEAGUE, asset_id=asset)  # history
    unassigned = work_order("assigned", window_start=None)
    declined = _job("assigned", None)
    rows = (own, colleague, unassigned, declined)
    mine.apply_page(page(*(put("work_order", r) for r in rows)))
    mine.reject(declined["id"], reason="not my skill")

    assert _ids(mine.my_work_orders("today", now=NOW, tz=SHANGHAI)) == [own["id"]]
    assert mine.my_work_orders("done", now=NOW, tz=SHANGHAI) == []
    mine.set_meta(engineer_id=None)  # the phone does not know who it is yet
    assert mine.my_work_orders("today", now=NOW, tz=SHANGHAI) == []
    with pytest.raises(ValueError, match="view"):
        mine.my_work_orders("tomorrow", now=NOW, tz=SHANGHAI)


def test_done_lists_the_latest_finished_first_at_most_100(mine: Store) -> None:
    base = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    finished = [
        _job(
            ("resolved", "closed", "cancelled")[i % 3],
            None,
            updated_at=(base + dt.timedelta(hours=i)).isoformat(),
        )
        for i in range(105)
    ]
    open_job = _job("on_site", None)
    mine.apply_page(page(*(put("work_order", r) for r in [*finished, open_job])))
    done = mine.my_work_orders("done", now=NOW, tz=SHANGHAI)
    assert _ids(done) == [r["id"] for r in reversed(finished)][:100]

    # A job resolved on the phone goes to the top at once.
    mine.check_in(open_job["id"])
    mine.resolve(open_job["id"], resolution_code="FIXED", summary="done")
    assert mine.my_work_orders("done", now=NOW, tz=SHANGHAI)[0]["id"] == open_job["id"]


def test_an_assets_history_is_its_other_work_orders_newest_first(mine: Store) -> None:
    asset = str(uuid7())
    rows = [
        work_order("closed", asset_id=asset, created_at=f"2026-0{m}-01T00:00:00+00:00")
        for m in (3, 9, 5)
    ]
    current = _job("on_site", None, asset_id=asset, created_at="2026-11-01T00:00:00+00:00")
    elsewhere = work_order("closed", asset_id=str(uuid7()))
    mine.apply_page(page(*(put("work_order", r) for r in [*rows, current, elsewhere])))

    history = mine.asset_history(asset, exclude=current["id"])
    assert _ids(history) == [rows[1]["id"], rows[2]["id"], rows[0]["id"]]
    assert _ids(mine.asset_history(asset))[0] == current["id"]


def test_reserved_parts_are_what_is_reserved_and_not_yet_released(mine: Store) -> None:
    job = _job("accepted", None)
    fan = {"id": str(uuid7()), "sku": "FAN-12", "name": "Fan motor", "unit": "pcs"}
    belt = {"id": str(uuid7()), "sku": "BLT-1", "name": "Belt", "unit": "pcs"}
    cable = {"id": str(uuid7()), "sku": "CBL-3", "name": "Cable", "unit": "m"}

    def line(part: dict[str, Any], kind: str, quantity: str) -> Change:
        row = {
            "id": str(uuid7()),
            "work_order_id": job["id"],
            "part_id": part["id"],
            "kind": kind,
            "quantity": quantity,
            "location_id": "wh",
        }
        return put("reservation", row)

    lines = [
        line(fan, "reserve", "2.000"),
        line(fan, "release", "1.000"),  # one used on the job: the ledger released it
        line(belt, "reserve", "1.000"),
        line(belt, "release", "1.000"),  # given back
        line(cable, "reserve", "12.500"),
    ]
    mine.apply_page(page(*(put("part", p) for p in (fan, belt, cable)), put("work_order", job)))
    mine.apply_page(page(*lines, cursor="c2"))

    assert mine.reserved_parts(job["id"]) == [
        {"part_id": cable["id"], "sku": "CBL-3", "name": "Cable", "unit": "m", "quantity": "12.5"},
        {
            "part_id": fan["id"],
            "sku": "FAN-12",
            "name": "Fan motor",
            "unit": "pcs",
            "quantity": "1",
        },
    ]
    mine.apply_page(page(Change(Op.REMOVE, "reservation", lines[4].id), cursor="c3"))
    assert [p["sku"] for p in mine.reserved_parts(job["id"])] == ["FAN-12"]


def test_a_planned_job_is_on_the_day_of_its_planned_start(mine: Store) -> None:
    """The plan moved a job windowed for tomorrow to today (and one windowed for today to
    tomorrow): the plan's start decides the day, the window only without a plan."""
    tomorrow = "2026-11-25T02:00:00+00:00"
    moved_in = _job("assigned", tomorrow, planned_start="2026-11-24T15:40:00+00:00")
    moved_out = _job(
        "assigned", "2026-11-24T15:00:00+00:00", planned_start="2026-11-25T01:00:00+00:00"
    )
    mine.apply_page(page(put("work_order", moved_in), put("work_order", moved_out)))
    assert _ids(mine.my_work_orders("today", now=NOW, tz=SHANGHAI)) == [moved_in["id"]]
    assert _ids(mine.my_work_orders("upcoming", now=NOW, tz=SHANGHAI)) == [moved_out["id"]]
