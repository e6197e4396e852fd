"""New work through the real screens, against the real API: after a sync brings a job the
office assigned and a job new in the pool, the phone shows a notification, Today a banner
that opens the attention list, where each is put away with OK; then the banner goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobile.device import Device
from mobile.device.fakes import FakeNotifier
from server.tickets import format_number
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_ticket
from tests.mobile.app.data import pool_jobs
from tests.mobile.app.test_job_flow import log_in


def _rows(phone: Any) -> list[Any]:
    return [w for w in phone.walk() if w.__class__.__name__ == "PickRow" and w.line1]


async def test_new_work_is_notified_shown_on_today_and_put_away(
    ui: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    db: AsyncSession,
    device: Device,
) -> None:
    notifier = device.notifier
    assert isinstance(notifier, FakeNotifier)
    phone = await ui()
    await log_in(phone, tenant)
    await phone.press("Sync now")
    await phone.settle()
    assert notifier.shown == [] and phone.screen.news == ""  # the first sync: quiet

    assert tenant.customer and tenant.site
    new = await make_ticket(
        db,
        tenant.actor("dispatcher"),
        tenant.customer,
        tenant.site,
        assign_to=tenant.engineers[0],
        title="Freezer door seal",
    )
    await pool_jobs(db, tenant, [("Cold room alarm", "P1", 31.2286, 121.4452)])
    await db.flush()
    await phone.press("Sync now")
    await phone.settle()

    number = format_number(new.number)
    assert notifier.shown == [(f"New job {number}: Freezer door seal", "1 new job in the pool")]
    assert phone.app.screens.current == "today"
    banner = phone.button("1 new job for you")
    assert "1 new job in the pool" in banner.text and banner.height > 0

    await phone.tap(banner)
    assert phone.app.screens.current == "sync"
    await phone.frames(3)
    lines = sorted(w.line1 for w in _rows(phone))
    assert len(lines) == 2 and lines[0].startswith("New in the pool: "), lines
    assert lines[1] == f"New job: {number} Freezer door seal"
    for _ in range(2):
        await phone.tap(_rows(phone)[0])  # OK: put away
        await phone.frames(3)
    assert _rows(phone) == []

    phone.app.go("today")
    await phone.frames(2)
    assert phone.screen.news == ""
    assert phone.screen.ids.news.height == 0
