"""Photo bytes through the real client: resumable (a lost connection costs at most one
chunk), content-addressed (bytes the server holds are not sent again), and verified (bytes
that changed after registration are refused, and the phone records why)."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mobile.store import rows
from server.tickets.models import Ticket
from tests.fixtures.factories import Tenant
from tests.mobile.e2e.faults import Faults

CHUNK = 16 * 1024


def _photo(path: Path, seed: int) -> Path:
    """A real JPEG of a few chunks (noise does not compress)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (300, 300), rng.randbytes(300 * 300 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    path.write_bytes(buffer.getvalue())
    return path


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(buffer, "PNG")
    return buffer.getvalue()


async def _on_site(phone: Any, wo: str) -> str:
    await phone.sync_once()
    phone.store.accept(wo)
    visit: str = phone.store.check_in(wo, {"lat": 31.23, "lon": 121.47, "accuracy_m": 5.0})
    return visit


def _patched(faults: Faults) -> int:
    return sum(len(p.body) for p in faults.sent("PATCH", "/uploads/"))


async def test_a_dropped_connection_costs_at_most_one_chunk(
    phones: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    faults: Faults,
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    phone = await phones(tenant, chunk_size=CHUNK)
    wo = str(ticket.id)
    visit = await _on_site(phone, wo)
    photo = _photo(tmp_path / "fan.jpg", 1)
    size = photo.stat().st_size
    assert size > 3 * CHUNK
    attachment = phone.store.register_photo(wo, photo, visit_id=visit, caption="worn bearing")

    # The second chunk reaches the server but its answer is lost; the third never arrives.
    faults.add("PATCH", "/uploads/", "pass")
    faults.add("PATCH", "/uploads/", "drop_response")
    faults.add("PATCH", "/uploads/", "drop_request")
    await phone.sync_once()

    assert phone.store.pending_uploads() == []
    assert _patched(faults) <= size + CHUNK  # at most one chunk sent twice
    assert len(faults.sent("HEAD", "/uploads/")) >= 1  # resumed from the server's offset
    read = await client.get(
        f"/api/v1/attachments/{attachment}", headers=tenant.headers("dispatcher")
    )
    assert read.status_code == 200, read.text
    assert read.json()["status"] == "available"
    assert read.json()["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    await phone.pull()
    assert phone.store.get(rows.ATTACHMENT, attachment)["status"] == "available"


async def test_bytes_the_server_already_holds_are_not_sent_again(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, faults: Faults, tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "fan.jpg", 2)
    first = await phones(tenant, chunk_size=CHUNK)
    wo = str(ticket.id)
    visit = await _on_site(first, wo)
    first.store.register_photo(wo, photo, visit_id=visit)
    await first.sync_once()
    sent = _patched(faults)
    assert sent == photo.stat().st_size

    # Another installation of the same engineer (a new phone) attaches the same picture.
    second = await phones(tenant, chunk_size=CHUNK)
    await second.sync_once()
    again = second.store.register_photo(wo, photo, visit_id=visit)
    await second.sync_once()

    assert _patched(faults) == sent  # HEAD said "stored": nothing sent
    assert faults.sent("HEAD", "/blobs/")[-1].outcome == 200
    assert second.store.pending_uploads() == []
    [entry] = second.store.outbox()
    assert entry.result and entry.result["data"]["status"] == "available"
    assert entry.result["data"]["attachment_id"] == again
    assert second.store.get(rows.ATTACHMENT, again)["status"] == "available"


async def test_a_registered_attachment_comes_back_through_the_feed(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, tmp_path: Path
) -> None:
    phone = await phones(tenant, chunk_size=CHUNK)
    wo = str(ticket.id)
    await _on_site(phone, wo)
    attachment = phone.store.register_photo(wo, _photo(tmp_path / "fan.jpg", 5))
    signature = phone.store.capture_signature(
        wo, png=_png(), strokes=[[[0, 0], [10, 12]]], signer_name="Mei Lin"
    )
    await phone.push()
    await phone.pull()  # acknowledges both; the records must come before the acks
    assert phone.store.get(rows.ATTACHMENT, attachment) is not None
    assert phone.store.get(rows.SIGNATURE, signature) is not None


async def test_bytes_changed_after_registration_are_refused_and_the_reason_kept(
    phones: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    phone = await phones(tenant, chunk_size=CHUNK)
    wo = str(ticket.id)
    await _on_site(phone, wo)
    photo = _photo(tmp_path / "fan.jpg", 3)
    attachment = phone.store.register_photo(wo, photo)
    registered = hashlib.sha256(photo.read_bytes()).hexdigest()
    data = bytearray(photo.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the file changed on disk (same size) before the upload
    photo.write_bytes(bytes(data))

    await phone.sync_once()

    assert phone.store.pending_uploads() == []
    failed = phone.store.failed_uploads()
    assert list(failed) == [registered]
    assert "hash" in failed[registered].lower() or "sha" in failed[registered].lower()
    read = await client.get(
        f"/api/v1/attachments/{attachment}", headers=tenant.headers("dispatcher")
    )
    assert read.json()["status"] == "pending"  # never made available from wrong bytes
    assert phone.store.get(rows.ATTACHMENT, attachment)["status"] == "pending"


@pytest.mark.parametrize("value", ["²".encode("latin-1"), b"SIZE", b"", b"+1"], ids=repr)
async def test_a_mangled_upload_offset_is_retried_never_taken_for_progress(
    phones: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    faults: Faults,
    client: httpx.AsyncClient,
    tmp_path: Path,
    value: bytes,
) -> None:
    """A proxy rewrites the server's Upload-Offset after the first chunk: to "²" (isdigit()
    but not int(): the sync crashed), or past the end of the file (the photo was marked sent
    with most of its bytes missing). The phone asks the server for its offset again and
    finishes the upload."""
    phone = await phones(tenant, chunk_size=CHUNK)
    wo = str(ticket.id)
    visit = await _on_site(phone, wo)
    photo = _photo(tmp_path / "pump.jpg", 2)
    attachment = phone.store.register_photo(wo, photo, visit_id=visit)
    value = value.replace(b"SIZE", str(photo.stat().st_size * 10).encode())
    faults.add("PATCH", "/uploads/", "mangle", header="upload-offset", value=value)
    await phone.sync_once()
    assert phone.store.pending_uploads() == []
    assert len(faults.sent("HEAD", "/uploads/")) == 1  # the offset asked for again
    read = await client.get(
        f"/api/v1/attachments/{attachment}", headers=tenant.headers("dispatcher")
    )
    assert read.status_code == 200 and read.json()["status"] == "available", read.text
