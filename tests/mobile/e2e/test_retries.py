"""The engine's own timer: failures are retried with backoff (never sooner than Retry-After)
without waiting for the next local action, and a 409 gap is healed by re-sending."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from mobile.sync import Backoff
from server.tickets.models import Ticket
from shared.sync import Outcome, Result
from tests.fixtures.factories import Tenant
from tests.mobile.e2e.faults import Faults


async def _until(condition: Callable[[], bool]) -> None:
    """Poll the phone's database (SQLite has no change notification to await)."""
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_run_retries_on_its_own_timer_and_honours_retry_after(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, faults: Faults
) -> None:
    phone = await phones(tenant, interval=60, backoff=Backoff(base=0.01, cap=5))
    await phone.sync_once()
    phone.store.add_note(str(ticket.id), "pushed by the timer")
    faults.add("POST", "/sync/push", "unavailable", retry_after="1")
    faults.add("POST", "/sync/push", "drop_request")
    faults.add("POST", "/sync/push", "drop_response")

    stop = asyncio.Event()
    runner = asyncio.create_task(phone.run(stop))
    try:
        # No local write after the failures: the timer alone brings the note through.
        await _until(lambda: phone.store.outbox()[0].acked)
    finally:
        stop.set()
        await runner

    pushes = faults.sent("POST", "/sync/push")
    assert [p.outcome for p in pushes] == [
        503,
        "dropped request",
        "dropped response (200)",
        200,
    ]
    assert pushes[1].at - pushes[0].at >= 1.0  # Retry-After: 1 was honoured
    assert pushes[2].at - pushes[1].at < 1.0  # then backoff from 10 ms, not a fixed minute
    assert phone.status.failures == 0 and phone.status.last_success is not None
    [entry] = phone.store.outbox()
    assert entry.state == "applied"


async def test_a_gap_is_healed_by_sending_again_from_the_expected_seq(
    phones: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    faults: Faults,
    client: httpx.AsyncClient,
) -> None:
    """The phone believes mutations 1-2 were applied, the server (restored from a backup)
    never saw them: it answers 409 with expected_seq 1 and the phone sends from there."""
    phone = await phones(tenant)
    await phone.sync_once()
    wo = str(ticket.id)
    for text in ("one", "two", "three"):
        phone.store.add_note(wo, text)
    phone.store.record_results([Result(1, Outcome.APPLIED), Result(2, Outcome.APPLIED)], last_seq=2)

    assert await phone.push() == 3
    first_seqs = [p.body.count(b'"seq"') for p in faults.sent("POST", "/sync/push")]
    assert [p.outcome for p in faults.sent("POST", "/sync/push")] == [409, 200]
    assert first_seqs == [1, 3]  # mutation 3 alone, refused; then 1, 2, 3
    notes = await client.get(f"/api/v1/tickets/{wo}/notes", headers=tenant.headers("dispatcher"))
    assert notes.status_code == 200, notes.text
    body = notes.json()
    texts = sorted(n["text"] for n in (body["items"] if isinstance(body, dict) else body))
    assert texts == ["one", "three", "two"]
