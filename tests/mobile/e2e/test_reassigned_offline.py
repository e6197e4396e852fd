"""Reassignment while offline, end to end: the engineer works a job with no signal while the
office gives it to a colleague. On the next sync the work done on it is still pushed (the
server keeps it for the office and flags it), the job leaves the phone, and the engineer
sees why, with each refused record and the server's reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from mobile.store import rows
from server.tickets import format_number
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant

GPS = {"lat": 31.2301, "lon": 121.4701, "accuracy_m": 6.0}
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_a_job_reassigned_while_offline_leaves_with_its_work_pushed_and_explained(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, client: httpx.AsyncClient
) -> None:
    wo = str(ticket.id)
    phone = await phones(tenant, "engineer1")
    colleague = await phones(tenant, "engineer2")
    await phone.sync_once()
    phone.store.accept(wo)
    await phone.sync_once()  # accepted, then the van drives out of coverage

    # Offline: travel, arrive, a note; a work timer is running when the signal returns.
    phone.store.start_travel(wo)
    visit = phone.store.check_in(wo, GPS)
    phone.store.add_note(wo, "compressor tripped on high pressure", visit_id=visit)
    phone.store.start_timer(wo, "work", visit_id=visit)
    assert phone.store.pending_count() == 3

    moved = await client.post(
        f"/api/v1/tickets/{wo}/transitions",
        json={"action": "unassign"},
        headers=tenant.headers("dispatcher"),
    )
    assert moved.status_code == 200, moved.text
    moved = await client.post(
        f"/api/v1/tickets/{wo}/transitions",
        json={"action": "assign", "engineer_id": str(tenant.engineers[1].id)},
        headers=tenant.headers("dispatcher"),
    )
    assert moved.status_code == 200, moved.text

    await phone.sync_once()  # the queued work goes first, then the pull removes the job
    await phone.sync_once()  # the timer's entry, recorded as the job left, goes next

    assert phone.store.get(rows.WORK_ORDER, wo) is None
    assert phone.store.my_work_orders("today", now=dt.datetime.now(dt.UTC), tz=SHANGHAI) == []
    assert phone.store.running_timers() == []
    entries = phone.store.outbox()
    assert [e.name for e in entries] == [
        "work_order.accept",
        "work_order.start_travel",
        "visit.check_in",
        "note.add",
        "labour.add",
    ]
    assert [(e.state, e.acked) for e in entries[1:]] == [("rejected", True)] * 4
    assert phone.store.pending_count() == 0  # every record answered: nothing dropped

    items = phone.store.attention()
    [left] = [i for i in items if i["kind"] == "removed"]
    assert (left["work_order_id"], left["reason"]) == (wo, "reassigned")
    assert (left["number"], left["title"]) == (format_number(ticket.number), ticket.title)
    assert str(tenant.engineers[1].id) not in str(left)  # never who has it now
    refused = {i["detail"]["mutation"]: i for i in items if i["kind"] == "rejected"}
    assert set(refused) == {"work_order.start_travel", "visit.check_in", "note.add", "labour.add"}
    assert all(i["work_order_id"] == wo and i["reason"] for i in refused.values())
    assert refused["note.add"]["detail"].get("flag_id")  # a dispatcher reviews the evidence
    assert refused["note.add"]["number"] == format_number(ticket.number)  # kept from the notice

    # The office has every record, for review, and the colleague has the job.
    kept = await client.get(
        "/api/v1/sync/rejected",
        params={"work_order_id": wo},
        headers=tenant.headers("dispatcher"),
    )
    assert kept.status_code == 200, kept.text
    assert sorted(m["name"] for m in kept.json()["items"]) == sorted(refused)
    flags = await client.get(
        "/api/v1/sync/flags", params={"work_order_id": wo}, headers=tenant.headers("dispatcher")
    )
    assert [f["kind"] for f in flags.json()["items"]] == ["evidence_after_reassignment"]
    await colleague.sync_once()
    assert (
        colleague.store.my_work_orders("today", now=dt.datetime.now(dt.UTC), tz=SHANGHAI)[0]["id"]
        == wo
    )

    for item in items:
        phone.store.dismiss_attention(item["key"])
    assert phone.store.attention() == []
