"""An engineer's job driven through the real screens (touches on the offscreen window), then
synced to the real API: every record arrives exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import Attachment, Signature
from server.field import ChecklistAnswer, FieldPartLine, LabourEntry, TicketNote, Visit
from server.tickets.models import Ticket
from tests.fixtures.factories import PASSWORD, Tenant
from tests.mobile.app.data import checklist, reserve, stock_van


async def log_in(phone: Any, tenant: Tenant, who: str = "engineer1") -> None:
    assert phone.app.screens.current == "login"
    screen = phone.screen
    screen.server = "http://test"
    screen.email = tenant.users[who].email
    await phone.type(screen.ids.password, PASSWORD)
    await phone.press("Log in")
    assert phone.app.screens.current == "today", phone.app.root.toast or phone.screen.error


async def open_job(phone: Any, number: str) -> None:
    def drawn() -> list[Any]:
        return [w for w in phone.walk() if type(w).__name__ == "TodayRow" and w.number == number]

    await phone.until(lambda: bool(drawn()))  # the list lays its rows out
    rows = drawn()
    assert rows, f"{number} is not in the Today list: {phone.screen.ids.jobs.data}"
    await phone.tap(rows[0])
    assert phone.app.screens.current == "job"


async def count(db: AsyncSession, model: Any, ticket_id: Any, column: str = "ticket_id") -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(model).where(getattr(model, column) == ticket_id)
        )
        or 0
    )


async def test_a_job_worked_through_the_screens_reaches_the_server_exactly_once(
    ui: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    db: AsyncSession,
    client: httpx.AsyncClient,
) -> None:
    stock = await stock_van(db, tenant)
    await reserve(db, tenant, ticket, stock["fan"], stock["van"])
    await checklist(db, tenant)
    assert tenant.customer is not None
    tenant.customer.phone = "+86 21 5555 0100"
    await db.flush()
    phone = await ui()
    await log_in(phone, tenant)
    await phone.press("Sync now")
    number = str(phone.app.store.get("work_order", str(ticket.id))["number"])
    await open_job(phone, number)
    assert "1 × Condenser fan motor (FAN-200)" in phone.texts()  # reserved for the job
    await phone.press("Call")
    [called] = phone.app.device.dialer.calls
    assert [c for c in called if c.isdigit()] == list("862155550100")
    await phone.press("Navigate")
    [trip] = phone.app.device.maps.navigations
    assert trip.address == tenant.site.address

    await phone.press("Accept")
    await phone.press("Start travel")
    assert phone.app.store.running_timer(str(ticket.id))["kind"] == "travel"
    await phone.press("Check in")
    assert "±7 m" in phone.screen.gps_state

    await phone.press("Checklist")
    yes = phone.button("Yes")
    await phone.tap(yes)
    pressure = next(w for w in phone.walk() if w.__class__.__name__ == "TextInput")
    await phone.type(pressure, "12.5")
    await phone.press("Save answers")
    assert "All required items are answered" in phone.screen.summary
    await phone.press("Back")

    await phone.press("Take photo")

    await phone.press("Parts")
    await phone.type(phone.screen.ids.search, "6901234567892")  # scanned barcode
    await phone.frames(20)
    phone.screen.search(phone.screen.query)
    await phone.frames(3)
    [row] = [w for w in phone.walk() if w.__class__.__name__ == "PickRow" and w.line1]
    assert row.line1 == "Condenser fan motor"
    await phone.tap(row)
    took_back = phone.screen.ids.took_back
    await phone.tap(took_back)
    assert took_back.active
    await phone.press("Use part")
    await phone.press("Back")

    await phone.press("Labour")
    assert phone.screen.running and phone.screen.timer_kind == "Work"
    await phone.press("Stop")
    assert not phone.screen.running
    await phone.press("Back")

    await phone.press("Customer signature")
    pad = phone.screen.ids.pad
    await phone.draw(pad, [(0.1, 0.5), (0.3, 0.7), (0.5, 0.4), (0.7, 0.6), (0.9, 0.5)])
    await phone.type(phone.screen.ids.signer, "王小明")
    await phone.press("Save")
    assert phone.app.screens.current == "job"

    await phone.press("Resolve")
    phone.screen.code = "REPLACED_PART"
    await phone.type(phone.screen.ids.fault_found, "fan bearing seized")
    await phone.type(phone.screen.ids.summary, "Replaced the condenser fan motor")
    await phone.press("Resolve")
    assert phone.app.store.get("work_order", str(ticket.id))["status"] == "resolved"
    await phone.press("Check out")

    outbox = phone.app.store.outbox()
    assert all(e.state == "pending" for e in outbox)
    await phone.app.session.sync_now()
    await phone.settle()
    await phone.app.session.sync_now()  # the acknowledgements, the uploads' outcome
    await phone.settle()
    outbox = phone.app.store.outbox()
    rejected = [(e.name, e.result) for e in outbox if e.state != "applied"]
    assert not rejected, rejected
    assert phone.app.store.pending_count() == 0

    await db.refresh(ticket)
    assert ticket.status == "resolved" and ticket.resolution_code == "REPLACED_PART"
    assert await count(db, Visit, ticket.id) == 1
    assert await count(db, ChecklistAnswer, ticket.id) == 2
    lines = (
        await db.scalars(select(FieldPartLine.action).where(FieldPartLine.ticket_id == ticket.id))
    ).all()
    assert sorted(lines) == ["return", "use"]
    kinds = sorted(
        (await db.scalars(select(LabourEntry.kind).where(LabourEntry.ticket_id == ticket.id))).all()
    )
    assert kinds == ["travel", "work"]
    assert await count(db, Signature, ticket.id, "work_order_id") == 1
    assert await count(db, Attachment, ticket.id, "work_order_id") == 2  # the photo, the signature
    assert await count(db, TicketNote, ticket.id) == 0
    assert stock["fan"].id is not None
