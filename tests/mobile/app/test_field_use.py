"""Built for the field: every touch target at least 48 dp on every screen, pull down to
sync, the back key, and another engineer refused while the queue is not empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget
from sqlalchemy.ext.asyncio import AsyncSession

from mobile.store import Store
from mobile.ui.app import SCREENS
from mobile.ui.theme import MIN_TOUCH_DP
from server.tickets.models import Ticket
from shared.ids import uuid7
from tests.fixtures.factories import PASSWORD, Tenant
from tests.mobile.app.data import checklist, stock_van
from tests.mobile.app.network import offline
from tests.mobile.app.test_job_flow import log_in, open_job
from tests.mobile.helpers import page, put, work_order


def _targets(phone: Any) -> list[Widget]:
    return [
        w
        for w in phone.walk()
        if isinstance(w, ButtonBehavior | TextInput)
        and w.opacity > 0
        and w.height > 0
        and w.get_root_window() is not None
    ]


async def test_every_touch_target_on_every_screen_is_at_least_48_dp(
    ui: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    db: AsyncSession,
    client: httpx.AsyncClient,
) -> None:
    await stock_van(db, tenant)
    await checklist(db, tenant)
    phone = await ui()
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    wid = str(ticket.id)
    phone.app.work.accept(wid)
    phone.app.work.start_travel(wid)
    visit, _fix = await phone.app.work.check_in(wid)
    small = []
    for name in SCREENS:
        phone.app.go(name, work_order_id=wid, visit_id=visit)
        if name == "parts":
            phone.screen.search("")
            phone.screen.pick(next(iter(phone.screen._found)))
        await phone.frames(3)
        targets = _targets(phone)
        assert targets, f"nothing to tap on {name}?"
        small += [
            f"{name}: {type(w).__name__} {getattr(w, 'text', '')!r} {w.height:.0f}px"
            for w in targets
            if w.height < dp(MIN_TOUCH_DP) - 0.5
        ]
    assert not small, small


async def test_pulling_the_list_down_syncs(
    ui: Callable[..., Any], tenant: Tenant, ticket: Ticket, client: httpx.AsyncClient
) -> None:
    phone = await ui()
    await log_in(phone, tenant)
    assert phone.app.store.get("work_order", str(ticket.id)) is None  # not synced yet
    jobs = phone.screen.ids.jobs
    x, top = jobs.to_window(jobs.center_x, jobs.top - 20)
    await phone.drag(x, top, 0, -dp(30))  # a small move is a scroll, not a pull
    await phone.settle()
    assert phone.app.store.get("work_order", str(ticket.id)) is None
    await phone.drag(x, top, 0, -dp(160))
    await phone.settle()
    assert phone.app.store.get("work_order", str(ticket.id)) is not None
    assert phone.app.screens.current == "today"  # a pull is not a tap on a row
    assert [r.number for r in phone.walk() if type(r).__name__ == "TodayRow"]


async def test_the_back_key_goes_back_and_another_engineer_waits_for_the_queue(
    ui: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    faults: Any,
    client: httpx.AsyncClient,
) -> None:
    phone = await ui()
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    number = str(phone.app.store.get("work_order", str(ticket.id))["number"])
    await open_job(phone, number)
    from kivy.core.window import Window

    Window.dispatch("on_keyboard", 27, 0, None, [])  # Android's back key
    await phone.frames(2)
    assert phone.app.screens.current == "today"

    offline(faults)
    await open_job(phone, number)
    await phone.press("Accept")
    phone.app.go("settings")
    await phone.press("Log out")
    assert phone.app.screens.current == "login"
    assert phone.app.store.pending_count() == 1  # the queue stays

    screen = phone.screen
    screen.email = tenant.users["engineer2"].email
    await phone.type(screen.ids.password, PASSWORD)
    await phone.press("Log in")
    assert phone.app.screens.current == "login"
    assert "still has 1 changes waiting to sync" in screen.error
    assert phone.app.store.pending_count() == 1


async def test_a_long_list_draws_only_the_rows_on_screen(
    ui: Callable[..., Any], tmp_path: Path
) -> None:
    """300 jobs: the recycled list keeps a screenful of row widgets, scrolling reuses them."""
    folder = tmp_path / "phone"
    folder.mkdir()
    store = Store(folder / "fixflow.sqlite3")
    me = str(uuid7())
    store.set_meta(base_url="http://test", username="e@x.test", engineer_id=me)
    rows = [work_order(assignee_id=me, number=f"WO-{i:06d}") for i in range(300)]
    store.apply_page(page(*[put("work_order", r) for r in rows]))
    store.close()
    phone = await ui(folder)
    assert phone.app.screens.current == "today"
    await phone.frames(3)
    drawn = [w for w in phone.walk() if type(w).__name__ == "TodayRow"]
    assert phone.screen.count == 300
    assert 3 <= len(drawn) <= 15
    jobs = phone.screen.ids.jobs
    jobs.scroll_y = 0
    await phone.frames(3)
    after = [w for w in phone.walk() if type(w).__name__ == "TodayRow"]
    assert len(after) <= 15 and "WO-000299" in {w.number for w in after}
