"""Rows a careless server (or a bad sync) sends: odd times, nulls, numbers as text, garbage
where a date or a number belongs. The views never crash on them and never show something
that reads as true but is not (an appointment time that is not there, a window running
backwards, a distance to an impossible position)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mobile.core import job_view, today_items
from mobile.core.attention import describe
from mobile.core.geo import site_position
from mobile.core.job import applicable_items
from mobile.core.today import sla_of
from mobile.device import Fix
from mobile.store import Store
from shared.sync import Change, Op
from tests.mobile.core.conftest import mine
from tests.mobile.helpers import page, put

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai
HERE = Fix(lat=31.2304, lon=121.4737, accuracy_m=5, at=NOW)
SITE = "0193a000-0000-7000-8000-0000000000d1"
PART = "0193a000-0000-7000-8000-0000000000b1"
UNREADABLE_TIMES = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:00:00-14:00",
    "2026-11-24T09:00:00",  # no offset: which zone is a guess
    "tomorrow-ish",
    1700000000,
    [2026, 11, 24],
]


def _one(store: Store, **fields: Any) -> tuple[str, Any]:
    wo = mine(**fields)
    store.apply_page(page(put("work_order", wo)))
    rows = {
        view: today_items(store, view, now=NOW, tz=SHANGHAI, here=HERE)
        for view in ("today", "upcoming")
    }
    [(view, [row])] = [(view, found) for view, found in rows.items() if found]
    return view, row


@pytest.mark.parametrize("value", UNREADABLE_TIMES, ids=repr)
def test_an_unreadable_appointment_time_is_said_so_and_listed_today(
    store: Store, value: Any
) -> None:
    view, row = _one(store, window_start=value)
    # Not "No appointment" (there is one; the phone cannot read it), and not hidden in
    # Upcoming: the list and the row agree on what the phone can read.
    assert row.window == "Appointment time unreadable"
    assert view == "today"


@pytest.mark.parametrize("end", [None, "zzz", "2026-11-24T08:00:00+00:00"], ids=repr)
def test_a_window_without_a_readable_end_shows_its_start_only(store: Store, end: Any) -> None:
    _, row = _one(store, window_start="2026-11-24T09:00:00+00:00", window_end=end)
    assert row.window == "17:00"  # not "17:00–17:00" nor a window running backwards


def test_a_window_on_another_day_without_an_end_names_the_day() -> None:
    store_row = {"window_start": "2026-11-26T09:00:00+00:00"}
    from mobile.core.today import window_text

    assert window_text(store_row, NOW, SHANGHAI) == "Thu 26 Nov 17:00"


@pytest.mark.parametrize("value", UNREADABLE_TIMES, ids=repr)
def test_an_unreadable_sla_deadline_is_said_so(value: Any) -> None:
    assert sla_of({"status": "assigned", "response_due_at": value}, NOW) == (
        "SLA deadline unreadable",
        "",
    )
    responded = {"status": "on_site", "first_response_at": "2026-11-24T01:00:00+00:00"}
    assert sla_of({**responded, "resolution_due_at": value}, NOW)[0] == "SLA deadline unreadable"
    assert sla_of({"status": "assigned"}, NOW) == ("", "")  # no SLA at all: nothing to say


@pytest.mark.parametrize(
    ("lat", "lon", "known"),
    [
        (91, 0, False),
        (31.2, 181, False),
        (float("nan"), 121.4, False),
        ("abc", "x", False),
        (None, 121.4, False),
        (True, False, False),
        ("31.2397", "121.4998", True),  # numbers as text are numbers
        (31.2397, 121.4998, True),
    ],
)
def test_a_site_position_is_used_only_when_it_is_a_position(
    store: Store, lat: Any, lon: Any, known: bool
) -> None:
    site = {"id": SITE, "name": "Tower", "address": "1 Century Ave", "lat": lat, "lon": lon}
    assert (site_position(site) is not None) is known
    store.apply_page(page(put("site", site)))
    _, row = _one(store, site_id=SITE)
    assert (row.distance != "—") is known


@pytest.mark.parametrize("end", ["garbage", 5, "", None, "0000-00-00", "2027-13-45"], ids=repr)
def test_an_unreadable_warranty_end_is_unknown_warranty(store: Store, end: Any) -> None:
    asset = {"id": "0193a000-0000-7000-8000-0000000000e1", "warranty_end": end}
    wo = mine(status="on_site", asset_id=asset["id"])
    store.apply_page(page(put("asset", asset), put("work_order", wo)))
    view = job_view(store, wo["id"])
    assert view is not None
    assert view.warranty(NOW.date()) is None and view.warranty_end is None


@pytest.mark.parametrize(
    "items",
    ["not a list", [None], [5], ["text"], [{"kind": "text", "label": "no id"}], {"id": "x"}],
    ids=repr,
)
def test_malformed_checklist_items_are_left_out(store: Store, items: Any) -> None:
    good = {"id": "0193a000-0000-7000-8000-0000000000f2", "kind": "yes_no", "label": "Ok"}
    template = {
        "id": "t1",
        "name": None,
        "items": [good, *(items if isinstance(items, list) else [])],
    }
    broken = {"id": "t2", "name": 7, "items": items}
    assert [i["id"] for _, i in applicable_items([template, broken], {}, None)] == [good["id"]]
    wo = mine(status="on_site")
    store.apply_page(
        page(
            put("checklist_template", template),
            put("checklist_template", broken),
            put("work_order", wo),
        )
    )
    view = job_view(store, wo["id"])
    assert view is not None and [line.item["id"] for line in view.checklist] == [good["id"]]


@pytest.mark.parametrize("quantity", ["NaN", "sNaN", "Infinity", "-Infinity", "abc", None])
def test_stock_and_reservations_that_are_not_numbers_do_not_block_the_sync(
    store: Store, quantity: Any
) -> None:
    wo = mine(status="on_site")
    reservation = {
        "id": "0193a000-0000-7000-8000-0000000000b2",
        "work_order_id": wo["id"],
        "part_id": PART,
        "kind": "reserve",
        "quantity": quantity,
    }
    # A page the phone cannot take would be pulled again and again: the sync would stop.
    store.apply_page(
        page(
            put("work_order", wo),
            put("part", {"id": PART, "name": "Fan", "sku": "F-1"}),
            put("stock_balance", {"id": PART, "part_id": PART, "on_hand": quantity}),
            put("reservation", reservation),
        )
    )
    assert store.reserved_parts(wo["id"]) == []
    [part] = store.search_parts("fan")
    assert part["van_on_hand"] is None


@pytest.mark.parametrize(
    "item",
    [
        {"kind": "far_from_site", "detail": {"distance_m": "abc"}},
        {"kind": "far_from_site", "detail": {"distance_m": float("nan")}},
        {"kind": "far_from_site", "detail": {"distance_m": float("inf")}},
        {"kind": "far_from_site", "detail": "not an object"},
        {"kind": "rejected", "detail": ["x"], "number": None, "title": {"a": 1}},
        {"kind": "negative_stock", "detail": {"on_hand": None, "name": None}},
        {"kind": "removed", "reason": None, "number": 7},
        {"kind": None, "reason": {"x": 1}},
    ],
    ids=repr,
)
def test_an_odd_attention_item_is_described_without_python_spelling(item: dict[str, Any]) -> None:
    headline, reason = describe(item)
    for wrong in ("None", "{'", "['", "nan", "inf"):
        assert wrong not in headline + reason


@pytest.mark.parametrize("data_id", ["missing", 5, "another-id"])
def test_a_row_is_known_by_the_id_its_change_names(store: Store, data_id: Any) -> None:
    wo = mine(status="assigned")
    data = {k: v for k, v in wo.items() if k != "id"}
    if data_id != "missing":
        data["id"] = data_id
    store.apply_page(page(Change(Op.PUT, "work_order", wo["id"], data)))
    [row] = today_items(store, "today", now=NOW, tz=SHANGHAI)
    assert row.id == wo["id"]
    view = job_view(store, wo["id"])
    assert view is not None and view.id == wo["id"]


@pytest.mark.parametrize("status", [None, "", "exploded"])
def test_a_job_with_an_odd_status_is_listed_and_says_so(store: Store, status: Any) -> None:
    # Hidden, the engineer would never see a job the office sent them.
    _, row = _one(store, status=status)
    assert row.status == (status or "")
