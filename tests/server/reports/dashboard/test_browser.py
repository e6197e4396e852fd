"""The managers' dashboard in a real browser (Debian's Chromium, headless, desktop-sized)
against a real server process: log in, see the overview's cards and charts, click a
headline into the work orders behind it; in English and in Chinese. Screenshots for the
README (``make page-screenshots``).

The year of data is committed (the server is another process) in an organisation of its
own and left in the test database, as the customer pages' browser tests do."""

from __future__ import annotations

import re
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.browser import browser_for, fresh_limits, live_server, screenshot  # noqa: F401
from tests.fixtures.factories import PASSWORD, make_tenant
from tests.server.reports.dashboard.seed import ENGINEERS, seed

WIDTH = 1280
SUFFIX = {"en": "en", "zh_CN": "zh"}
WORDS = {
    "en": (
        "Log in to the dashboard",
        "Overview",
        "Work orders",
        "Work orders behind",
        "Quality and times",
    ),
    "zh_CN": ("登录管理看板", "总览", "工单数", "对应的工单", "服务质量与时效"),
}


def wait_for(driver: Any, element_id: str) -> None:
    """Until the page that a click or a submit replaced this one with is there."""
    WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_elements("id", element_id), driver.page_source[-2000:]
    )


async def _year(db: AsyncSession, lang: str) -> tuple[str, str]:
    """A tenant with a year of work (its admin reads in ``lang``); the admin's e-mail and
    the name of its first engineer."""
    t = await make_tenant(db, "Dashboard browser")
    t.org.timezone = "Asia/Shanghai"
    admin = t.users["admin"]
    admin.locale = lang
    await seed(db, t, lang=lang, count=700, days_back=540)
    await db.commit()
    return admin.email, ENGINEERS[lang][0]


def log_in(driver: Any, base: str, email: str) -> None:
    driver.set_window_size(WIDTH, 900)
    driver.get(f"{base}/dashboard")
    wait_for(driver, "email")  # sent to the login page
    assert "/dashboard/login?next=" in driver.current_url
    driver.find_element("id", "email").send_keys(email)
    driver.find_element("id", "password").send_keys(PASSWORD)
    driver.find_element("id", "login").click()
    wait_for(driver, "cards")


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_a_manager_logs_in_and_drills_from_a_headline_into_its_work_orders(
    committing_db: AsyncSession,
    live_server: str,  # noqa: F811
    browser_for: Any,  # noqa: F811
    lang: str,
) -> None:
    email, engineer = await _year(committing_db, lang)
    login_words, overview, work_orders, behind, quality = WORDS[lang]
    driver = browser_for(lang)
    driver.get(f"{live_server}/dashboard/login")
    assert login_words in driver.find_element("tag name", "body").text
    log_in(driver, live_server, email)

    assert overview in driver.find_element("tag name", "h1").text
    cards = driver.find_elements("css selector", "#cards a.kpi")
    assert len(cards) == 10
    card = driver.find_element("id", "card-work_orders")
    assert work_orders in card.text
    count = int(re.sub(r"\D", "", card.find_element("class name", "value").text))
    assert count > 0
    charts = driver.find_elements("css selector", "svg.chart")
    assert len(charts) >= 8
    # The charts are drawn: a line with its points, bars with their names.
    assert driver.find_elements("css selector", "svg.line path")
    assert driver.find_elements("css selector", "svg.bars rect")
    assert driver.execute_script("return document.querySelector('svg.line').getBBox().width") > 100
    screenshot(driver, f"dashboard-overview-{SUFFIX[lang]}", width=WIDTH)

    card.click()
    wait_for(driver, "work-orders")
    assert behind in driver.find_element("tag name", "h1").text
    rows = driver.find_elements("css selector", "tr.work-order")
    assert len(rows) == min(count, 50)
    assert re.match(r"WO-\d{6}", rows[0].text)
    if lang == "zh_CN":
        screenshot(driver, "dashboard-drilldown-zh", width=WIDTH)

    driver.find_element("id", "nav-engineers").click()
    wait_for(driver, "scorecards")
    assert engineer in driver.find_element("id", "scorecards").text
    if lang == "en":
        screenshot(driver, "dashboard-engineers-en", width=WIDTH)
        driver.find_element("id", "nav-faults").click()
        wait_for(driver, "nav-faults")
        assert "CH-350" in driver.find_element("tag name", "main").text
        screenshot(driver, "dashboard-faults-en", width=WIDTH)
        driver.find_element("id", "nav-backlog").click()
        wait_for(driver, "figures")
        screenshot(driver, "dashboard-backlog-en", width=WIDTH)

    # Quality and times: a row per month, the means against their medians.
    driver.find_element("id", "nav-quality").click()
    wait_for(driver, "quality-times")
    assert quality in driver.find_element("tag name", "h1").text
    months = driver.find_elements("css selector", "#quality-times tbody tr")
    assert len(months) == 13  # twelve months and the whole period
    assert len(driver.find_elements("css selector", "#quality-charts svg.line")) == 6
    if lang == "en":
        screenshot(driver, "dashboard-quality-en", width=WIDTH)
    sla = driver.find_element("css selector", '#quality-service td[data-metric="resolution_sla"] a')
    sla.click()
    wait_for(driver, "work-orders")
    assert behind in driver.find_element("tag name", "h1").text
    driver.find_element("id", "nav-parts").click()
    wait_for(driver, "parts-figures")
    assert len(driver.find_elements("css selector", "svg.chart")) == 3

    driver.find_element("id", "logout").click()
    wait_for(driver, "email")
    driver.get(f"{live_server}/dashboard")
    wait_for(driver, "email")  # logged out: the login page again
