"""Declining a job and correcting labour from the phone, through its real store and sync
engine against the real app: applied once, the phone converging on what the server has,
and a reject that arrives after the office gave the job to a colleague refused without
undoing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mobile.store import rows
from server.field.models import LabourEntry
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant

GPS = {"lat": 31.2301, "lon": 121.4701, "accuracy_m": 6.0}


async def _fresh(db: AsyncSession, ticket: Ticket) -> Ticket:
    found = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def test_a_declined_job_leaves_the_phone_and_goes_back_to_the_office(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, db: AsyncSession
) -> None:
    phone = await phones(tenant)
    wo = str(ticket.id)
    await phone.sync_once()
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "assigned"

    phone.store.reject(wo, reason="no ladder long enough on the van")
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "new"
    await phone.sync_once()

    [entry] = phone.store.outbox()
    assert (entry.name, entry.state, entry.acked) == ("work_order.reject", "applied", True)
    assert phone.store.get(rows.WORK_ORDER, wo) is None
    assert phone.store.get("customer", str(tenant.customer.id)) is None
    stored = await _fresh(db, ticket)
    assert (stored.status, stored.assignee_id) == ("new", None)


async def test_a_late_reject_never_takes_the_job_from_the_colleague(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, client: httpx.AsyncClient
) -> None:
    wo = str(ticket.id)
    phone = await phones(tenant, "engineer1")
    colleague = await phones(tenant, "engineer2")
    await phone.sync_once()
    phone.store.reject(wo, reason="not my area")  # offline: not pushed yet

    moved = await client.post(
        f"/api/v1/tickets/{wo}/transitions",
        json={"action": "assign", "engineer_id": str(tenant.engineers[1].id)},
        headers=tenant.headers("dispatcher"),
    )
    assert moved.status_code == 200, moved.text
    await phone.sync_once()
    await colleague.sync_once()

    [entry] = phone.store.outbox()
    assert (entry.state, entry.acked) == ("rejected", True)
    assert entry.result and entry.result["error"]["code"] == "not_found"
    assert phone.store.get(rows.WORK_ORDER, wo) is None  # the pull removed it
    row = colleague.store.get(rows.WORK_ORDER, wo)
    assert (row["status"], row["assignee_id"]) == ("assigned", str(tenant.engineers[1].id))


async def test_an_adjusted_entry_converges_with_the_servers(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, db: AsyncSession
) -> None:
    wo = str(ticket.id)
    phone = await phones(tenant)
    await phone.sync_once()
    phone.store.accept(wo)
    visit = phone.store.check_in(wo, GPS)
    entry = phone.store.add_labour(
        wo,
        kind="work",
        started_at="2026-11-24T09:00:00+08:00",
        ended_at="2026-11-24T12:00:00+08:00",
        visit_id=visit,
    )
    await phone.sync_once()
    new = phone.store.adjust_labour(
        entry,
        started_at="2026-11-24T09:00:00+08:00",
        ended_at="2026-11-24T11:30:00+08:00",
        reason="lunch was not work",
    )
    # Synced twice: the second push is answered from what the server stored.
    await phone.sync_once()
    await phone.sync_once()

    assert [(e.name, e.state, e.acked) for e in phone.store.outbox()][-1] == (
        "labour.adjust",
        "applied",
        True,
    )
    on_server = await db.scalars(select(LabourEntry).where(LabourEntry.ticket_id == ticket.id))
    assert sorted(str(e.id) for e in on_server) == sorted([entry, new])  # created once
    assert phone.store.get(rows.LABOUR, entry)["replaced_by"] == new
    assert phone.store.get(rows.LABOUR, new)["visit_id"] == visit
    assert not phone.store.is_local(rows.LABOUR, new)

    fresh = await phones(tenant)
    await fresh.pull()
    assert phone.store.children(rows.LABOUR, wo) == fresh.store.children(rows.LABOUR, wo)
