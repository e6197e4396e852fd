"""Odd rows from the server, through the real screens: every screen opens (an exception in a
Kivy callback would end the app), no screen prints Python's spelling of a missing value,
no text is drawn taller than a phone's GPU can hold, and what cannot be used (a site at
latitude 91, a phone number with letters, a checklist item of an unknown kind) says so."""

from __future__ import annotations

from typing import Any

import pytest
from kivy.uix.label import Label
from kivy.uix.textinput import TextInput

from mobile.device import DeviceError
from mobile.device.fakes import FakeDialer, FakeMaps
from tests.mobile.app.hostile import ME
from tests.mobile.helpers import page, put, work_order

CUSTOMER = "0193a000-0000-7000-8000-0000000000c1"
SITE = "0193a000-0000-7000-8000-0000000000d1"
ASSET = "0193a000-0000-7000-8000-0000000000e1"
TEMPLATE = "0193a000-0000-7000-8000-0000000000f1"
PART = "0193a000-0000-7000-8000-0000000000b1"
# The smallest maximum texture size of the phones we run on (OpenGL ES 2 devices).
MAX_TEXTURE = 4096
SCREENS = ("job", "checklist", "parts", "labour", "signature", "resolve", "sync", "settings")


def item(id_: str, kind: Any, label: Any = "Item", **extra: Any) -> dict[str, Any]:
    return {"id": f"0193a000-0000-7000-8000-0000000000{id_}", "kind": kind, "label": label, **extra}


ODD = {
    "customer": {
        "id": CUSTOMER,
        "name": "שלום\u200f 🧊\u200b Co",  # RTL, an emoji, a zero-width space
        "phone": "call-me-maybe",
        "contact_name": None,
    },
    "site": {"id": SITE, "name": None, "address": "1 Century Ave", "lat": 91, "lon": 0},
    "asset": {"id": ASSET, "product_model": None, "serial_number": 7, "warranty_end": "soon"},
    "checklist_template": {
        "id": TEMPLATE,
        "name": None,
        "items": [
            item("01", "mystery", None, required=True),
            item("02", "choice", "Colour", options=[]),
            item("03", "number", "Pressure", min_value=40, max_value=0, unit="bar"),
            {"kind": "text", "label": "no id"},
            None,
        ],
    },
    "part": {"id": PART, "name": None, "sku": 12, "barcode": None},
    "stock_balance": {"id": PART, "part_id": PART, "on_hand": "NaN"},
}


def odd_job(**fields: Any) -> dict[str, Any]:
    return work_order(
        assignee_id=ME,
        customer_id=CUSTOMER,
        site_id=SITE,
        asset_id=ASSET,
        status="on_site",
        priority=None,
        number=None,
        title="T" * 200,
        description="\n".join(f"line {i}" for i in range(5000)),
        window_start="2026-11-24T09:00:00",
        response_due_at="9999-12-31T23:59:59+00:00",
        fault_code={"code": 1},
        **fields,
    )


def changes(job: dict[str, Any]) -> list[Any]:
    return [put(entity, row) for entity, row in ODD.items()] + [put("work_order", job)]


def texts_and_labels(driver: Any) -> tuple[str, list[Label]]:
    """Every text on the screen (labels, and what text fields are filled with)."""
    labels = [w for w in driver.walk() if isinstance(w, Label)]
    fields = [w.text for w in driver.walk() if isinstance(w, TextInput)]
    return " | ".join([w.text for w in labels] + fields), labels


async def test_every_screen_opens_on_odd_rows_and_prints_no_python(phone: Any) -> None:
    job = odd_job()
    driver = await phone(*changes(job))
    for view in ("upcoming", "done", "today"):
        driver.app.go("today", view=view)
        await driver.frames(2)
    [row] = [w for w in driver.walk() if w.__class__.__name__ == "TodayRow"]
    assert row.window == "Appointment time unreadable"
    assert row.sla == "SLA deadline unreadable"
    for name in SCREENS:
        driver.app.go(name, work_order_id=job["id"], visit_id="")
        await driver.frames(3)
        shown, labels = texts_and_labels(driver)
        for wrong in ("None", "{'", "nan", "NaN"):
            assert wrong not in shown, (name, wrong, shown[:500])
        tall = [(w.text[:40], w.texture_size) for w in labels if w.texture_size[1] > MAX_TEXTURE]
        assert not tall, (name, tall)


async def test_a_long_description_is_cut_with_a_mark_not_drawn_whole(phone: Any) -> None:
    job = odd_job()
    driver = await phone(*changes(job))
    driver.app.go("job", work_order_id=job["id"])
    await driver.frames(3)
    assert driver.screen.description.startswith("line 0\nline 1\n")
    assert "more characters not shown" in driver.screen.description


