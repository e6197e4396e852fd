"""Resumable uploads (tus 1.0 core): offsets, drops, re-sends, limits, verification."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.attachments.models import Attachment, Upload
from server.attachments.storage import LocalBlobStore
from server.attachments.uploads import service as uploads_service
from server.tickets.models import Ticket
from tests.fixtures.attachments import (
    TUS,
    bomb_png,
    create,
    head_offset,
    noisy_jpeg,
    patch,
    png,
    register_body,
    sha,
    upload,
)
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.attachments.conftest import blob_files, temp_files

CHUNK = 64 * 1024


async def _asgi_patch(
    app: Any,
    headers: dict[str, str],
    url: str,
    offset: int,
    pieces: list[bytes],
    *,
    declared: int,
    then: str = "disconnect",
    on_receive: Callable[[], Awaitable[None]] | None = None,
) -> tuple[int, dict[str, str]]:
    """A PATCH over raw ASGI, as uvicorn delivers it: the body arrives in ``pieces`` and
    then the connection drops (``http.disconnect``), or (``then="fail"``) reading any of
    the body fails the test."""
    all_headers = {
        **headers,
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(declared),
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": p, "more_body": True} for p in pieces
    ]

    async def receive() -> dict[str, Any]:
        if then == "fail":
            raise AssertionError("the server read the body")
        if on_receive is not None:
            await on_receive()
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


async def test_options_advertises_tus_version_extensions_and_max_size(
    client: httpx.AsyncClient, tenant: Tenant, settings: Any
) -> None:
    response = await client.options("/api/v1/uploads", headers=tenant.headers("engineer1"))
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert "creation" in response.headers["Tus-Extension"].split(",")
    assert int(response.headers["Tus-Max-Size"]) == settings.UPLOAD_MAX_BYTES


async def test_chunks_arrive_in_order_and_head_reports_the_offset(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = noisy_jpeg()
    assert len(data) > 3 * CHUNK
    created = await create(client, headers, data)
    assert created.status_code == 201
    assert created.headers["Tus-Resumable"] == "1.0.0"
    assert created.headers["Upload-Offset"] == "0"
    assert "Upload-Expires" in created.headers
    url = created.headers["Location"]
    assert await head_offset(client, headers, url) == 0
    first = await patch(client, headers, url, 0, data[:CHUNK])
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == str(CHUNK)
    assert await head_offset(client, headers, url) == CHUNK
    assert blob_files(store) == []  # nothing is a blob before the last byte
    offset = CHUNK
    while offset < len(data):
        response = await patch(client, headers, url, offset, data[offset : offset + CHUNK])
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    assert offset == len(data)
    assert (await client.get(url, headers=headers)).json()["status"] == "complete"
    assert await store.read_all(sha(data)) == data
    assert temp_files(store) == []
    blob = await client.head(f"/api/v1/blobs/{sha(data)}", headers=headers)
    assert blob.status_code == 200


async def test_a_dropped_connection_costs_at_most_the_rest_of_one_chunk(
    app: Any, client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = noisy_jpeg()
    url = (await create(client, headers, data)).headers["Location"]
    assert (await patch(client, headers, url, 0, data[:CHUNK])).status_code == 204
    # The second chunk: 40 KB of 64 KB arrive, then the phone loses signal.
    arrived = [data[CHUNK : CHUNK + 16_384], data[CHUNK + 16_384 : CHUNK + 40_960]]
    status, _ = await _asgi_patch(app, headers, url, CHUNK, arrived, declared=CHUNK)
    assert status == 204
    resume_at = await head_offset(client, headers, url)
    assert resume_at == CHUNK + 40_960  # what arrived is kept: only 24 KB must be sent again
    response = await upload_rest(client, headers, url, data, resume_at)
    assert response.status_code == 204
    assert await store.read_all(sha(data)) == data


async def upload_rest(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, data: bytes, offset: int
) -> httpx.Response:
    response = None
    while offset < len(data):
        response = await patch(client, headers, url, offset, data[offset : offset + CHUNK])
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    assert response is not None
    return response


async def test_resending_bytes_already_received_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore, db: AsyncSession
) -> None:
    headers = tenant.headers("engineer1")
    data = noisy_jpeg()
    url = (await create(client, headers, data)).headers["Location"]
    await patch(client, headers, url, 0, data[:CHUNK])
    await patch(client, headers, url, CHUNK, data[CHUNK : 2 * CHUNK])
    # The response to the second PATCH was lost: the phone sends the same chunk again.
    again = await patch(client, headers, url, CHUNK, data[CHUNK : 2 * CHUNK])
    assert again.status_code == 204
    assert again.headers["Upload-Offset"] == str(2 * CHUNK)
    # A chunk that overlaps what arrived and goes beyond: only the new tail is appended.
    overlap = await patch(client, headers, url, CHUNK + 100, data[CHUNK + 100 : 3 * CHUNK])
    assert overlap.headers["Upload-Offset"] == str(3 * CHUNK)
    # Different bytes where bytes were already received: refused, nothing changes.
    forged = await patch(client, headers, url, 0, b"\x00" * CHUNK)
    assert forged.status_code == 409
    assert forged.json()["code"] == "offset_mismatch"
    assert forged.json()["upload_offset"] == 3 * CHUNK
    # Past the received bytes: a gap is refused.
    gap = await patch(client, headers, url, 3 * CHUNK + 1, data[3 * CHUNK + 1 : 4 * CHUNK])
    assert gap.status_code == 409
    assert await head_offset(client, headers, url) == 3 * CHUNK
    await upload_rest(client, headers, url, data, 3 * CHUNK)
    assert await store.read_all(sha(data)) == data  # the hash matched: nothing was doubled


async def test_bytes_already_stored_need_not_be_sent_and_are_private_to_the_org(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = png()
    assert (await client.head(f"/api/v1/blobs/{sha(data)}", headers=headers)).status_code == 404
    assert (await upload(client, headers, data)).status_code == 204
    assert (await client.head(f"/api/v1/blobs/{sha(data)}", headers=headers)).status_code == 200
    # The phone asks first and sends nothing; a tus client that creates anyway is told
    # the upload is already complete.
    again = await create(client, tenant.headers("dispatcher"), data)
    assert again.status_code == 201
    assert again.headers["Upload-Offset"] == str(len(data))
    assert again.json()["status"] == "complete"
    late = await patch(client, tenant.headers("dispatcher"), again.headers["Location"], 0, data)
    assert late.status_code == 204 and late.headers["Upload-Offset"] == str(len(data))
    # Another organisation cannot learn that these bytes exist here.
    other = await make_tenant(db, "Other")
    outsider = other.headers("engineer1")
    assert (await client.head(f"/api/v1/blobs/{sha(data)}", headers=outsider)).status_code == 404
    theirs = await create(client, outsider, data)
    assert theirs.headers["Upload-Offset"] == "0"


async def test_a_wrong_hash_is_refused_and_nothing_becomes_available(
    client: httpx.AsyncClient, tenant: Tenant, ticket: Ticket, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = noisy_jpeg()
    claimed = sha(b"some other photo")
    body = register_body(data, sha256=claimed)
    registered = await client.post(
        f"/api/v1/tickets/{ticket.id}/attachments", json=body, headers=headers
    )
    assert registered.json()["status"] == "pending"
    response = await upload(client, headers, data, digest=claimed)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "hash_mismatch"
    assert problem["actual"] == sha(data) and problem["declared"] == claimed
    url = response.request.url.path
    assert (await client.head(url, headers={**headers, **TUS})).status_code == 410
    state = (await client.get(url, headers=headers)).json()
    assert state["status"] == "failed" and state["error"]["code"] == "hash_mismatch"
    assert (await patch(client, headers, url, 0, data[:10])).status_code == 410
    for digest in (claimed, sha(data)):
        assert (await client.head(f"/api/v1/blobs/{digest}", headers=headers)).status_code == 404
    assert blob_files(store) == [] and temp_files(store) == []
    read = await client.get(f"/api/v1/attachments/{body['id']}", headers=headers)
    assert read.json()["status"] == "pending"


async def test_an_upload_over_the_size_cap_is_refused_at_creation(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, small_cap: int
) -> None:
    response = await client.post(
        "/api/v1/uploads",
        headers={
            **tenant.headers("engineer1"),
            **TUS,
            "Upload-Length": str(small_cap + 1),
            "Upload-Metadata": f"sha256 {'A' * 88}",
        },
    )
    assert response.status_code == 413
    assert response.json()["max_bytes"] == small_cap
    assert await db.scalar(select(func.count()).select_from(Upload)) == 0


async def test_a_body_declared_past_the_upload_length_is_refused_unread(
    app: Any, client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = png()
    url = (await create(client, headers, data)).headers["Location"]
    status, _ = await _asgi_patch(app, headers, url, 0, [], declared=len(data) + 1, then="fail")
    assert status == 413
    over_cap = 10**12
    status, _ = await _asgi_patch(app, headers, url, 0, [], declared=over_cap, then="fail")
    assert status == 413
    assert await head_offset(client, headers, url) == 0


async def test_a_streamed_body_that_runs_past_the_length_keeps_nothing(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = noisy_jpeg()
    url = (await create(client, headers, data)).headers["Location"]
    await patch(client, headers, url, 0, data[:CHUNK])

    async def too_much() -> AsyncIterator[bytes]:  # chunked: no Content-Length to check
        yield data[CHUNK:]
        yield b"\xff" * 1000

    response = await client.patch(
        url,
        headers={
            **headers,
            **TUS,
            "Upload-Offset": str(CHUNK),
            "Content-Type": "application/offset+octet-stream",
        },
        content=too_much(),
    )
    assert response.status_code == 413
    assert await head_offset(client, headers, url) == CHUNK
    await upload_rest(client, headers, url, data, CHUNK)  # the upload is still good
    assert await store.read_all(sha(data)) == data


async def test_a_chunk_larger_than_the_json_body_limit_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore, settings: Any
) -> None:
    data = noisy_jpeg(1600, 1200)
    assert len(data) > settings.MAX_BODY_BYTES
    response = await upload(client, tenant.headers("engineer1"), data, chunk=len(data))
    assert response.status_code == 204
    assert await store.exists(sha(data))


async def test_the_type_comes_from_the_bytes(
    client: httpx.AsyncClient, tenant: Tenant, ticket: Ticket, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    image = png()
    body = register_body(image, mime="image/jpeg")  # the phone says JPEG; it is a PNG
    await client.post(f"/api/v1/tickets/{ticket.id}/attachments", json=body, headers=headers)
    assert (await upload(client, headers, image)).status_code == 204
    read = (await client.get(f"/api/v1/attachments/{body['id']}", headers=headers)).json()
    assert read["status"] == "available"
    assert read["mime"] == "image/png" and read["declared_mime"] == "image/jpeg"
    assert (read["width"], read["height"]) == (64, 48)
    content = await client.get(f"/api/v1/attachments/{body['id']}/content", headers=headers)
    assert content.headers["content-type"] == "image/png"


async def test_a_file_that_is_no_image_or_document_is_refused_on_its_first_bytes(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    script = b"<html><script>alert(1)</script></html>" + b" " * 200
    url = (await create(client, headers, script)).headers["Location"]
    response = await patch(client, headers, url, 0, script[:100])  # not even the end
    assert response.status_code == 422
    assert response.json()["code"] == "unsupported_type"
    assert (await client.head(url, headers={**headers, **TUS})).status_code == 410
    assert blob_files(store) == [] and temp_files(store) == []


async def test_a_pdf_is_stored_but_cannot_be_a_photo(
    client: httpx.AsyncClient, tenant: Tenant, ticket: Ticket, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    pending = register_body(pdf, mime="image/jpeg")
    await client.post(f"/api/v1/tickets/{ticket.id}/attachments", json=pending, headers=headers)
    assert (await upload(client, headers, pdf)).status_code == 204
    read = (await client.get(f"/api/v1/attachments/{pending['id']}", headers=headers)).json()
    assert read["status"] == "rejected"
    assert "application/pdf" in read["rejected_reason"]
    # Registered after the bytes are here: the caller hears it at once.
    late = await client.post(
        f"/api/v1/tickets/{ticket.id}/attachments", json=register_body(pdf), headers=headers
    )
    assert late.status_code == 422 and late.json()["sniffed_mime"] == "application/pdf"
    document = register_body(pdf, role="document", mime="application/pdf")
    ok = await client.post(
        f"/api/v1/tickets/{ticket.id}/attachments", json=document, headers=headers
    )
    assert ok.status_code == 201 and ok.json()["status"] == "available"


@pytest.mark.parametrize(
    "side",
    [
        9_000,  # 81 Mpx: over our 50 Mpx cap, under Pillow's own warning (89 Mpx)
        100_000,  # 10 Gpx: Pillow's guard fires too; still a clean 422
    ],
)
async def test_a_decompression_bomb_is_refused_before_decoding(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore, side: int
) -> None:
    bomb = bomb_png(side, side)
    assert len(bomb) < 1000
    response = await upload(client, tenant.headers("engineer1"), bomb)
    assert response.status_code == 422
    assert response.json()["code"] == "image_too_large"
    assert blob_files(store) == []
    blob = await client.head(f"/api/v1/blobs/{sha(bomb)}", headers=tenant.headers("engineer1"))
    assert blob.status_code == 404


async def test_an_expired_upload_is_gone(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = noisy_jpeg()
    url = (await create(client, headers, data)).headers["Location"]
    await patch(client, headers, url, 0, data[:CHUNK])
    upload_id = uuid.UUID(url.rsplit("/", 1)[1])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await db.execute(update(Upload).where(Upload.id == upload_id).values(expires_at=past))
    assert (await client.head(url, headers={**headers, **TUS})).status_code == 410
    late = await patch(client, headers, url, CHUNK, data[CHUNK : 2 * CHUNK])
    assert late.status_code == 410 and late.json()["code"] == "upload_gone"
    # The worker's sweep discards the partial bytes.
    assert temp_files(store) != []
    assert await uploads_service.expire_uploads(db, store) == 1
    assert temp_files(store) == []
    assert (await db.get(Upload, upload_id, populate_existing=True)).status == "expired"  # type: ignore[union-attr]


async def test_an_upload_is_visible_to_its_creator_only(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, store: LocalBlobStore
) -> None:
    data = noisy_jpeg()
    url = (await create(client, tenant.headers("engineer1"), data)).headers["Location"]
    other = await make_tenant(db, "Other")
    for headers in (tenant.headers("engineer2"), tenant.headers("admin"), other.headers("admin")):
        assert (await client.head(url, headers={**headers, **TUS})).status_code == 404
        assert (await client.get(url, headers=headers)).status_code == 404
        sent = await patch(client, headers, url, 0, data[:CHUNK])
        assert sent.status_code == 404 and sent.headers["Tus-Resumable"] == "1.0.0"
    assert await head_offset(client, tenant.headers("engineer1"), url) == 0
    unknown = f"/api/v1/uploads/{uuid.uuid4()}"
    assert (
        await client.head(unknown, headers={**tenant.headers("engineer1"), **TUS})
    ).status_code == 404
    viewer = await client.post(
        "/api/v1/uploads",
        headers={**tenant.headers("viewer"), **TUS, "Upload-Length": "10"},
    )
    assert viewer.status_code == 403


async def test_protocol_errors_are_explicit(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = png()
    no_version = await client.post(
        "/api/v1/uploads", headers={**headers, "Upload-Length": str(len(data))}
    )
    assert no_version.status_code == 412
    assert no_version.headers["Tus-Version"] == "1.0.0"
    no_hash = await client.post(
        "/api/v1/uploads", headers={**headers, **TUS, "Upload-Length": str(len(data))}
    )
    assert no_hash.status_code == 422 and no_hash.json()["field"] == "Upload-Metadata.sha256"
    bad_meta = await client.post(
        "/api/v1/uploads",
        headers={**headers, **TUS, "Upload-Length": "5", "Upload-Metadata": "sha256 !!!"},
    )
    assert bad_meta.status_code == 400
    url = (await create(client, headers, data)).headers["Location"]
    wrong_type = await client.patch(
        url,
        headers={**headers, **TUS, "Upload-Offset": "0", "Content-Type": "image/png"},
        content=data,
    )
    assert wrong_type.status_code == 415
    no_offset = await client.patch(
        url,
        headers={**headers, **TUS, "Content-Type": "application/offset+octet-stream"},
        content=data,
    )
    assert no_offset.status_code == 400


async def test_a_second_writer_waits_its_turn(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    headers = tenant.headers("engineer1")
    data = png()
    url = (await create(client, headers, data)).headers["Location"]
    async with store.temp(uuid.UUID(url.rsplit("/", 1)[1])):  # another PATCH is writing
        busy = await patch(client, headers, url, 0, data)
    assert busy.status_code == 409 and busy.json()["code"] == "upload_busy"
    assert busy.headers["Retry-After"] == "1"
    assert (await patch(client, headers, url, 0, data)).status_code == 204


async def test_disk_bytes_past_the_committed_offset_are_discarded(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    """A crash after writing but before the commit leaves extra bytes on disk; the database
    offset is the truth and the resumed upload still verifies."""
    headers = tenant.headers("engineer1")
    data = noisy_jpeg()
    url = (await create(client, headers, data)).headers["Location"]
    await patch(client, headers, url, 0, data[:CHUNK])
    async with store.temp(uuid.UUID(url.rsplit("/", 1)[1])) as temp:
        await temp.append(b"garbage that was never acknowledged")
    assert await head_offset(client, headers, url) == CHUNK
    await upload_rest(client, headers, url, data, CHUNK)
    assert await store.read_all(sha(data)) == data


async def test_pending_attachments_of_other_orgs_stay_pending(
    client: httpx.AsyncClient,
    db: AsyncSession,
    tenant: Tenant,
    ticket: Ticket,
    store: LocalBlobStore,
) -> None:
    """Bytes uploaded by one organisation never complete another's attachment."""
    other = await make_tenant(db, "Other")
    assert other.customer
    from tests.fixtures.factories import make_ticket

    theirs = await make_ticket(
        db, other.actor("dispatcher"), other.customer, assign_to=other.engineers[0]
    )
    data = png()
    body = register_body(data, mime="image/png")
    await client.post(
        f"/api/v1/tickets/{theirs.id}/attachments", json=body, headers=other.headers("engineer1")
    )
    assert (await upload(client, tenant.headers("engineer1"), data)).status_code == 204
    row = await db.get(Attachment, uuid.UUID(body["id"]), populate_existing=True)
    assert row is not None and row.status == "pending"


