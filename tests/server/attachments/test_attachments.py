"""Attachments on work orders: pending -> available, idempotency, isolation, the derived
images (thumbnail, customer-safe copy without EXIF/GPS) and the job that makes them."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
from PIL import ExifTags, Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from server.attachments import jobs as worker
from server.attachments import service
from server.attachments.models import Attachment, Blob
from server.attachments.storage import LocalBlobStore
from server.events.models import OutboxEvent
from server.tickets.models import Ticket
from tests.fixtures.attachments import (
    GPS_LAT,
    noisy_jpeg,
    png,
    register_body,
    sha,
    stored_attachment,
    upload,
)
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.server.attachments.conftest import blob_files
from tests.server.field.helpers import on_site


def _url(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.id}/attachments"


def _ctx(app: Any, connection: AsyncConnection, store: LocalBlobStore) -> dict[str, Any]:
    """The worker's context, its sessions joining the test's transaction."""
    maker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return {"sessionmaker": maker, "redis": app.state.redis, "blob_store": store}


async def test_metadata_first_then_bytes_makes_the_attachment_available(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    headers = tenant.headers("engineer1")
    data = noisy_jpeg()
    body = register_body(
        data,
        caption="Fan blade cracked",
        captured_at="2026-11-24T10:42:00+08:00",
        gps={"lat": 31.2304, "lon": 121.4737, "accuracy_m": 8},
    )
    created = await client.post(_url(ticket), json=body, headers=headers)
    assert created.status_code == 201
    assert created.headers["Location"] == f"/api/v1/attachments/{body['id']}"
    pending = created.json()
    assert pending["status"] == "pending" and pending["mime"] is None
    content = await client.get(f"/api/v1/attachments/{body['id']}/content", headers=headers)
    assert content.status_code == 409 and content.json()["code"] == "not_ready"
    assert (await upload(client, headers, data)).status_code == 204
    read = (await client.get(f"/api/v1/attachments/{body['id']}", headers=headers)).json()
    assert read["status"] == "available" and read["mime"] == "image/jpeg"
    assert read["available_at"] is not None
    assert read["captured_at"].startswith("2026-11-24T02:42:00")
    assert read["gps"] == {"lat": 31.2304, "lon": 121.4737, "accuracy_m": 8.0}
    topics = (
        await db.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == uuid.UUID(body["id"]))
        )
    ).all()
    assert sorted(topics) == ["attachment.available", "attachment.pending"]


async def test_bytes_first_then_metadata_is_available_at_once(
    client: httpx.AsyncClient, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    headers = tenant.headers("engineer1")
    data = png()
    assert (await upload(client, headers, data)).status_code == 204
    created = await client.post(_url(ticket), json=register_body(data), headers=headers)
    assert created.json()["status"] == "available"
    assert created.json()["mime"] == "image/png"


async def test_registering_the_same_id_again_is_idempotent(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    headers = tenant.headers("engineer1")
    body = register_body(png(), caption="Before")
    first = await client.post(_url(ticket), json=body, headers=headers)
    again = await client.post(_url(ticket), json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    changed = await client.post(_url(ticket), json={**body, "caption": "After"}, headers=headers)
    assert changed.status_code == 409
    assert changed.json()["code"] == "client_id_reused"
    assert changed.json()["differs"] == ["caption"]
    rows = await db.scalars(select(Attachment).where(Attachment.work_order_id == ticket.id))
    assert len(rows.all()) == 1


async def test_the_phone_arguments_go_through_the_same_service(
    db: AsyncSession, tenant: Tenant, ticket: Ticket
) -> None:
    """The sync mutation passes JSON values: string ids and times, a float size."""
    data = png()
    args = {
        "attachment_id": str(uuid.uuid4()),
        "ticket_id": str(ticket.id),
        "sha256": sha(data).upper(),
        "size": float(len(data)),
        "mime": "image/png",
        "role": "photo",
        "captured_at": "2026-11-24T10:42:00+08:00",
        "gps": {"lat": 31.2, "lon": 121.4, "accuracy_m": 5.0},
    }
    row = await service.register_attachment(db, tenant.actor("engineer1"), **args)
    assert row.sha256 == sha(data) and row.size == len(data) and row.status == "pending"
    same = await service.register_attachment(db, tenant.actor("engineer1"), **args)
    assert same.id == row.id


async def test_engineers_attach_only_to_their_own_work(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    body = register_body(png())
    theirs = await client.post(_url(ticket), json=body, headers=tenant.headers("engineer2"))
    assert theirs.status_code == 404
    other = await make_tenant(db, "Other")
    foreign = await client.post(_url(ticket), json=body, headers=other.headers("admin"))
    assert foreign.status_code == 404
    viewer = await client.post(_url(ticket), json=body, headers=tenant.headers("viewer"))
    assert viewer.status_code == 403
    office = await client.post(_url(ticket), json=body, headers=tenant.headers("dispatcher"))
    assert office.status_code == 201


async def test_lists_and_reads_are_scoped(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    assert tenant.customer
    mine = await stored_attachment(db, tenant.actor("engineer1"), ticket, store, png())
    other_ticket = await make_ticket(
        db, tenant.actor("dispatcher"), tenant.customer, assign_to=tenant.engineers[1]
    )
    theirs = await stored_attachment(
        db, tenant.actor("engineer2"), other_ticket, store, png(colour=(0, 0, 0))
    )
    engineer = tenant.headers("engineer1")
    listed = (await client.get(_url(ticket), headers=engineer)).json()["items"]
    assert [a["id"] for a in listed] == [str(mine.id)]
    assert (await client.get(_url(other_ticket), headers=engineer)).status_code == 404
    for path in ("", "/content"):
        url = f"/api/v1/attachments/{theirs.id}{path}"
        assert (await client.get(url, headers=engineer)).status_code == 404
    office = (await client.get(_url(other_ticket), headers=tenant.headers("viewer"))).json()
    assert [a["id"] for a in office["items"]] == [str(theirs.id)]
    other = await make_tenant(db, "Other")
    url = f"/api/v1/attachments/{mine.id}/content"
    assert (await client.get(url, headers=other.headers("admin"))).status_code == 404


async def test_customer_copy_has_no_gps_while_the_original_keeps_it(
    app: Any,
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    tenant: Tenant,
    ticket: Ticket,
    store: LocalBlobStore,
) -> None:
    headers = tenant.headers("dispatcher")
    data = noisy_jpeg(1200, 900)
    attachment = await stored_attachment(db, tenant.actor("engineer1"), ticket, store, data)
    base = f"/api/v1/attachments/{attachment.id}"
    not_yet = await client.get(f"{base}/customer-copy", headers=headers)
    assert not_yet.status_code == 409 and not_yet.headers["Retry-After"] == "5"
    assert await worker.derive_images(_ctx(app, connection, store), str(tenant.org.id), sha(data))

    original = await client.get(f"{base}/content", headers=headers)
    assert original.content == data
    gps = Image.open(io.BytesIO(original.content)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert gps[ExifTags.GPS.GPSLatitude] == GPS_LAT

    copy = await client.get(f"{base}/customer-copy", headers=headers)
    assert copy.status_code == 200 and copy.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(copy.content))
    assert image.format == "JPEG" and image.size == (1200, 900)
    assert dict(image.getexif()) == {}
    assert b"FieldPhone" not in copy.content and b"Exif" not in copy.content

    thumb = await client.get(f"{base}/thumbnail", headers=headers)
    assert Image.open(io.BytesIO(thumb.content)).size == (320, 240)
    read = (await client.get(base, headers=headers)).json()
    assert read["thumbnail_ready"] and read["customer_copy_ready"]


async def test_the_derive_job_is_idempotent(
    app: Any,
    connection: AsyncConnection,
    db: AsyncSession,
    tenant: Tenant,
    ticket: Ticket,
    store: LocalBlobStore,
) -> None:
    data = noisy_jpeg()
    await stored_attachment(db, tenant.actor("engineer1"), ticket, store, data)
    ctx = _ctx(app, connection, store)
    await worker.derive_images(ctx, str(tenant.org.id), sha(data))
    blob = await db.get(Blob, (tenant.org.id, sha(data)), populate_existing=True)
    assert blob is not None and blob.derived_at is not None
    first = (blob.thumbnail_sha256, blob.customer_sha256, blob.derived_at)
    files = blob_files(store)
    assert len(files) == 3  # the original, the thumbnail, the customer copy
    await worker.derive_images(ctx, str(tenant.org.id), sha(data))
    # Forced: even a run that finds no record makes the very same bytes.
    await db.execute(
        Blob.__table__.update()
        .where(Blob.sha256 == sha(data))
        .values(derived_at=None, thumbnail_sha256=None, customer_sha256=None)
    )
    await worker.derive_images(ctx, str(tenant.org.id), sha(data))
    blob = await db.get(Blob, (tenant.org.id, sha(data)), populate_existing=True)
    assert blob is not None
    assert (blob.thumbnail_sha256, blob.customer_sha256) == first[:2]
    assert blob_files(store) == files


async def test_the_sweep_makes_what_a_lost_job_did_not(
    app: Any,
    connection: AsyncConnection,
    db: AsyncSession,
    tenant: Tenant,
    ticket: Ticket,
    store: LocalBlobStore,
) -> None:
    data = png()
    await stored_attachment(db, tenant.actor("engineer1"), ticket, store, data)
    await db.execute(
        Blob.__table__.update()
        .where(Blob.sha256 == sha(data))
        .values(created_at=Blob.created_at - __import__("datetime").timedelta(minutes=5))
    )
    await worker.sweep_attachments(_ctx(app, connection, store))
    blob = await db.get(Blob, (tenant.org.id, sha(data)), populate_existing=True)
    assert blob is not None and blob.thumbnail_sha256 is not None


async def test_a_completed_upload_queues_the_derive_job(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore, app: Any
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    original = app.state.jobs

    class Recorder:
        async def send(self, jobs: list[tuple[str, dict[str, Any]]]) -> None:
            sent.extend(jobs)

    app.state.jobs = Recorder()
    try:
        data = png()
        assert (await upload(client, tenant.headers("engineer1"), data)).status_code == 204
    finally:
        app.state.jobs = original
    assert [name for name, _ in sent] == ["attachments.derive_images"]
    assert sent[0][1]["sha256"] == sha(data)


async def test_documents_have_no_thumbnail(
    app: Any,
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    tenant: Tenant,
    ticket: Ticket,
    store: LocalBlobStore,
) -> None:
    pdf = b"%PDF-1.4\n%%EOF\n"
    attachment = await stored_attachment(
        db, tenant.actor("engineer1"), ticket, store, pdf, role="document"
    )
    await worker.derive_images(_ctx(app, connection, store), str(tenant.org.id), sha(pdf))
    headers = tenant.headers("engineer1")
    base = f"/api/v1/attachments/{attachment.id}"
    assert (await client.get(f"{base}/thumbnail", headers=headers)).status_code == 404
    assert (await client.get(f"{base}/customer-copy", headers=headers)).status_code == 404
    original = await client.get(f"{base}/content", headers=headers)
    assert original.content == pdf and original.headers["content-type"] == "application/pdf"


async def test_downloads_support_ranges_and_etags(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    data = noisy_jpeg()
    attachment = await stored_attachment(db, tenant.actor("engineer1"), ticket, store, data)
    url = f"/api/v1/attachments/{attachment.id}/content"
    headers = tenant.headers("engineer1")
    part = await client.get(url, headers={**headers, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = await client.get(url, headers={**headers, "Range": "bytes=-10"})
    assert tail.content == data[-10:]
    beyond = await client.get(url, headers={**headers, "Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    etag = part.headers["ETag"]
    assert (await client.get(url, headers={**headers, "If-None-Match": etag})).status_code == 304


async def test_if_none_match_compares_weakly_and_star_matches(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    """RFC 9110 section 13.1.2: If-None-Match uses the weak comparison (a cache that keeps
    W/"x" has the bytes of "x") and * matches any representation; both were a 200 with
    the whole file again."""
    data = noisy_jpeg()
    attachment = await stored_attachment(db, tenant.actor("engineer1"), ticket, store, data)
    url = f"/api/v1/attachments/{attachment.id}/content"
    headers = tenant.headers("engineer1")
    etag = (await client.get(url, headers=headers)).headers["ETag"]
    for sent in (f"W/{etag}", "*", f'"other", W/{etag}', f' {etag} , "x"'):
        response = await client.get(url, headers={**headers, "If-None-Match": sent})
        assert response.status_code == 304, (sent, response.status_code)
    for sent in ('"other"', 'W/"other"', etag.upper()):
        response = await client.get(url, headers={**headers, "If-None-Match": sent})
        assert response.status_code == 200, (sent, response.status_code)


async def test_a_capture_time_with_no_utc_instant_is_a_422_naming_it(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket
) -> None:
    """Times are stored in UTC: 9999-12-31T23:30-05:00 is past year 9999 there (it reached
    the database and failed as a 500), 0001-01-01T00:30+01:00 before year 1; and an instant
    lies within 1970 to 2200 in UTC (shared/times.py)."""
    for when in (
        "9999-12-31T23:30:00-05:00",
        "0001-01-01T00:30:00+01:00",
        "2199-12-31T18:30-14:00",
    ):
        body = register_body(png(), mime="image/png", captured_at=when)
        response = await client.post(_url(ticket), json=body, headers=tenant.headers("engineer1"))
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "captured_at"
    edge = register_body(png(), mime="image/png", captured_at="2199-12-31T18:30:00-05:00")
    kept = await client.post(_url(ticket), json=edge, headers=tenant.headers("engineer1"))
    assert kept.status_code == 201, kept.text
    assert kept.json()["captured_at"] == "2199-12-31T23:30:00Z"


async def test_an_attachments_visit_must_be_a_visit_of_its_work_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """As for every field record: a colleague's visit on another work order, or a visit
    that does not exist, is refused (422 naming visit_id); the work order's own is kept."""
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    _, colleagues_visit = await on_site(db, t, engineer=2)
    headers = t.headers("engineer1")
    for other in (colleagues_visit.id, uuid.uuid4()):
        body = register_body(png(), mime="image/png", visit_id=str(other))
        response = await client.post(_url(ticket), json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "visit_id"
    own = register_body(png(), mime="image/png", visit_id=str(visit.id))
    created = await client.post(_url(ticket), json=own, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["visit_id"] == str(visit.id)


async def test_a_colleagues_attachment_id_reveals_nothing_of_it(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Naming the id of a colleague's attachment (a work order the engineer cannot see) is
    a conflict like another organisation's id: no list of the fields that differ, which
    would let the engineer test guesses about its caption or position."""
    t = await make_tenant(db)
    mine, _ = await on_site(db, t)
    theirs, _ = await on_site(db, t, engineer=2)
    body = register_body(png(), mime="image/png", caption="key under the mat")
    created = await client.post(_url(theirs), json=body, headers=t.headers("engineer2"))
    assert created.status_code == 201, created.text
    probe = await client.post(
        _url(mine), json={**body, "caption": "key in the shed"}, headers=t.headers("engineer1")
    )
    assert probe.status_code == 409, probe.text
    assert probe.json()["code"] == "client_id_reused" and "differs" not in probe.json()
