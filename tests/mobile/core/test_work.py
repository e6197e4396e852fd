"""The engineer's taps, Kivy-free: timers follow travel and work, GPS is optional, and each
action asks for a sync."""

from __future__ import annotations

from mobile.core import Work, job_view
from mobile.device.fakes import FakeCamera, FakeLocation
from mobile.store import Store
from tests.mobile.core.conftest import mine
from tests.mobile.helpers import page, put


def _job(store: Store, status: str = "accepted") -> str:
    row = mine(status=status)
    store.apply_page(page(put("work_order", row)))
    return str(row["id"])


async def test_travel_then_check_in_records_the_travel_and_starts_the_work_timer(
    store: Store, work: Work
) -> None:
    wid = _job(store)
    work.start_travel(wid)
    assert store.running_timer(wid)["kind"] == "travel"
    visit_id, fix = await work.check_in(wid)
    assert fix is not None and fix.accuracy_m == 6.0
    assert store.running_timer(wid) == {
        **store.running_timer(wid),
        "kind": "work",
        "visit_id": visit_id,
    }
    [travel] = store.children("labour_entry", wid)
    assert travel["kind"] == "travel"
    await work.check_out(wid, visit_id)
    assert store.running_timer(wid) is None
    assert sorted(e["kind"] for e in store.children("labour_entry", wid)) == ["travel", "work"]
    names = [e.name for e in store.outbox()]
    assert names == [
        "work_order.start_travel",
        "labour.add",
        "visit.check_in",
        "labour.add",
        "visit.check_out",
    ]
    assert len(work.woken) == 3  # type: ignore[attr-defined]


async def test_check_in_without_a_gps_fix_is_recorded_without_a_position(
    store: Store, work: Work
) -> None:
    wid = _job(store)
    location = work.device.location
    assert isinstance(location, FakeLocation)
    location.fix = None
    visit_id, fix = await work.check_in(wid)
    assert fix is None
    visit = store.get("visit", visit_id)
    assert visit is not None and visit["check_in_gps"] is None
    view = job_view(store, wid)
    assert view is not None and view.open_visit is not None


async def test_a_cancelled_photo_records_nothing(store: Store, work: Work) -> None:
    wid = _job(store, "on_site")
    camera = work.device.camera
    assert isinstance(camera, FakeCamera)
    camera.cancel = True
    assert await work.photo(wid) is None
    assert store.outbox() == [] and store.pending_uploads_count() == 0


async def test_a_photo_is_registered_and_queued_for_upload(store: Store, work: Work) -> None:
    wid = _job(store, "on_site")
    attachment = await work.photo(wid)
    assert attachment is not None
    assert store.get("attachment", attachment)["status"] == "pending"
    assert store.pending_uploads_count() == 1


def test_a_part_with_removed_serials_records_the_defective_unit(store: Store, work: Work) -> None:
    wid = _job(store, "on_site")
    part = {
        "id": "0193a000-0000-7000-8000-0000000000aa",
        "sku": "FAN-1",
        "name": "Fan",
        "active": True,
    }
    store.apply_page(page(put("part", part)))
    work.use_part(
        wid, part_id=part["id"], quantity="1", serials=["SN-NEW"], removed_serials=["SN-OLD"]
    )
    [entry] = [e for e in store.outbox() if e.name == "part.use"]
    assert entry.args["serial_numbers"] == ["SN-NEW"]
    assert entry.args["removed_serial_numbers"] == ["SN-OLD"]
    assert entry.args["removed_condition"] == "defective"
