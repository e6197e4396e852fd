"""The customer pages in a real browser (Debian's Chromium, headless, phone-sized) against a
real server process: the QR form opens a work order, the status page shows the engineer's
ETA and nothing internal. Screenshots for the README in both languages.

The data is committed (the server is another process) in an organisation of its own with
unique names, and left in the test database (every other test makes its own tenant)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import dispatch
from server.field import TicketNote
from server.portal import links as portal_links
from server.tickets import Ticket
from shared.ids import uuid7
from shared.lifecycle import Action
from tests.fixtures.browser import screenshot
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.portal.helpers import move, png_bytes, token_of

ZONE = "Asia/Shanghai"
SECRET = "INTERNAL-NOTE-7f3a compressor swapped under warranty, cost 4800"
TITLES = {"en": "Chiller trips on high pressure (E31)", "zh_CN": "冷水机组高压跳闸 (E31)"}
ENGINEERS = {"en": ("Wei Zhang", "Wei"), "zh_CN": ("张伟", "张师傅")}


async def _travelling(db: AsyncSession, lang: str) -> tuple[Ticket, str, str]:
    """A work order whose engineer is on the way, an internal note on it; its status token
    and the ETA the page must show (HH:MM in the organisation's zone)."""
    t = await make_tenant(db, "Portal browser")
    t.org.timezone = ZONE
    engineer = t.engineers[0]
    engineer.display_name = ENGINEERS[lang][0]
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    ticket = await make_ticket(
        db,
        t.actor("dispatcher"),
        t.customer,
        t.site,
        t.asset,
        assign_to=engineer,
        title=TITLES[lang],
        window_start=start,
        window_end=start + dt.timedelta(hours=3),
    )
    db.add(
        TicketNote(
            id=uuid7(),
            org_id=t.org.id,
            ticket_id=ticket.id,
            text=SECRET,
            author="user:dispatcher@example.com",
            received_at=dt.datetime.now(dt.UTC),
        )
    )
    await move(db, t.actor("engineer1"), ticket, Action.ACCEPT, Action.START_TRAVEL)
    eta = await dispatch.eta(db, ticket)
    assert eta is not None and eta.basis == "travel"
    issued = await portal_links.status_link_for(db, ticket)
    await db.commit()
    return ticket, token_of(issued.url), eta.at.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_status_page_shows_the_eta_and_nothing_internal(
    committing_db: AsyncSession, live_server: str, browser_for: Any, lang: str
) -> None:
    _, token, eta = await _travelling(committing_db, lang)
    driver = browser_for(lang)
    driver.get(f"{live_server}/t/{token}")
    text = driver.find_element("tag name", "body").text
    about = f"about {eta}" if lang == "en" else f"约 {eta}"
    assert about in driver.find_element("id", "eta").text, text
    assert ENGINEERS[lang][1] in driver.find_element("id", "engineer").text
    assert TITLES[lang] in text
    source = driver.page_source
    for secret in (SECRET, "INTERNAL-NOTE", "dispatcher@example.com", "31.2", "121.5", "4800"):
        assert secret not in source
    if lang == "en":
        assert "Zhang" not in source  # the first name only
    screenshot(driver, f"customer-status-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_the_qr_form_opens_a_work_order(
    committing_db: AsyncSession, live_server: str, browser_for: Any, lang: str, tmp_path: Path
) -> None:
    t = await make_tenant(committing_db, "Portal QR")
    assert t.asset is not None
    t.asset.name = "Chiller 2" if lang == "en" else "2 号冷水机组"
    issued = await portal_links.qr_link_for(committing_db, t.asset)
    asset_id = t.asset.id
    await committing_db.commit()
    photo = tmp_path / "leak.png"
    photo.write_bytes(png_bytes("navy", (64, 48)))

    driver = browser_for(lang)
    driver.get(f"{live_server}/q/{token_of(issued.url)}")
    what = "Water leaking under the unit" if lang == "en" else "机组下方漏水"
    driver.find_element("id", "what").send_keys(what)
    driver.find_element("id", "name").send_keys("Li Na" if lang == "en" else "李娜")
    driver.find_element("id", "phone").send_keys("+86 138 0013 8000")
    driver.find_element("css selector", "#preferred option[value=morning]").click()
    driver.find_element("id", "photos").send_keys(str(photo))
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, f"customer-qr-{lang}")
    driver.find_element("css selector", "button[type=submit]").click()

    # The thank-you page replaces the form: wait for it (longer on a busy machine).
    WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_elements("id", "created"), driver.page_source
    )
    thanks = driver.find_element("id", "created").text
    committing_db.expire_all()
    ticket = await committing_db.scalar(select(Ticket).where(Ticket.asset_id == asset_id))
    assert ticket is not None and ticket.channel == "qr" and ticket.title == what
    assert f"WO-{ticket.number:06d}" in thanks
    screenshot(driver, f"customer-thanks-{lang}")
    driver.find_element("id", "status-link").click()
    assert what in driver.find_element("tag name", "h1").text
