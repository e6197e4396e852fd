"""Every main screen drawn in English and in Chinese (login, today in the plan's order with
its ETAs and the banner of new jobs in the pool, the claim pool, job, checklist, parts,
signature, sync status with the new work needing attention).
``make mobile-screenshots`` writes them to docs/screenshots/; the suite writes them to a
temporary folder and checks each is a real picture of the screen in the right language."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant
from tests.mobile.app.data import checklist, jobs_for, pool_jobs, reserve, stock_van
from tests.mobile.app.test_job_flow import log_in, open_job

SCREENS = ("login", "today", "pool", "job", "checklist", "parts", "signature", "sync")


def _folder(tmp_path: Path) -> Path:
    return Path(os.environ.get("FIXFLOW_SCREENSHOTS") or tmp_path)


SCENE = {
    "en": {
        "customer": ("Lujiazui Tower Management", "Mary Chen", "+86 21 5555 0100"),
        "site": (
            "Tower B, 1 Century Avenue, Pudong",
            "Loading bay on Yincheng Rd; ask security for the plant-room key",
        ),
        "ticket": (
            "Chiller CH-200 trips on high pressure",
            "Unit trips every afternoon since Monday; alarm code E27.",
        ),
        "more": [
            ("Annual maintenance, cooling tower 2", "P3", 3),
            ("Lift 4 door sensor fault", "P1", 0),
            ("Replace air handler filters, floors 10-12", "P4", 5),
        ],
        "pool": [
            ("Cold room alarm, Jing'an store", "P1", 31.2286, 121.4452),
            ("Boiler pressure low, Xuhui campus", "P2", 31.1880, 121.4365),
            ("Quarterly AHU inspection, Hongqiao", "P3", 31.1979, 121.3364),
        ],
    },
    "zh_CN": {
        "customer": ("陆家嘴大厦物业", "王小明", "+86 21 5555 0100"),
        "site": ("上海市浦东新区世纪大道1号 B座", "从银城路装卸区进入，向保安领取机房钥匙"),
        "ticket": ("CH-200 冷水机组高压跳闸", "自周一起每天下午跳闸，报警代码 E27。"),
        "more": [
            ("2号冷却塔年度保养", "P3", 3),
            ("4号电梯门传感器故障", "P1", 0),
            ("更换10-12层空调箱过滤网", "P4", 5),
        ],
        "pool": [
            ("静安门店冷库报警", "P1", 31.2286, 121.4452),
            ("徐汇校区锅炉压力低", "P2", 31.1880, 121.4365),
            ("虹桥空调箱季度巡检", "P3", 31.1979, 121.3364),
        ],
    },
}


async def _scene(db: AsyncSession, tenant: Tenant, ticket: Ticket, language: str) -> None:
    """Realistic names, contacts and notes in the screenshot's language."""
    scene = SCENE[language]
    assert tenant.customer and tenant.site and tenant.asset
    tenant.customer.name, tenant.customer.contact_name, tenant.customer.phone = scene["customer"]
    tenant.site.address, tenant.site.access_notes = scene["site"]
    tenant.site.lat, tenant.site.lon = 31.2397, 121.4998
    tenant.asset.product_model, tenant.asset.warranty_end = "CH-200", dt.date(2027, 6, 30)
    ticket.title, ticket.description = scene["ticket"]
    ticket.fault_code = "E27"
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    ticket.window_start, ticket.window_end = (
        now + dt.timedelta(hours=1),
        now + dt.timedelta(hours=3),
    )
    ticket.response_due_at = now + dt.timedelta(hours=1, minutes=40)
    ticket.resolution_due_at = now + dt.timedelta(hours=6)
    ticket.priority = "P2"
    others = await jobs_for(db, tenant, len(scene["more"]))
    for other, (title, priority, hours) in zip(others, scene["more"], strict=True):
        other.title, other.priority = title, priority
        other.window_start = now + dt.timedelta(hours=hours)
        other.window_end = now + dt.timedelta(hours=hours + 2)
        other.resolution_due_at = now + dt.timedelta(hours=hours * 3 - 2)
    # Today's plan: the lift first, then the chiller, then the rest; each with its ETA.
    lift, tower, filters = others[1], others[0], others[2]
    for position, (job, minutes) in enumerate(
        ((lift, 20), (ticket, 75), (tower, 190), (filters, 310)), start=1
    ):
        job.plan_position, job.planned_start = position, now + dt.timedelta(minutes=minutes)
    await db.flush()


async def _new_pool_jobs(db: AsyncSession, tenant: Tenant, language: str) -> None:
    """Jobs put up for claiming after the phone's first sync: new work on Today's banner."""
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    pool = await pool_jobs(db, tenant, SCENE[language]["pool"])
    for n, job in enumerate(pool):
        job.window_start = now + dt.timedelta(hours=2 + 2 * n)
        job.window_end = now + dt.timedelta(hours=4 + 2 * n)
        job.resolution_due_at = now + dt.timedelta(hours=5 + 8 * n)
        job.estimated_minutes = 60 + 30 * n
        job.required_skills = [["hvac:2"], ["hvac"], ["hvac:3"]][n]  # the engineer's: hvac 3
    await db.flush()


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
    stock = await stock_van(db, tenant)
    await reserve(db, tenant, ticket, stock["fan"], stock["van"])
    await checklist(db, tenant, language)
    await _scene(db, tenant, ticket, language)
    folder = _folder(tmp_path)
    phone = await ui(tz=ZoneInfo("Asia/Shanghai"))
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
    await _new_pool_jobs(db, tenant, language)
    await phone.app.session.sync_now()
    await phone.settle()
    assert phone.screen.news  # the new-work banner
    await shot("today")
    phone.app.go("pool")
    await phone.settle()
    await shot("pool")
    phone.app.go("today")
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