async def test_no_transaction_is_open_while_a_slow_body_arrives(
    app: Any,
    committing_client: httpx.AsyncClient,
    committing_db: AsyncSession,
    engine: AsyncEngine,
    store: LocalBlobStore,
) -> None:
    """A phone on a poor link may take minutes over one chunk: no database transaction may
    wait with it (it would hold back every sync pull and meet the server's
    idle_in_transaction_session_timeout). Real commits: the app's own sessions."""
    t = await make_tenant(committing_db, "Slow phone")
    await committing_db.commit()
    headers = t.headers("engineer1")
    data = noisy_jpeg()
    url = (await create(committing_client, headers, data)).headers["Location"]
    seen: list[int] = []

    async def count_idle_transactions() -> None:
        async with engine.connect() as probe:
            seen.append(
                await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND state LIKE 'idle in transaction%' "
                        "AND pid <> pg_backend_pid()"
                    )
                )
            )

    pieces = [data[i : i + 8192] for i in range(0, CHUNK, 8192)]
    status, response = await _asgi_patch(
        app, headers, url, 0, pieces, declared=CHUNK, on_receive=count_idle_transactions
    )
    assert status == 204 and response["upload-offset"] == str(CHUNK)
    assert len(seen) > len(pieces) and set(seen) == {0}
