"""Every main screen drawn in English and in Chinese (login, today, job, checklist, parts,
signature, sync status). ``make mobile-screenshots`` writes them to docs/screenshots/;
the suite writes them to a temporary folder and checks each is a real picture of the
screen in the right language."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant
from tests.mobile.app.data import checklist, stock_van
from tests.mobile.app.test_job_flow import log_in, open_job

SCREENS = ("login", "today", "job", "checklist", "parts", "signature", "sync")


def _folder(tmp_path: Path) -> Path:
    return Path(os.environ.get("FIXFLOW_SCREENSHOTS") or tmp_path)


def _has_cjk(texts: list[str]) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for text in texts for ch in text)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_every_main_screen_is_drawn_in_both_languages(
    language: str,
    ui: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    db: AsyncSession,
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    await stock_van(db, tenant)
    await checklist(db, tenant)
    folder = _folder(tmp_path)
    phone = await ui()
    phone.app.set_language(language)
    await phone.frames(2)
    shots: dict[str, Path] = {}

    async def shot(name: str) -> None:
        await phone.frames(3)
        if language != "en":
            assert _has_cjk(phone.texts()), f"{name} shows no Chinese: {phone.texts()[:8]}"
        shots[name] = phone.screenshot(folder / f"mobile-{name}-{language}.png")

    phone.screen.server = "https://fixflow.example.com"
    phone.screen.email = tenant.users["engineer1"].email
    await shot("login")
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    await phone.settle()
    await shot("today")
    wid = str(ticket.id)
    await open_job(phone, str(phone.app.store.get("work_order", wid)["number"]))
    phone.app.work.accept(wid)
    phone.app.work.start_travel(wid)
    await phone.app.work.check_in(wid)
    phone.app.changed("test")
    await shot("job")
    visit = str(phone.app.store.children("visit", wid)[0]["id"])
    phone.app.go("checklist", work_order_id=wid, visit_id=visit)
    await shot("checklist")
    phone.app.go("parts", work_order_id=wid, visit_id=visit)
    await phone.type(phone.screen.ids.search, "fan")
    phone.screen.search("fan")
    phone.screen.pick(next(iter(phone.screen._found)))
    await shot("parts")
    phone.app.go("signature", work_order_id=wid, visit_id=visit)
    await phone.frames(2)
    await phone.draw(
        phone.screen.ids.pad,
        [(0.1, 0.4), (0.2, 0.7), (0.35, 0.3), (0.5, 0.65), (0.62, 0.35), (0.8, 0.6)],
    )
    phone.screen.ids.signer.text = "王小明" if language != "en" else "Mary Chen"
    await shot("signature")
    phone.app.go("sync")
    await shot("sync")

    assert set(shots) == set(SCREENS)
    for name, path in shots.items():
        image = Image.open(path).convert("L")
        low, high = image.getextrema()
        assert high - low > 100, f"{name} is blank"
        assert image.width >= 400 and image.height >= 800
