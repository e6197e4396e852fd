from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments.storage import LocalBlobStore
from server.config import Settings
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_tenant, make_ticket


@pytest.fixture
def store(app: Any, tmp_path: Path) -> Iterator[LocalBlobStore]:
    """A blob store of this test's own, so file counts mean something."""
    original = app.state.blob_store
    app.state.blob_store = LocalBlobStore(tmp_path / "blobs")
    try:
        yield app.state.blob_store
    finally:
        app.state.blob_store = original


@pytest.fixture
async def tenant(client: Any, db: AsyncSession) -> Tenant:
    return await make_tenant(db)


@pytest.fixture
async def ticket(db: AsyncSession, tenant: Tenant) -> AsyncIterator[Ticket]:
    """A work order assigned to engineer1."""
    assert tenant.customer
    yield await make_ticket(
        db, tenant.actor("dispatcher"), tenant.customer, assign_to=tenant.engineers[0]
    )


@pytest.fixture
def small_cap(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(settings, "UPLOAD_MAX_BYTES", 200_000)
    return 200_000


def blob_files(store: LocalBlobStore) -> list[Path]:
    return sorted(p for p in store.root.glob("??/??/*") if p.is_file())


def temp_files(store: LocalBlobStore) -> list[Path]:
    return sorted((store.root / "uploads").glob("*")) if (store.root / "uploads").exists() else []
