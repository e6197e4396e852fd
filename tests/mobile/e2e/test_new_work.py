"""New work reaches the engineer through the phone's sync, end to end: the first sync after
log-in announces nothing (every job would be "new"); a job the office assigns afterwards
and a job new in the claim pool are announced once (``on_arrivals``, the phone's
notification) and listed as needing attention; the job the engineer claims is not news,
and the pool's notice goes once the job has left the pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobile.core.attention import announcement
from server.tickets import format_number
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_ticket
from tests.mobile.app.data import pool_jobs


def _news(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return sorted((i["kind"], i["number"]) for i in items if i["kind"] in ("assigned", "claimable"))


async def test_new_assignments_and_pool_jobs_are_announced_once(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, db: AsyncSession
) -> None:
    told: list[list[dict[str, Any]]] = []
    phone = await phones(tenant, "engineer1", on_arrivals=told.append)
    await phone.sync_once()
    assert phone.store.get("work_order", str(ticket.id)) is not None
    assert told == [] and _news(phone.store.attention()) == []  # the first sync: quiet

    assert tenant.customer and tenant.site
    new = await make_ticket(
        db,
        tenant.actor("dispatcher"),
        tenant.customer,
        tenant.site,
        tenant.asset,
        assign_to=tenant.engineers[0],
        title="Freezer door seal",
    )
    [pooled] = await pool_jobs(db, tenant, [("Cold room alarm", "P1", 31.2286, 121.4452)])
    await db.flush()
    await phone.sync_once()

    new_number, pool_number = format_number(new.number), format_number(pooled.number)
    [arrived] = told
    assert sorted((a["kind"], a["number"], a["title"]) for a in arrived) == [
        ("assigned", new_number, "Freezer door seal"),
        ("claimable", pool_number, "Cold room alarm"),
    ]
    assert announcement(arrived) == (
        f"New job {new_number}: Freezer door seal",
        "1 new job in the pool",
    )
    assert _news(phone.store.attention()) == [
        ("assigned", new_number),
        ("claimable", pool_number),
    ]

    await phone.sync_once()  # nothing new: nothing told again
    assert len(told) == 1

    assert (await phone.claim(str(pooled.id))).value == "yours"
    await phone.sync_once()  # the claimed job arrives as mine: not news
    assert phone.store.get("work_order", str(pooled.id))["assignee_id"] is not None
    assert len(told) == 1
    assert _news(phone.store.attention()) == [("assigned", new_number)]
