"""The survey page in a real browser (Debian's Chromium, headless, phone-sized) against a
real server process: the customer taps a score on each scale, writes a comment, sends, and
the response is recorded; the screenshots in docs/screenshots/ come from here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.surveys.models import SurveyResponse
from tests.fixtures.browser import (  # noqa: F401
    browser_for,
    fresh_limits,
    live_server,
    screenshot,
)
from tests.fixtures.factories import make_tenant
from tests.fixtures.surveys import invite, make_template

CASES = {
    "en": ("Send my answers", "Thank you!", "How satisfied are you with our service?"),
    "zh_CN": ("提交评价", "谢谢!", "您对我们的服务满意吗?"),
}


def _tap(driver: Any, question: str, value: int) -> None:
    """Tap the scale's button (the label: the radio itself is hidden under it)."""
    radio = driver.find_element(By.CSS_SELECTOR, f'input[name="{question}"][value="{value}"]')
    radio.find_element(By.XPATH, "..").click()
    assert radio.is_selected()


def _whole_page(driver: Any) -> None:
    """A viewport as tall as the page, so the screenshot shows the send button too (a
    headless window does not grow past the screen's height)."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 412, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


@pytest.mark.parametrize("lang", sorted(CASES))
async def test_a_customer_answers_the_survey_in_a_browser(
    lang: str,
    live_server: str,  # noqa: F811
    browser_for: Callable[[str], Any],  # noqa: F811
    committing_db: AsyncSession,
) -> None:
    submit, thanks, question = CASES[lang]
    t = await make_tenant(committing_db, f"Browser survey {uuid.uuid4().hex[:6]}")
    await make_template(committing_db, t)
    got = await invite(committing_db, t)
    invitation_id = got.invitation.id
    await committing_db.commit()
    driver = browser_for(lang)
    driver.get(f"{live_server}/s/{got.token}")
    assert question in driver.page_source
    assert driver.execute_script("return document.scripts.length") == 0
    _tap(driver, "csat", 5)
    _tap(driver, "nps", 9)
    _tap(driver, "ces", 2)
    comment = "工程师很专业" if lang == "zh_CN" else "Fixed in one visit, thank you"
    driver.find_element(By.NAME, "comment").send_keys(comment)
    _whole_page(driver)
    screenshot(driver, f"customer-survey-{lang}")
    driver.find_element(By.XPATH, f'//button[normalize-space()="{submit}"]').click()
    # The old page's heading goes stale when the answer page replaces it: wait through that.
    WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: thanks in d.find_element(By.TAG_NAME, "h1").text, driver.page_source
    )
    row = await committing_db.scalar(
        select(SurveyResponse).where(SurveyResponse.invitation_id == invitation_id)
    )
    assert row is not None
    assert (row.csat, row.nps, row.ces, row.comment) == (5, 9, 2, comment)
    assert row.language == lang
