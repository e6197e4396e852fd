"""Work orders at the point of field work, and request shortcuts for the field tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import service as field
from server.tickets import service as tickets
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.ids import uuid7
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_ticket

# The factories' sites are at (31.23, 121.47).
SITE = {"lat": 31.23, "lon": 121.47, "accuracy_m": 8.0}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(value: dt.datetime) -> str:
    return value.isoformat()


async def travelling(db: AsyncSession, t: Tenant, engineer: int = 1, **fields: Any) -> Ticket:
    """A work order assigned to engineer<n>, accepted, on the road."""
    assert t.customer and t.site and t.asset
    ticket = await make_ticket(
        db,
        t.actor("dispatcher"),
        t.customer,
        t.site,
        t.asset,
        assign_to=t.engineers[engineer - 1],
        **fields,
    )
    actor = t.actor(f"engineer{engineer}")
    for action in (Action.ACCEPT, Action.START_TRAVEL):
        await tickets.apply_transition(
            db, actor, ticket_id=ticket.id, data=TransitionIn(action=action)
        )
    await db.flush()
    return ticket


async def on_site(
    db: AsyncSession, t: Tenant, engineer: int = 1, **fields: Any
) -> tuple[Ticket, Any]:
    """A work order with its engineer checked in (visit 1 open); returns it and the visit."""
    ticket = await travelling(db, t, engineer, **fields)
    record = await field.check_in(
        db,
        t.actor(f"engineer{engineer}"),
        ticket_id=ticket.id,
        visit_id=uuid7(),
        device_time=now(),
        gps=SITE,
    )
    await db.flush()
    return ticket, record.visit


async def post(
    client: httpx.AsyncClient, t: Tenant, who: str, url: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(url, json=body, headers=t.headers(who))


async def get(client: httpx.AsyncClient, t: Tenant, who: str, url: str) -> Any:
    response = await client.get(url, headers=t.headers(who))
    assert response.status_code == 200, response.text
    return response.json()
