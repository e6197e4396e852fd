"""The phone's real store and sync engine against the real app (ASGI, the test's rolled-back
transaction), through a fault-injecting transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from mobile.store import Store
from mobile.sync import Backoff, SyncEngine
from server.tickets.models import Ticket
from tests.fixtures.factories import PASSWORD, Tenant, make_tenant, make_ticket
from tests.mobile.e2e.faults import Faults


@pytest.fixture
async def tenant(client: httpx.AsyncClient, db: AsyncSession) -> Tenant:
    return await make_tenant(db)


@pytest.fixture
async def ticket(db: AsyncSession, tenant: Tenant) -> Ticket:
    """A work order assigned to engineer1, at the tenant's site."""
    assert tenant.customer and tenant.site
    return await make_ticket(
        db,
        tenant.actor("dispatcher"),
        tenant.customer,
        tenant.site,
        tenant.asset,
        assign_to=tenant.engineers[0],
    )


@pytest.fixture
def faults(app: Any, engine: AsyncEngine) -> Faults:
    async def settle() -> None:
        async with engine.begin() as other:
            await other.execute(text("SELECT pg_current_xact_id()"))

    return Faults(httpx.ASGITransport(app=app), before_pull=settle)


@pytest.fixture
async def phones(
    client: httpx.AsyncClient, faults: Faults, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """``await phones(name)``: a fresh installation (its own SQLite file) logged in as one
    of the tenant's engineers."""
    opened: list[tuple[Store, SyncEngine]] = []

    async def make(tenant: Tenant, who: str = "engineer1", **options: Any) -> SyncEngine:
        store = Store(tmp_path / f"{who}-{len(opened)}.sqlite3")
        options.setdefault("backoff", Backoff(base=0.01, cap=0.05))
        phone = SyncEngine(
            store, base_url="http://test", transport=faults, device=f"{who} phone", **options
        )
        opened.append((store, phone))
        await phone.login(tenant.users[who].email, PASSWORD)
        return phone

    yield make
    for store, phone in opened:
        await phone.aclose()
        store.close()
