"""A hurried thumb and a slow phone: double taps on every kind of action button, a second tap
while the GPS is still looking, Back in the middle of an action, a permission refused, a
camera that fails. One tap is one action (never two outbox rows, never the next step's
button pressed by the second tap), a late answer never lands on another job's screen, and
no failure ends the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from kivy.base import ExceptionManager
from kivy.core.window import Window

from mobile.device import CAMERA, LOCATION, DeviceError, Fix, PermissionDenied
from mobile.device.fakes import FakeCamera, FakeLocation, fix_at
from mobile.ui.widgets import Ask
from tests.fixtures.factories import Tenant
from tests.mobile.app.hostile import ME
from tests.mobile.app.test_job_flow import log_in, open_job
from tests.mobile.helpers import put, work_order


def job(**fields: Any) -> dict[str, Any]:
    return work_order(**{"assignee_id": ME, **fields})


async def opened(phone: Any, *rows: dict[str, Any], **options: Any) -> Any:
    driver = await phone(*(put("work_order", row) for row in rows), **options)
    driver.app.go("job", work_order_id=rows[0]["id"])
    await driver.frames(2)
    return driver


def names(driver: Any) -> list[str]:
    return [e.name for e in driver.app.store.outbox()]


async def test_a_double_tap_on_accept_accepts_once_and_starts_nothing(phone: Any) -> None:
    row = job(status="assigned")
    driver = await opened(phone, row)
    await driver.double_tap(driver.button("Accept"))
    # "Start travel" took Accept's place under the thumb: the second tap must not press it.
    assert names(driver) == ["work_order.accept"]
    assert driver.app.store.running_timer(row["id"]) is None


async def test_a_double_tap_on_resolve_does_not_check_out(phone: Any) -> None:
    row = job(status="on_site")
    driver = await opened(phone, row)
    visit = driver.app.store.check_in(row["id"], None)
    driver.app.changed("action")
    await driver.frames(2)
    await driver.press("Resolve")
    driver.screen.code = "FIXED"
    await driver.type(driver.screen.ids.summary, "Replaced the belt")
    await driver.double_tap(driver.button("Resolve"))
    # Back on the job, "Check out" sits where "Resolve" was.
    assert driver.app.screens.current == "job"
    assert names(driver)[-1] == "work_order.resolve"
    assert driver.app.store.get("visit", visit)["check_out_device_at"] is None


async def test_a_double_tap_on_a_dialogs_ok_records_one_note_and_taps_nothing_beneath(
    phone: Any,
) -> None:
    row = job(status="on_site")
    driver = await opened(phone, row)
    driver.app.store.check_in(row["id"], None)
    driver.app.changed("action")
    await driver.frames(2)
    await driver.press("Add note")
    [ask] = [w for w in Window.children if isinstance(w, Ask)]
    await driver.type(ask.ids.answer, "belt worn")
    before = driver.app.screens.current
    await driver.double_tap(driver.button("OK", ask))
    assert names(driver).count("note.add") == 1
    assert driver.app.screens.current == before


async def test_a_double_tap_in_a_text_field_reaches_it(phone: Any) -> None:
    row = job(status="on_site")
    driver = await opened(phone, row)
    driver.app.store.check_in(row["id"], None)
    driver.app.changed("action")
    await driver.frames(2)
    await driver.press("Resolve")
    summary = driver.screen.ids.summary
    summary.text = "belt worn"
    await driver.double_tap(summary)
    # Both taps reach the field (a double tap selects a word there); on a button the
    # second one is dropped.
    assert driver.app.taps.dropped == 0 and summary.focus
    await driver.double_tap(driver.button("Resolve"))
    assert driver.app.taps.dropped == 1


async def test_check_in_tapped_again_while_the_gps_looks_checks_in_once(phone: Any) -> None:
    row = job(status="accepted")
    slow = FakeLocation(fix_at(31.23, 121.47, 9.0), delay=1.0)
    driver = await opened(phone, row, device_parts={"location": slow})
    button = driver.button("Check in")
    x, y = button.to_window(*button.center)
    asked = slow.requests  # the Today list may have asked for distances
    await driver.touch(x, y)
    await asyncio.sleep(0.5)  # a second, deliberate tap: not a double tap
    await driver.touch(x, y)
    await driver.settle()
    assert names(driver).count("visit.check_in") == 1
    assert slow.requests == asked + 1
    assert "±9 m" in driver.screen.gps_state


async def test_back_during_check_in_leaves_no_word_of_it_on_another_job(phone: Any) -> None:
    first, second = job(status="accepted", number="WO-1"), job(status="accepted", number="WO-2")
    slow = FakeLocation(fix_at(31.23, 121.47, 9.0), delay=0.5)
    driver = await opened(phone, first, second, device_parts={"location": slow})
    button = driver.button("Check in")
    await driver.touch(*button.to_window(*button.center))
    driver.app.back() or driver.app.go("today")
    driver.app.go("job", work_order_id=second["id"])
    await driver.settle()
    assert driver.screen.work_order_id == second["id"]
    assert driver.screen.gps_state == ""  # the first job's check-in is not this one's
    assert driver.app.store.get("work_order", first["id"])["status"] == "on_site"


class Refusing(FakeLocation):
    """The phone's location permission refused (what AndroidLocation raises)."""

    async def current(self, timeout: float = 10.0) -> Fix | None:  # noqa: ASYNC109
        raise PermissionDenied(LOCATION)


