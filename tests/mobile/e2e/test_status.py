"""What the always-visible sync bar reads from the engine: online or not, photo upload
progress chunk by chunk, and change notices (pushed, pulled, uploaded, status) delivered on
the asyncio loop so the screens refresh after a sync brought something. Also: the parts the
office reserves for a job arrive on the phone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant, make_location, make_part, move
from tests.mobile.e2e.faults import Faults
from tests.mobile.e2e.test_upload import CHUNK, _on_site, _photo


class Seen:
    """The engine's on_change calls, with the status at each one."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.uploading: list[tuple[int, int] | None] = []
        self.loops: set[int] = set()
        self.engine: Any = None

    def __call__(self, what: str) -> None:
        self.loops.add(id(asyncio.get_running_loop()))  # raises off the loop
        self.calls.append(what)
        if what == "status" and self.engine is not None:
            self.uploading.append(self.engine.status.uploading)


@pytest.fixture
def seen() -> Seen:
    return Seen()


async def test_the_engine_says_what_changed_on_the_loop(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, seen: Seen, tmp_path: Path
) -> None:
    phone = await phones(tenant, on_change=seen, chunk_size=CHUNK)
    seen.engine = phone
    await phone._attempt()
    assert seen.calls.count("pulled") >= 1 and seen.calls[-1] == "status"
    assert "pushed" not in seen.calls  # nothing was queued

    seen.calls.clear()
    await _on_site(phone, str(ticket.id))
    phone.store.register_photo(str(ticket.id), _photo(tmp_path / "a.jpg", 4))
    await phone._attempt()
    assert {"pushed", "pulled", "uploaded", "status"} <= set(seen.calls)
    assert seen.loops == {id(asyncio.get_running_loop())}

    seen.calls.clear()
    await phone._attempt()  # nothing queued, no file waiting
    assert "pushed" not in seen.calls and "uploaded" not in seen.calls
    assert seen.calls[-1] == "status"


async def test_upload_progress_grows_chunk_by_chunk_and_clears_when_done(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, seen: Seen, tmp_path: Path
) -> None:
    phone = await phones(tenant, on_change=seen, chunk_size=CHUNK)
    seen.engine = phone
    wo = str(ticket.id)
    await _on_site(phone, wo)
    photos = [_photo(tmp_path / f"p{n}.jpg", 10 + n) for n in range(2)]
    for photo in photos:
        phone.store.register_photo(wo, photo)
    total = sum(p.stat().st_size for p in photos)
    assert phone.store.pending_uploads_count() == 2

    await phone._attempt()

    shown = [p for p in seen.uploading if p is not None]
    assert shown[0] == (0, total)
    sent = [p[0] for p in shown]
    assert sent == sorted(sent) and len(set(sent)) > total // CHUNK  # every chunk reported
    assert shown[-1] == (total, total)
    assert seen.uploading[-1] is None and phone.status.uploading is None
    assert phone.store.pending_uploads_count() == 0


async def test_online_says_whether_the_last_attempt_reached_the_server(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, faults: Faults
) -> None:
    phone = await phones(tenant)
    await phone._attempt()
    assert phone.status.online is True and phone.status.last_success is not None

    phone.store.add_note(str(ticket.id), "in the lift")
    faults.add("POST", "/sync/push", "drop_request")
    await phone._attempt()
    assert phone.status.online is False and phone.status.failures == 1

    faults.add("POST", "/sync/push", "unavailable")
    await phone._attempt()
    assert phone.status.online is True  # a 503 is an answer: the server is there
    assert phone.status.failures == 2

    await phone._attempt()
    assert (phone.status.online, phone.status.failures) == (True, 0)
    assert phone.store.pending_count() == 0


async def test_the_parts_the_office_reserves_for_a_job_arrive_on_the_phone(
    phones: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    client: httpx.AsyncClient,
    db: AsyncSession,
) -> None:
    admin = tenant.actor("admin")
    part = await make_part(db, admin, sku="FAN-12", name="Condenser fan")
    warehouse = await make_location(db, admin)
    await move(db, admin, kind="receive", part_id=part.id, quantity=5, to_location_id=warehouse.id)
    await db.flush()
    phone = await phones(tenant)
    await phone.sync_once()
    assert phone.store.reserved_parts(str(ticket.id)) == []

    reserved = await client.post(
        "/api/v1/stock-movements",
        json={
            "kind": "reserve",
            "part_id": str(part.id),
            "quantity": "2",
            "from_location_id": str(warehouse.id),
            "ticket_id": str(ticket.id),
        },
        headers=tenant.headers("admin"),
    )
    assert reserved.status_code == 201, reserved.text
    await phone.sync_once()

    assert phone.store.reserved_parts(str(ticket.id)) == [
        {
            "part_id": str(part.id),
            "sku": "FAN-12",
            "name": "Condenser fan",
            "unit": "pcs",
            "quantity": "2",
        }
    ]
