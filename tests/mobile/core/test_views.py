"""What the Today list and the job screen show, from the store's rows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from mobile.core import job_view, today_items
from mobile.core.geo import haversine_m
from mobile.core.job import applicable_items
from mobile.core.today import sla_of
from mobile.device import Fix
from mobile.store import Store
from tests.mobile.core.conftest import mine
from tests.mobile.helpers import page, put

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai


def test_sla_countdown_follows_the_deadline_that_matters_now() -> None:
    due = (NOW + dt.timedelta(hours=5)).isoformat()
    assert sla_of({"status": "assigned", "response_due_at": due}, NOW)[1] == "ok"
    soon = (NOW + dt.timedelta(minutes=30)).isoformat()
    assert sla_of({"status": "assigned", "response_due_at": soon}, NOW)[1] == "at_risk"
    late = (NOW - dt.timedelta(minutes=30)).isoformat()
    responded = {"status": "on_site", "first_response_at": late, "response_due_at": soon}
    assert sla_of({**responded, "resolution_due_at": late}, NOW)[1] == "breached"
    assert (
        sla_of({"status": "on_hold", "on_hold_since": late, "resolution_due_at": late}, NOW)[1]
        == "paused"
    )
    assert sla_of({"status": "resolved", "resolution_due_at": late}, NOW) == ("", "")
    unreadable = sla_of({"status": "assigned", "response_due_at": "not a time"}, NOW)
    assert unreadable == ("SLA deadline unreadable", "")


def test_today_rows_carry_customer_site_distance_and_the_unsynced_mark(
    store: Store, work: object
) -> None:
    customer = {"id": "0193a000-0000-7000-8000-0000000000c1", "name": "Lujiazui Tower"}
    site = {
        "id": "0193a000-0000-7000-8000-0000000000d1",
        "name": "Tower B",
        "address": "1 Century Ave",
        "lat": 31.2397,
        "lon": 121.4998,
    }
    wo = mine(
        status="assigned",
        customer_id=customer["id"],
        site_id=site["id"],
        priority="P1",
        window_start="2026-11-24T02:00:00+00:00",
        window_end="2026-11-24T04:00:00+00:00",
    )
    store.apply_page(page(put("customer", customer), put("site", site), put("work_order", wo)))
    here = Fix(lat=31.2304, lon=121.4737, accuracy_m=5, at=NOW)
    [row] = today_items(store, "today", now=NOW, tz=SHANGHAI, here=here)
    assert (row.customer, row.site, row.priority) == ("Lujiazui Tower", "1 Century Ave", "P1")
    expected_km = haversine_m(31.2304, 121.4737, 31.2397, 121.4998) / 1000
    assert row.distance == f"{expected_km:.1f} km"
    assert "10:00" in row.window and "12:00" in row.window  # local time
    assert not row.unsynced
    store.accept(wo["id"])
    [row] = today_items(store, "today", now=NOW, tz=SHANGHAI, here=None)
    assert row.unsynced and row.distance == "—"


def test_the_checklist_follows_the_servers_rule_for_which_templates_apply() -> None:
    general = {"id": "t1", "name": "Safety", "active": True, "items": [{"id": "a"}]}
    typed = {"id": "t2", "name": "Install", "ticket_type": "installation", "items": [{"id": "b"}]}
    model = {"id": "t3", "name": "CH-200", "product_model": "CH-200", "items": [{"id": "c"}]}
    retired = {"id": "t4", "name": "Old", "active": False, "items": [{"id": "d"}]}
    templates = [general, typed, model, retired]
    repair = {"type": "repair"}
    assert [
        i["id"] for _, i in applicable_items(templates, repair, {"product_model": "CH-200"})
    ] == ["c", "a"]
    assert [i["id"] for _, i in applicable_items(templates, repair, None)] == ["a"]
    install = {"type": "installation"}
    assert [i["id"] for _, i in applicable_items(templates, install, None)] == ["b", "a"]


def test_the_job_view_shows_the_current_answers_warranty_and_missing_items(store: Store) -> None:
    asset = {
        "id": "0193a000-0000-7000-8000-0000000000e1",
        "product_model": "CH-200",
        "serial_number": "S1",
        "warranty_end": "2027-01-31",
    }
    template = {
        "id": "0193a000-0000-7000-8000-0000000000f1",
        "name": "Safety",
        "active": True,
        "items": [
            {
                "id": "0193a000-0000-7000-8000-0000000000f2",
                "kind": "yes_no",
                "label": "Isolated",
                "required": True,
            },
            {
                "id": "0193a000-0000-7000-8000-0000000000f3",
                "kind": "number",
                "label": "Bar",
                "required": False,
            },
        ],
    }
    wo = mine(status="on_site", asset_id=asset["id"], type="repair")
    store.apply_page(
        page(put("asset", asset), put("checklist_template", template), put("work_order", wo))
    )
    view = job_view(store, wo["id"])
    assert view is not None
    assert (
        view.warranty(dt.date(2027, 1, 31)) is True and view.warranty(dt.date(2027, 2, 1)) is False
    )
    assert [line.item["label"] for line in view.missing_required] == ["Isolated"]
    visit = store.check_in(wo["id"], None)
    store.answer_checklist(wo["id"], visit_id=visit, item_id=template["items"][0]["id"], value=True)
    view = job_view(store, wo["id"])
    assert view is not None and view.missing_required == []
    assert job_view(store, "0193a000-0000-7000-8000-00000000ffff") is None
