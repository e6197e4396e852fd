"""Collisions seen from the phone: a poison mutation does not block the queue, and a job the
office cancelled while the engineer completed it offline keeps the evidence, shows the
rejection on the phone, and raises a flag for a dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mobile.store import rows
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant

GPS = {"lat": 31.2301, "lon": 121.4701, "accuracy_m": 6.0}


async def _on_site(phone: Any, wo: str) -> str:
    await phone.sync_once()
    phone.store.accept(wo)
    visit: str = phone.store.check_in(wo, GPS)
    await phone.sync_once()
    return visit


async def test_office_cancels_while_the_engineer_completes_offline(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, client: httpx.AsyncClient
) -> None:
    phone = await phones(tenant)
    wo = str(ticket.id)
    visit = await _on_site(phone, wo)

    cancelled = await client.post(
        f"/api/v1/tickets/{wo}/transitions",
        json={"action": "cancel", "reason": "customer fixed it themselves"},
        headers=tenant.headers("dispatcher"),
    )
    assert cancelled.status_code == 200, cancelled.text

    # Offline, the engineer finishes the job: evidence, then the resolution.
    phone.store.add_note(wo, "replaced the contactor", visit_id=visit)
    phone.store.resolve(wo, resolution_code="REPAIRED", summary="contactor replaced")
    phone.store.add_note(wo, "customer happy")
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "resolved"

    await phone.sync_once()

    [note1, resolve, note2] = phone.store.outbox()[-3:]
    assert (note1.state, resolve.state, note2.state) == ("applied", "rejected", "applied")
    assert resolve.result and resolve.result["error"]["code"] == "work_order_cancelled"
    assert all(e.acked for e in phone.store.outbox())
    # The phone shows the truth again, and keeps the engineer's notes.
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "cancelled"
    texts = sorted(n["text"] for n in phone.store.children(rows.NOTE, wo))
    assert texts == ["customer happy", "replaced the contactor"]

    flags = await client.get(
        "/api/v1/sync/flags", params={"work_order_id": wo}, headers=tenant.headers("dispatcher")
    )
    assert flags.status_code == 200, flags.text
    [flag] = flags.json()["items"]
    assert (flag["kind"], flag["status"], flag["seq"]) == (
        "completed_after_cancel",
        "open",
        resolve.seq,
    )


async def test_a_poison_mutation_does_not_block_the_ones_after_it(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, client: httpx.AsyncClient
) -> None:
    phone = await phones(tenant)
    wo = str(ticket.id)
    await _on_site(phone, wo)
    # A part the server does not know: refused by the parts service, never by the phone.
    phone.store.use_part(wo, part_id=str(ticket.id), quantity="1")
    phone.store.add_note(wo, "after the bad part")

    await phone.sync_once()

    used, note = phone.store.outbox()[-2:]
    assert (used.state, note.state) == ("rejected", "applied")
    assert used.result and used.result["error"]["status"] in (404, 409, 422)
    assert phone.store.children(rows.PART_LINE, wo) == []  # the optimistic line is gone
    assert [n["text"] for n in phone.store.children(rows.NOTE, wo)] == ["after the bad part"]
    assert phone.store.unsent(10) == []
