"""Reassigned while the engineer worked offline: after the next sync the job leaves the
phone, the work already done on it reached the server, and the engineer is told why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import TicketNote
from server.sync.models import SyncMutation
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant
from tests.mobile.app.network import offline, online
from tests.mobile.app.test_job_flow import log_in, open_job


async def test_a_job_reassigned_while_offline_leaves_with_a_reason_and_its_work_kept(
    ui: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    db: AsyncSession,
    faults: Any,
    client: httpx.AsyncClient,
) -> None:
    phone = await ui()
    await log_in(phone, tenant)
    await phone.press("Sync now")
    wid = str(ticket.id)
    number = str(phone.app.store.get("work_order", wid)["number"])

    offline(faults)
    await open_job(phone, number)
    await phone.press("Accept")
    phone.app.work.add_note(wid, "customer not in; left a card")
    queued = phone.app.store.pending_count()
    assert queued == 2

    moved = await client.post(
        f"/api/v1/tickets/{wid}/transitions",
        json={"action": "assign", "engineer_id": str(tenant.engineers[1].id)},
        headers=tenant.headers("dispatcher"),
    )
    assert moved.status_code == 200, moved.text

    online(faults)
    await phone.app.session.sync_now()
    await phone.settle()
    assert phone.app.store.pending_count() == 0
    assert phone.app.store.get("work_order", wid) is None
    phone.app.go("today")
    await phone.frames(2)
    assert not [w for w in phone.walk() if getattr(w, "number", None) == number]

    # Every action reached the server and is kept there (applied or, if refused, with
    # its reason), and the phone says why the job left.
    stored = await db.scalar(
        select(func.count())
        .select_from(SyncMutation)
        .where(SyncMutation.work_order_id == ticket.id)
    )
    assert stored == queued
    await phone.tap(phone.app.root.ids.bar)
    assert phone.app.screens.current == "sync"
    shown = " ".join(phone.texts())
    assert "Job left your phone" in shown and number in shown, shown
    notes = await db.scalar(
        select(func.count()).select_from(TicketNote).where(TicketNote.ticket_id == ticket.id)
    )
    assert notes in (0, 1)
