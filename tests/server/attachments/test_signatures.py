"""Customer signatures: the PNG as an attachment, with strokes, signer and status signed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import service
from server.attachments.models import Attachment, Signature
from server.tickets.models import Ticket
from tests.fixtures.attachments import noisy_jpeg, png, sha, upload
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.field.helpers import on_site

STROKES = [[[10, 12, 0], [14, 15, 16], [20, 19, 33]], [[40, 40], [44, 41]]]


def _body(data: bytes, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(fields.pop("id", uuid.uuid4())),
        "attachment_id": str(fields.pop("attachment_id", uuid.uuid4())),
        "sha256": sha(data),
        "size": len(data),
        "signer_name": "Li Na",
        "strokes": STROKES,
        "signed_status": "resolved",
        "device_time": "2026-11-24T11:05:00+08:00",
        **fields,
    }


def _url(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.id}/signatures"


async def test_a_signature_keeps_image_strokes_signer_and_the_status_signed(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    headers = tenant.headers("engineer1")
    image = png(300, 120, (255, 255, 255))
    body = _body(image)
    created = await client.post(_url(ticket), json=body, headers=headers)
    assert created.status_code == 201, created.text
    read = created.json()
    assert read["signer_name"] == "Li Na" and read["signed_status"] == "resolved"
    assert read["strokes"] == STROKES
    assert dt.datetime.fromisoformat(read["device_time"]) == dt.datetime.fromisoformat(
        "2026-11-24T11:05:00+08:00"
    )
    attachment = await db.get(Attachment, uuid.UUID(body["attachment_id"]))
    assert attachment is not None
    assert (attachment.role, attachment.status) == ("signature", "pending")
    assert (await upload(client, headers, image)).status_code == 204
    url = f"/api/v1/attachments/{body['attachment_id']}"
    after = (await client.get(url, headers=headers)).json()
    assert after["status"] == "available" and after["mime"] == "image/png"
    listed = (await client.get(_url(ticket), headers=tenant.headers("viewer"))).json()
    assert [s["id"] for s in listed] == [body["id"]]


async def test_capturing_again_is_idempotent_and_a_change_is_a_conflict(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    headers = tenant.headers("engineer1")
    body = _body(png())
    first = await client.post(_url(ticket), json=body, headers=headers)
    again = await client.post(_url(ticket), json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    renamed = await client.post(_url(ticket), json={**body, "signer_name": "Wang"}, headers=headers)
    assert renamed.status_code == 409 and renamed.json()["field"] == "signature_id"
    assert renamed.json()["code"] == "client_id_reused"
    # A second signature may not claim the first one's image.
    stolen = await client.post(
        _url(ticket), json={**body, "id": str(uuid.uuid4())}, headers=headers
    )
    assert stolen.status_code == 409 and stolen.json()["field"] == "attachment_id"
    count = await db.scalars(select(Signature).where(Signature.work_order_id == ticket.id))
    assert len(count.all()) == 1


async def test_a_signature_must_be_a_png(
    client: httpx.AsyncClient, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    headers = tenant.headers("engineer1")
    photo = noisy_jpeg()
    body = _body(photo)
    await client.post(_url(ticket), json=body, headers=headers)
    assert (await upload(client, headers, photo)).status_code == 204
    url = f"/api/v1/attachments/{body['attachment_id']}"
    after = (await client.get(url, headers=headers)).json()
    assert after["status"] == "rejected" and "image/png" in after["rejected_reason"]


async def test_bad_signatures_are_refused_with_the_field(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    headers = tenant.headers("engineer1")
    for change, field in (
        ({"signed_status": "done"}, "signed_status"),
        ({"strokes": []}, "strokes"),
        ({"strokes": [[[1]]]}, "strokes"),
        ({"signer_name": ""}, "signer_name"),
    ):
        response = await client.post(_url(ticket), json=_body(png(), **change), headers=headers)
        assert response.status_code == 422, change
        assert field in str(response.json()), change
    # The phone's path validates the same things (its strokes arrive as free JSON).
    actor = tenant.actor("engineer1")
    # A huge number would overflow when the report draws the strokes.
    for strokes in ([[["a", 1]]], [[[1, float("nan")]]], {"x": 1}, [[[10**400, 1]]]):
        try:
            await service.capture_signature(
                db,
                actor,
                signature_id=uuid.uuid4(),
                ticket_id=ticket.id,
                attachment_id=uuid.uuid4(),
                sha256=sha(b"x"),
                size=1,
                signer_name="Li Na",
                strokes=strokes,
                signed_status="resolved",
            )
        except Exception as exc:
            assert getattr(exc, "extra", {}).get("field", "").startswith("strokes"), exc
        else:
            raise AssertionError(f"{strokes!r} was accepted")


async def test_signatures_are_scoped_like_their_work_order(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, ticket: Ticket, store: Any
) -> None:
    body = _body(png())
    assert (
        await client.post(_url(ticket), json=body, headers=tenant.headers("engineer2"))
    ).status_code == 404
    agent = await client.post(_url(ticket), json=body, headers=tenant.headers("agent"))
    assert agent.status_code == 403
    other = await make_tenant(db, "Other")
    assert (await client.get(_url(ticket), headers=other.headers("admin"))).status_code == 404
    assert (await client.get(_url(ticket), headers=tenant.headers("engineer2"))).status_code == 404


async def test_a_device_time_with_no_utc_instant_is_a_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant, ticket: Ticket
) -> None:
    body = _body(png(), device_time="9999-12-31T23:30:00-05:00")
    response = await client.post(_url(ticket), json=body, headers=tenant.headers("engineer1"))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "device_time"


async def test_a_signatures_visit_must_be_a_visit_of_its_work_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    _, colleagues_visit = await on_site(db, t, engineer=2)
    headers = t.headers("engineer1")
    foreign = _body(png(), visit_id=str(colleagues_visit.id))
    refused = await client.post(_url(ticket), json=foreign, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "visit_id"
    assert await db.get(Attachment, uuid.UUID(foreign["attachment_id"])) is None
    own = await client.post(
        _url(ticket), json=_body(png(), visit_id=str(visit.id)), headers=headers
    )
    assert own.status_code == 201, own.text
