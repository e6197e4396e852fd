"""The claim pool through the real screens, against the real API: from Today to the pool,
a job's preview, the big Claim button; a claim won puts the job on Today, one lost says
plainly that another engineer took it (never who) and the job leaves the pool; offline the
claim is refused at once and nothing is queued. And Today in the plan's order with its ETA."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from kivy.metrics import dp
from sqlalchemy.ext.asyncio import AsyncSession

from mobile.i18n import _
from mobile.ui import theme
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant
from tests.mobile.app.data import jobs_for, pool_jobs
from tests.mobile.app.network import offline, online
from tests.mobile.app.test_job_flow import log_in

SHANGHAI_TZ = ZoneInfo("Asia/Shanghai")


async def _pool_on_phone(ui: Callable[..., Any], tenant: Tenant, db: AsyncSession) -> Any:
    await pool_jobs(
        db,
        tenant,
        [("Chiller leaks water", "P1", 31.2397, 121.4998), ("Filter change", "P3", 31.3, 121.6)],
    )
    phone = await ui()
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    await phone.settle()
    return phone


async def _open_pool(phone: Any) -> list[Any]:
    await phone.press("Pool")
    assert phone.app.screens.current == "pool"
    await phone.settle()
    await phone.frames(3)
    return [w for w in phone.walk() if w.__class__.__name__ == "PoolRow"]


async def _preview(phone: Any, title: str) -> None:
    rows = [w for w in await _open_pool(phone) if w.title == title]
    assert rows, [w.title for w in phone.walk() if hasattr(w, "skills")]
    await phone.tap(rows[0])
    assert phone.app.screens.current == "claim"


def _claim_button(phone: Any) -> Any:
    button = phone.button("Claim this job")
    assert button.height >= dp(theme.MIN_TOUCH_DP)
    return button


async def test_the_pool_lists_open_jobs_most_urgent_first_with_distance(
    ui: Callable[..., Any], tenant: Tenant, db: AsyncSession
) -> None:
    phone = await _pool_on_phone(ui, tenant, db)
    assert phone.button("Pool").text == f"{_('Pool')} 2"
    rows = await _open_pool(phone)
    assert [r.title for r in sorted(rows, key=lambda r: -r.y)] == [
        "Chiller leaks water",
        "Filter change",
    ]
    first = next(r for r in rows if r.priority == "P1")
    assert first.number.startswith("WO-") and first.customer == tenant.customer.name  # type: ignore[union-attr]
    assert first.distance.endswith("km") and first.window


async def test_a_claim_won_puts_the_job_on_today(
    ui: Callable[..., Any], tenant: Tenant, db: AsyncSession, faults: Any
) -> None:
    phone = await _pool_on_phone(ui, tenant, db)
    await _preview(phone, "Chiller leaks water")
    number = phone.screen.number
    await phone.tap(_claim_button(phone))
    assert number in phone.app.root.toast and "yours" in phone.app.root.toast
    assert phone.app.screens.current == "job"
    assert len(faults.sent("POST", "/claim")) == 1
    phone.app.go("today")
    await phone.frames(3)
    assert [w for w in phone.walk() if getattr(w, "number", None) == number]
    assert phone.app.store.pending_count() == 0
    assert [r["title"] for r in phone.app.store.claimables()] == ["Filter change"]


async def test_a_claim_lost_says_another_engineer_took_it_and_the_job_leaves_the_pool(
    ui: Callable[..., Any], tenant: Tenant, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    phone = await _pool_on_phone(ui, tenant, db)
    await _preview(phone, "Chiller leaks water")
    number, wid = phone.screen.number, phone.screen.work_order_id
    first = await client.post(
        f"/api/v1/tickets/{wid}/claim",
        headers={**tenant.headers("engineer2"), "Idempotency-Key": "colleague-1"},
    )
    assert first.status_code < 300, first.text

    await phone.tap(_claim_button(phone))
    told = phone.app.root.toast
    assert told == _("Another engineer took {number}").format(number=number)
    colleague = tenant.engineers[1]
    assert colleague.display_name not in told and str(colleague.id) not in told
    assert phone.app.screens.current == "pool"
    assert phone.app.store.get("claimable", wid) is None
    assert phone.app.store.get("work_order", wid) is None


async def test_a_double_tap_on_claim_is_one_claim(
    ui: Callable[..., Any], tenant: Tenant, db: AsyncSession, faults: Any
) -> None:
    phone = await _pool_on_phone(ui, tenant, db)
    await _preview(phone, "Filter change")
    await phone.double_tap(_claim_button(phone))
    assert len(faults.sent("POST", "/claim")) == 1


async def test_a_job_that_leaves_the_pool_while_shown_cannot_be_claimed(
    ui: Callable[..., Any], tenant: Tenant, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    phone = await _pool_on_phone(ui, tenant, db)
    await _preview(phone, "Filter change")
    wid = phone.screen.work_order_id
    taken = await client.post(
        f"/api/v1/tickets/{wid}/claim",
        headers={**tenant.headers("engineer2"), "Idempotency-Key": "colleague-2"},
    )
    assert taken.status_code < 300, taken.text
    await phone.app.session.sync_now()
    await phone.settle()
    assert phone.app.screens.current == "claim"
    assert _("This job has left the pool") in phone.texts()
    claim = [w for w in phone.walk() if getattr(w, "text", "") == _("Claim this job")]
    assert claim and claim[0].disabled


async def test_offline_a_claim_is_refused_at_once_and_nothing_is_queued(
    ui: Callable[..., Any], tenant: Tenant, db: AsyncSession, faults: Any
) -> None:
    phone = await _pool_on_phone(ui, tenant, db)
    await _preview(phone, "Filter change")
    wid = phone.screen.work_order_id
    offline(faults)
    await phone.tap(_claim_button(phone))
    assert phone.app.root.toast == _("Claiming needs a connection")
    assert phone.app.screens.current == "claim"
    assert phone.app.store.pending_count() == 0
    assert phone.app.store.get("claimable", wid) is not None  # still claimable
    online(faults)


async def test_today_follows_the_plan_and_shows_its_eta(
    ui: Callable[..., Any], tenant: Tenant, ticket: Ticket, db: AsyncSession
) -> None:
    # Six in the morning of the phone's day: every time below stays on that day (late in
    # the evening, "now" plus two and a half hours would fall on tomorrow, off the list).
    today = dt.datetime.now(SHANGHAI_TZ).date()
    now = dt.datetime.combine(today, dt.time(6), SHANGHAI_TZ).astimezone(dt.UTC)
    later, sooner = await jobs_for(db, tenant, 2)
    # The windows say one order, the plan another: the plan wins.
    for position, job in enumerate((ticket, later, sooner)):
        job.window_start = now + dt.timedelta(minutes=30 * position)
    plan = {ticket: (3, 150), later: (1, 30), sooner: (2, 90)}
    for job, (position, minutes) in plan.items():
        job.plan_position, job.planned_start = position, now + dt.timedelta(minutes=minutes)
    await db.flush()
    phone = await ui(tz=SHANGHAI_TZ)
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    await phone.settle()
    await phone.until(
        lambda: len([w for w in phone.walk() if w.__class__.__name__ == "TodayRow"]) >= 3
    )
    rows = sorted(
        (w for w in phone.walk() if w.__class__.__name__ == "TodayRow"), key=lambda w: -w.y
    )
    numbers = [phone.app.store.get("work_order", str(j.id))["number"] for j in (later, sooner)]
    assert [r.number for r in rows][:2] == numbers
    first_eta = (now + dt.timedelta(minutes=30)).astimezone(SHANGHAI_TZ)
    assert rows[0].eta.startswith("ETA ") and rows[0].eta.endswith(f"{first_eta:%H:%M}")
    assert any(rows[0].eta in t for t in phone.texts(rows[0]))  # drawn on the row
