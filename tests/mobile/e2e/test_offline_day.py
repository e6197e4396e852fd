"""An engineer's offline work goes through the real client to the real server: pushed once,
applied once, acknowledged through the pull feed, and nothing lost when the network fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mobile.store import rows
from mobile.sync import Transient
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant
from tests.mobile.e2e.faults import Faults

GPS = {"lat": 31.2301, "lon": 121.4701, "accuracy_m": 6.0}


def _day(phone: Any, work_order_id: str) -> None:
    store = phone.store
    store.accept(work_order_id)
    store.start_travel(work_order_id)
    visit = store.check_in(work_order_id, GPS)
    store.add_labour(
        work_order_id,
        kind="work",
        started_at="2026-11-24T09:05:00+08:00",
        ended_at="2026-11-24T10:20:00+08:00",
        visit_id=visit,
    )
    store.add_note(work_order_id, "condenser fan bearing worn", visit_id=visit)


async def test_offline_actions_are_pushed_applied_and_acknowledged(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, client: httpx.AsyncClient
) -> None:
    phone = await phones(tenant)
    await phone.sync_once()  # first pull: the snapshot brings the assigned work order
    wo = str(ticket.id)
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "assigned"
    assert phone.store.get("site", str(tenant.site.id)) is not None

    _day(phone, wo)  # offline: nothing leaves the phone
    assert [e.state for e in phone.store.outbox()] == ["pending"] * 5
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "on_site"

    assert await phone.push() == 5
    entries = phone.store.outbox()
    assert [(e.seq, e.state, e.acked) for e in entries] == [
        (seq, "applied", False) for seq in range(1, 6)
    ]
    assert phone.store.last_seq == 5

    await phone.pull()
    assert all(e.acked for e in phone.store.outbox())
    [visit] = phone.store.children(rows.VISIT, wo)
    assert not phone.store.is_local(rows.VISIT, visit["id"])
    assert visit["check_in_received_at"] is not None  # the server's row replaced ours
    assert visit["check_in_distance_m"] is not None
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "on_site"
    assert not phone.store.is_local(rows.WORK_ORDER, wo)
    [note] = phone.store.children(rows.NOTE, wo)
    assert note["text"] == "condenser fan bearing worn"

    server = await client.get(f"/api/v1/tickets/{wo}", headers=tenant.headers("dispatcher"))
    assert server.json()["status"] == "on_site"
    assert await phone.push() == 0  # nothing left to send


async def test_a_lost_push_answer_is_resent_and_applied_once(
    phones: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    faults: Faults,
    client: httpx.AsyncClient,
) -> None:
    phone = await phones(tenant)
    await phone.sync_once()
    wo = str(ticket.id)
    _day(phone, wo)

    faults.add("POST", "/sync/push", "drop_response")  # committed, answer lost
    with pytest.raises(Transient):
        await phone.push()
    assert [e.state for e in phone.store.outbox()] == ["sent"] * 5

    faults.add("POST", "/sync/push", "drop_request")  # never arrives
    with pytest.raises(Transient):
        await phone.push()

    assert await phone.push() == 5  # answered from the stored results
    await phone.pull()
    assert [(e.state, e.acked) for e in phone.store.outbox()] == [("applied", True)] * 5
    assert len(phone.store.children(rows.NOTE, wo)) == 1
    labour = await client.get(f"/api/v1/tickets/{wo}/labour", headers=tenant.headers("dispatcher"))
    assert labour.status_code == 200, labour.text
    assert labour.json()["totals"]["entries"] == 1
    assert labour.json()["totals"]["worked_seconds"] == 75 * 60
