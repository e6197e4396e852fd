"""From real work (services writing tickets, visits, transitions) through the refresh to
the KPIs: the facts and the metrics agree on reopened and cancelled work orders."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import service as field
from server.reports import refresh, service
from server.reports.query import parse
from server.tickets import service as tickets
from server.tickets.schemas import TransitionIn
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.server.field.helpers import on_site


async def _resolve(db: AsyncSession, t: Tenant, ticket_id: object) -> None:
    await field.resolve(
        db, t.actor("engineer1"), ticket_id=ticket_id, resolution_code="FIXED", summary="ok"
    )
    await db.flush()


async def _step(db: AsyncSession, t: Tenant, ticket_id: object, **data: object) -> None:
    await tickets.apply_transition(
        db, t.actor("dispatcher"), ticket_id=ticket_id, data=TransitionIn.model_validate(data)
    )
    await db.flush()


async def test_reopened_and_cancelled_work_orders_through_the_refresh(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(db)
    assert t.customer
    fixed, _ = await on_site(db, t)
    await _resolve(db, t, fixed.id)
    reopened, _ = await on_site(db, t)
    await _resolve(db, t, reopened.id)
    await _step(db, t, reopened.id, action="reopen", reason="still noisy")
    await _resolve(db, t, reopened.id)
    cancelled = await make_ticket(db, t.actor("dispatcher"), t.customer)
    await _step(db, t, cancelled.id, action="cancel", reason="duplicate")
    still_open = await make_ticket(db, t.actor("dispatcher"), t.customer)
    await refresh.refresh_org(db, t.org.id, full=True)

    actor = t.actor("admin")
    query = parse(start=None, end=None, today=await service.today(db, actor), period="none")
    values = (await service.compute(db, actor, query)).rows[0].values
    assert values["work_orders"].value == 4
    assert values["resolved"].value == 2  # the reopened one once, at its last resolution
    ftf = values["first_time_fix"]
    # Neither is a first-time fix: the second was reopened, and it is a follow-up work order
    # on the first one's equipment within 30 days.
    assert (ftf.numerator, ftf.denominator, ftf.value) == (0, 2, 0.0)
    assert values["backlog"].value == 1  # the cancelled one left the backlog
    behind = await service.drill(db, actor, query, metric="first_time_fix")
    assert [item.id for item in behind.items] == [fixed.id, reopened.id]
    backlog = await service.drill(db, actor, query, metric="backlog")
    assert [item.id for item in backlog.items] == [still_open.id]

    resp = await client.get(
        "/api/v1/kpis",
        params={"period": "none", "metrics": "resolved,first_time_fix"},
        headers=t.headers("engineer1"),
    )
    assert resp.status_code == 200, resp.text
    own = resp.json()["rows"][0]["values"]
    assert own["resolved"]["value"] == 2 and own["first_time_fix"]["value"] == 0.0
    other = await client.get(
        "/api/v1/kpis", params={"period": "none"}, headers=t.headers("engineer2")
    )
    assert other.json()["rows"][0]["values"]["resolved"]["value"] == 0
