"""Languages the phone may report or the store may hold, and a switch of language in the
middle of a job: the app always opens (in English when it cannot tell), and every text the
screens set from Python is said again in the new language."""

from __future__ import annotations

from typing import Any

import pytest

from mobile import i18n
from mobile.device.fakes import fixed_locale
from tests.mobile.app.hostile import ME
from tests.mobile.helpers import put, work_order


@pytest.fixture(autouse=True)
def english_afterwards() -> Any:
    yield
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("tag", "language"),
    [("zh-Hant-TW", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"), ("", "en"), ("C", "en"), ("POSIX", "en")],
)
async def test_the_phones_locale_picks_a_language_the_app_has(
    phone: Any, tag: str, language: str
) -> None:
    driver = await phone(device_parts={"locale": fixed_locale(tag)}, language=None)
    assert i18n.current_language() == language
    assert driver.app.store.get_meta("language") == language


@pytest.mark.parametrize(("kept", "language"), [("zh-CN", "zh_CN"), ("klingon", "en"), ("", "en")])
async def test_a_language_the_store_holds_that_is_no_catalogue_still_opens_the_app(
    phone: Any, kept: str, language: str
) -> None:
    driver = await phone(language=kept)
    assert driver.app.screens.current == "today"
    assert i18n.current_language() == language


async def test_switching_language_mid_job_redraws_what_python_wrote(phone: Any) -> None:
    row = work_order(assignee_id=ME, status="accepted")
    driver = await phone(put("work_order", row))
    driver.app.go("job", work_order_id=row["id"])
    await driver.frames(2)
    await driver.press("Check in")
    assert driver.screen.gps_state.startswith("Checked in at")
    driver.app.go("settings")
    await driver.frames(2)
    await driver.press("中文")
    await driver.press("Back")
    assert driver.app.screens.current == "job"
    assert driver.screen.status_text == "在现场"
    assert driver.screen.gps_state.startswith("已签到"), driver.screen.gps_state
    english = [t for t in driver.texts() if t in ("Check out", "Add note", "Take photo")]
    assert english == []
