"""What the phone holds follows the server's scope: a reassigned work order leaves the old
engineer's phone and arrives on the new one's with its customer, site and asset; a snapshot
(``reset``) replaces the phone's copy but keeps what the engineer has not synced yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mobile.store import rows
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_ticket
from tests.mobile.e2e.faults import Faults


async def test_a_reassigned_work_order_moves_between_phones(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, client: httpx.AsyncClient
) -> None:
    wo = str(ticket.id)
    old = await phones(tenant, "engineer1")
    new = await phones(tenant, "engineer2")
    await old.sync_once()
    await new.sync_once()
    assert old.store.get(rows.WORK_ORDER, wo) is not None
    assert new.store.get(rows.WORK_ORDER, wo) is None
    assert new.store.get("customer", str(tenant.customer.id)) is None

    moved = await client.post(
        f"/api/v1/tickets/{wo}/transitions",
        json={"action": "assign", "engineer_id": str(tenant.engineers[1].id)},
        headers=tenant.headers("dispatcher"),
    )
    assert moved.status_code == 200, moved.text
    await old.sync_once()
    await new.sync_once()

    assert old.store.get(rows.WORK_ORDER, wo) is None
    assert new.store.get(rows.WORK_ORDER, wo)["assignee_id"] == str(tenant.engineers[1].id)
    assert new.store.get("customer", str(tenant.customer.id)) is not None
    assert new.store.get("site", str(tenant.site.id)) is not None
    assert new.store.get("asset", str(tenant.asset.id)) is not None
    # The new engineer can work on it at once.
    new.store.accept(wo)
    await new.sync_once()
    assert new.store.outbox()[0].state == "applied"


async def test_a_snapshot_keeps_the_outbox_and_unsynced_records(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, faults: Faults
) -> None:
    wo = str(ticket.id)
    phone = await phones(tenant)
    await phone.sync_once()
    phone.store.accept(wo)
    note = phone.store.add_note(wo, "written in the basement, no signal")
    # The cursor is unusable (another server's secret): the engine pulls a snapshot.
    phone.store.set_meta(cursor="bm90LWEtY3Vyc29y.AAAAAAAAAAAAAAAAAAAAAA")

    resets: list[bool] = []
    apply = phone.store.apply_page
    phone.store.apply_page = lambda page: (resets.append(page.reset), apply(page))[1]
    await phone.pull()

    assert [p.outcome for p in faults.sent("GET", "/sync/pull")][-len(resets) - 1 :] == [
        400,
        *[200] * len(resets),
    ]
    assert resets[0] is True
    assert phone.store.cursor and phone.store.cursor != "bm90LWEtY3Vyc29y"
    assert phone.store.get(rows.NOTE, note) is not None
    assert phone.store.is_local(rows.NOTE, note)
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "accepted"
    assert [e.state for e in phone.store.outbox()] == ["pending", "pending"]

    await phone.sync_once()
    assert [(e.state, e.acked) for e in phone.store.outbox()] == [("applied", True)] * 2
    assert not phone.store.is_local(rows.NOTE, note)
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "accepted"


async def test_a_pull_killed_midway_resumes_without_loss_or_duplication(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, db: AsyncSession
) -> None:
    for _ in range(4):
        await make_ticket(
            db,
            tenant.actor("dispatcher"),
            tenant.customer,
            tenant.site,
            assign_to=tenant.engineers[0],
        )
    phone = await phones(tenant, pull_limit=2)
    apply, pages = phone.store.apply_page, []

    def dies_on_the_third_page(page: Any) -> list[dict[str, Any]]:
        pages.append(page)
        if len(pages) == 3:
            raise KeyboardInterrupt("app killed while applying a page")
        return apply(page)

    phone.store.apply_page = dies_on_the_third_page
    with pytest.raises(KeyboardInterrupt):
        await phone.pull()
    phone.store.apply_page = apply
    await phone.pull()

    clean = await phones(tenant, pull_limit=500)
    await clean.pull()
    for entity in ("work_order", "customer", "site", "asset", "visit", "note"):
        assert phone.store.all(entity) == clean.store.all(entity), entity
    assert len(phone.store.all("work_order")) == 5