async def test_an_impossible_site_position_navigates_by_the_address(phone: Any) -> None:
    job = odd_job()
    driver = await phone(*changes(job))
    maps = driver.app.device.maps
    assert isinstance(maps, FakeMaps)
    driver.app.go("job", work_order_id=job["id"])
    await driver.frames(2)
    await driver.press("Navigate")
    [went] = maps.navigations
    assert (went.lat, went.lon, went.address) == (None, None, "1 Century Ave")


async def test_a_site_with_no_position_and_no_address_cannot_be_navigated_to(
    phone: Any,
) -> None:
    job = odd_job()
    site = {"id": SITE, "name": None, "address": "   ", "lat": "x", "lon": None}
    driver = await phone(*changes(job), put("site", site))
    driver.app.go("job", work_order_id=job["id"])
    await driver.frames(2)
    with pytest.raises(AssertionError, match="no button 'Navigate'"):
        driver.button("Navigate")


async def test_no_maps_app_is_said_in_the_users_language(phone: Any) -> None:
    class NoMapsApp(FakeMaps):
        def navigate(self, *, lat: float | None, lon: float | None, address: str) -> None:
            raise DeviceError("no maps app on this phone")

    job = odd_job()
    driver = await phone(*changes(job), device_parts={"maps": NoMapsApp()})
    driver.app.set_language("zh_CN")
    driver.app.go("job", work_order_id=job["id"])
    await driver.frames(2)
    await driver.press("Navigate")
    assert driver.app.root.toast == "无法打开地图应用"


async def test_a_phone_number_with_letters_is_shown_but_not_dialled(phone: Any) -> None:
    job = odd_job()
    driver = await phone(*changes(job))
    dialer = driver.app.device.dialer
    assert isinstance(dialer, FakeDialer)
    driver.app.go("job", work_order_id=job["id"])
    await driver.frames(2)
    call = next(w for w in driver.walk() if getattr(w, "text", "").startswith("Call"))
    assert call.disabled and "call-me-maybe" in call.text
    assert "This number cannot be dialled" in driver.texts()
    customer = {**ODD["customer"], "phone": "+86 (21) 5555-0100"}
    driver.app.store.apply_page(page(put("customer", customer)))
    driver.app.changed("pulled")
    await driver.frames(2)
    await driver.press("Call")
    assert dialer.calls == ["+862155550100"]


async def test_checklist_items_the_phone_cannot_answer_say_so(phone: Any) -> None:
    job = odd_job()
    driver = await phone(*changes(job))
    visit = driver.app.store.check_in(job["id"], None)
    driver.app.go("checklist", work_order_id=job["id"], visit_id=visit)
    await driver.frames(2)
    shown = driver.texts()
    assert "This item cannot be answered in this version of the app" in shown
    assert "No options to choose from" in shown
    before = len(driver.app.store.outbox())
    await driver.press("Save answers")
    assert len(driver.app.store.outbox()) == before  # nothing to send for either


@pytest.mark.parametrize(
    ("low", "high", "typed", "refused"),
    [
        (0, 40, "12.5", False),
        (0, 40, "41", True),
        (0, 40, "-1", True),
        (40, 0, "20", True),  # limits the wrong way round: nothing fits, the phone says so
        (None, None, "NaN", True),
        (None, None, "1e9", True),
        (None, None, "١٢", False),  # Arabic-Indic digits: 12
    ],
)
async def test_a_number_answer_is_checked_against_the_items_limits_on_the_phone(
    phone: Any, low: Any, high: Any, typed: str, refused: bool
) -> None:
    job = odd_job()
    template = {
        "id": TEMPLATE,
        "name": "Safety",
        "items": [item("03", "number", "Pressure", min_value=low, max_value=high, unit="bar")],
    }
    driver = await phone(*changes(job), put("checklist_template", template))
    visit = driver.app.store.check_in(job["id"], None)
    driver.app.go("checklist", work_order_id=job["id"], visit_id=visit)
    await driver.frames(2)
    box = next(w for w in driver.walk() if w.__class__.__name__ == "TextInput")
    await driver.type(box, typed)
    before = len(driver.app.store.outbox())
    await driver.press("Save answers")
    answers = driver.app.store.outbox()[before:]
    if refused:
        assert answers == [] and "Pressure" in driver.app.root.toast
    else:
        assert [a.args["value"] for a in answers] == [float(typed.translate(ARABIC))]


ARABIC = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