async def test_check_in_with_the_location_permission_refused_is_recorded_and_said(
    phone: Any,
) -> None:
    row = job(status="accepted")
    driver = await opened(phone, row, device_parts={"location": Refusing()})
    await driver.press("Check in")
    [visit] = driver.app.store.children("visit", row["id"])
    assert visit["check_in_gps"] is None
    assert driver.screen.gps_state == "Location permission refused: checked in without a position"


class BrokenCamera(FakeCamera):
    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure = failure

    async def capture(self, dest: Path) -> Path | None:
        raise self.failure


class LyingCamera(FakeCamera):
    """Says it took a photo and wrote nothing (a camera app that returns OK regardless)."""

    async def capture(self, dest: Path) -> Path | None:
        return dest


@pytest.mark.parametrize(
    ("camera", "said"),
    [
        (BrokenCamera(PermissionDenied(CAMERA)), "Camera permission refused"),
        (BrokenCamera(DeviceError("no camera app on this phone")), "No camera app"),
        (BrokenCamera(ValueError("notes.txt is not a photo")), "not a photo"),
        (LyingCamera(), "Something went wrong"),
    ],
)
async def test_a_failing_camera_is_said_and_the_app_goes_on(
    phone: Any, camera: FakeCamera, said: str
) -> None:
    row = job(status="on_site")
    driver = await opened(phone, row, device_parts={"camera": camera})
    driver.app.store.check_in(row["id"], None)
    driver.app.changed("action")
    await driver.frames(2)
    await driver.press("Take photo")
    assert said in driver.app.root.toast
    assert "attachment.register" not in names(driver)
    await driver.press("Add note")  # the app still answers
    assert any(isinstance(w, Ask) for w in Window.children)


async def test_an_error_in_any_callback_is_told_and_does_not_end_the_app(phone: Any) -> None:
    driver = await phone()
    # What Kivy's loop does with an exception raised in a callback: the app's handler
    # decides; PASS keeps the app running.
    assert ExceptionManager.handle_exception(KeyError("x")) == ExceptionManager.PASS
    assert "Something went wrong" in driver.app.root.toast
    await driver.stop()
    assert ExceptionManager.handle_exception(KeyError("x")) == ExceptionManager.RAISE


async def test_sync_tapped_again_while_syncing_syncs_once(
    ui: Callable[..., Any], tenant: Tenant, ticket: Any, faults: Any, client: httpx.AsyncClient
) -> None:
    driver = await ui()
    await log_in(driver, tenant)
    await driver.press("Sync now")
    await open_job(driver, str(driver.app.store.get("work_order", str(ticket.id))["number"]))
    await driver.press("Accept")
    pushes = len(faults.sent("POST", "/sync/push"))
    driver.app.go("today")
    driver.screen.sync()  # pull to refresh ...
    driver.screen.sync()  # ... and Sync now, before the first sync has answered
    await driver.settle()
    assert len(faults.sent("POST", "/sync/push")) == pushes + 1
    assert driver.app.store.pending_count() == 0
