"""What a careless (or hostile) engineer types, through the real screens: an enormous note,
quantities no one means ("1e9", "NaN"), digits of another script, clock times that are not
times, a signer's name of spaces. Each is refused on the phone with a message in the
engineer's language and nothing is queued for it (the server would refuse it later, in
English, in the "needs attention" list), or it is understood as the engineer meant it;
nothing typed is lost to a refusal."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from kivy.core.window import Window

from mobile.ui.widgets import Ask
from tests.mobile.app.hostile import ME, NOW, SHANGHAI
from tests.mobile.helpers import put, work_order

PART = "0193a000-0000-7000-8000-0000000000b1"
SERIAL = "0193a000-0000-7000-8000-0000000000b2"


def job(**fields: Any) -> dict[str, Any]:
    return work_order(**{"assignee_id": ME, "status": "on_site", **fields})


def parts() -> list[Any]:
    return [
        put("part", {"id": PART, "name": "Drive belt", "sku": "BLT-010"}),
        put("part", {"id": SERIAL, "name": "Compressor", "sku": "CMP-1", "serialised": True}),
        put("stock_balance", {"id": PART, "part_id": PART, "on_hand": "4"}),
    ]


async def on_site(phone: Any, *changes: Any) -> tuple[Any, str, str]:
    row = job()
    driver = await phone(put("work_order", row), *changes)
    visit = driver.app.store.check_in(row["id"], None)
    driver.app.go("job", work_order_id=row["id"])
    await driver.frames(2)
    return driver, str(row["id"]), visit


def the_ask() -> Ask:
    [ask] = [w for w in Window.children if isinstance(w, Ask)]
    return ask


async def answer(driver: Any, text: str) -> Ask:
    ask = the_ask()
    await driver.type(ask.ids.answer, text)
    await driver.tap(driver.button("OK", ask))
    return ask


def is_open(ask: Ask) -> bool:
    return bool(ask._is_open)


async def closes(driver: Any, ask: Ask) -> bool:
    """Whether the dialog goes away (it fades out for 0.1 s first)."""
    for _round in range(100):
        if not is_open(ask):
            return True
        await driver.frames(1)
        await asyncio.sleep(0.01)
    return False


def queued(driver: Any, name: str) -> list[Any]:
    return [e for e in driver.app.store.outbox() if e.name == name]


async def test_a_note_too_long_to_send_is_refused_in_the_dialog_and_kept(phone: Any) -> None:
    driver, _, _ = await on_site(phone)
    driver.app.set_language("zh_CN")
    await driver.frames(2)
    await driver.press("Add note")
    huge = "注" * 100_000
    ask = await answer(driver, huge)
    assert queued(driver, "note.add") == []
    assert is_open(ask) and ask.ids.answer.text == huge  # still open, nothing lost
    assert "10,000" in ask.error and "100,000" in ask.error and "最多" in ask.error
    await answer(driver, "注" * 10_000)
    assert await closes(driver, ask) and len(queued(driver, "note.add")) == 1


@pytest.mark.parametrize("button", ["Hold", "Decline"])
async def test_a_reason_too_long_is_refused_in_the_dialog(phone: Any, button: str) -> None:
    row = job(status="assigned" if button == "Decline" else "on_site")
    driver = await phone(put("work_order", row))
    if button == "Hold":
        driver.app.store.check_in(row["id"], None)
    driver.app.go("job", work_order_id=row["id"])
    await driver.frames(2)
    await driver.press(button)
    ask = the_ask()
    if ask.choices:
        ask.choice = ask.choices[0][0]
    await answer(driver, "x" * 2001)
    assert is_open(ask) and "2,000" in ask.error
    assert driver.app.store.pending_count() == (1 if button == "Hold" else 0)  # the check-in


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("2", "2"),
        ("1.5", "1.5"),
        ("1,5", "1.5"),  # a decimal comma
        ("١٢", "12"),  # Arabic-Indic digits
        ("２", "2"),  # full-width, from a Chinese keyboard
        ("1e9", None),
        ("-1", None),
        ("0", None),
        ("0.0001", None),  # the server keeps 3 decimals: it would refuse it later
        ("NaN", None),
        ("Infinity", None),
        ("1000000001", None),
        ("", None),
    ],
)
async def test_a_quantity_is_understood_as_meant_or_refused_on_the_phone(
    phone: Any, typed: str, recorded: str | None
) -> None:
    driver, _, _ = await on_site(phone, *parts())
    await driver.press("Parts")
    driver.screen.pick(PART)
    await driver.frames(2)
    await driver.type(driver.screen.ids.quantity, typed)
    await driver.press("Use part")
    used = [e.args["quantity"] for e in queued(driver, "part.use")]
    if recorded is None:
        assert used == [] and driver.screen.error
    else:
        assert used == [recorded], driver.screen.error


async def test_the_quantity_field_takes_digits_of_any_script_as_typed(phone: Any) -> None:
    driver, _, _ = await on_site(phone, *parts())
    await driver.press("Parts")
    driver.screen.pick(PART)
    field = driver.screen.ids.quantity
    field.text = ""
    field.insert_text("١٢")  # a keyboard typing Arabic-Indic digits
    assert field.text == "12"
    field.text = ""
    field.insert_text("1e9x")
    assert field.text == "19"


async def test_serial_numbers_must_match_a_whole_quantity(phone: Any) -> None:
    driver, _, _ = await on_site(phone, *parts())
    await driver.press("Parts")
    driver.screen.search("Compressor")
    driver.screen.pick(SERIAL)
    await driver.type(driver.screen.ids.quantity, "1.5")
    await driver.type(driver.screen.ids.serials, "S1\nS2")
    await driver.press("Use part")
    assert queued(driver, "part.use") == [] and "serial" in driver.screen.error


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("24:00", "25:00", "HH:MM"),
        ("9:5", "10:00", "HH:MM"),
        ("", "10:00", "HH:MM"),
        ("10:00", "09:00", "after the start"),
        ("10:00", "10:00", "after the start"),
    ],
)
async def test_labour_times_that_are_not_a_span_are_refused(
    phone: Any, start: str, end: str, problem: str
) -> None:
    driver, _, _ = await on_site(phone)
    await driver.press("Labour")
    await driver.type(driver.screen.ids.start, start)
    await driver.type(driver.screen.ids.end, end)
    await driver.press("Add entry")
    assert queued(driver, "labour.add") == [] and problem in driver.screen.error


async def test_labour_times_typed_on_any_keyboard_are_read(phone: Any) -> None:
    driver, _, _ = await on_site(phone)
    await driver.press("Labour")
    await driver.type(driver.screen.ids.start, "９：００")  # full-width, a Chinese keyboard
    await driver.type(driver.screen.ids.end, "٠٩:٣٠")  # Arabic-Indic digits
    await driver.press("Add entry")
    [entry] = queued(driver, "labour.add")
    local = dt.datetime.fromisoformat(entry.args["started_at"]).astimezone(SHANGHAI)
    assert (local.date(), local.hour, local.minute) == (NOW.astimezone(SHANGHAI).date(), 9, 0)
    # The fields are cleared: a second tap does not record the same time twice.
    assert driver.screen.ids.start.text == driver.screen.ids.end.text == ""
    await driver.press("Add entry")
    assert len(queued(driver, "labour.add")) == 1


async def test_correcting_yesterdays_entry_keeps_its_day_and_takes_the_new_kind(
    phone: Any,
) -> None:
    driver, wid, visit = await on_site(phone)
    yesterday = NOW - dt.timedelta(days=1)
    entry = driver.app.store.add_labour(
        wid,
        kind="work",
        started_at=(yesterday - dt.timedelta(hours=2)).isoformat(),
        ended_at=yesterday.isoformat(),
        visit_id=visit,
    )
    await driver.press("Labour")
    driver.screen.correct(entry)
    await driver.frames(1)
    driver.screen.kind = "travel"
    await driver.type(driver.screen.ids.end, "09:00")
    await driver.press("Save correction")
    await answer(driver, "forgot the drive back")
    [fixed] = queued(driver, "labour.adjust")
    start = dt.datetime.fromisoformat(fixed.args["started_at"]).astimezone(SHANGHAI)
    end = dt.datetime.fromisoformat(fixed.args["ended_at"]).astimezone(SHANGHAI)
    assert start.date() == end.date() == yesterday.astimezone(SHANGHAI).date()
    assert (end.hour, end.minute) == (9, 0) and fixed.args["kind"] == "travel"


@pytest.mark.parametrize(
    ("name", "problem"),
    [("   ", "signer's name"), ("N" * 201, "200"), ("\u200b\u200b", "signer's name")],
)
async def test_a_signer_name_that_is_blank_or_too_long_is_refused(
    phone: Any, name: str, problem: str
) -> None:
    driver, _, _ = await on_site(phone)
    await driver.press("Customer signature")
    pad = driver.screen.ids.pad
    await driver.draw(pad, [(0.1, 0.5), (0.5, 0.6), (0.9, 0.5)])
    await driver.type(driver.screen.ids.signer, name)
    await driver.press("Save")
    assert queued(driver, "signature.capture") == [] and problem in driver.screen.error


async def test_a_single_dot_is_not_a_signature(phone: Any) -> None:
    driver, _, _ = await on_site(phone)
    await driver.press("Customer signature")
    pad = driver.screen.ids.pad
    x, y = pad.to_window(*pad.center)
    await driver.touch(x, y)
    await driver.type(driver.screen.ids.signer, "Wang")
    await driver.press("Save")
    assert queued(driver, "signature.capture") == [] and "sign" in driver.screen.error


@pytest.mark.parametrize(
    ("field", "text", "problem"),
    [("summary", "s" * 5001, "5,000"), ("fault_code", "F" * 41, "40"), ("summary", " ", "summary")],
)
async def test_resolve_texts_too_long_are_refused_on_the_phone(
    phone: Any, field: str, text: str, problem: str
) -> None:
    driver, wid, _ = await on_site(phone)
    await driver.press("Resolve")
    driver.screen.code = "FIXED"
    await driver.type(driver.screen.ids.summary, "Replaced the belt")
    await driver.type(driver.screen.ids[field], text)
    await driver.press("Resolve")
    assert queued(driver, "work_order.resolve") == []
    assert problem in driver.screen.error
    assert driver.app.store.get("work_order", wid)["status"] == "on_site"
