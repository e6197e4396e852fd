"""Values a caller chooses for a unique key tell nothing about another organisation
(docs/adr/0008-unique-keys-and-tenants.md): tenant B using a value tenant A holds gets the
answer it gets for a value nobody holds, or, where the key is global by nature (a client
UUID), the answer for a record of its own organisation it may not see."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import service as attachments
from server.sync.models import SyncClient
from shared.ids import uuid7
from tests.fixtures.attachments import png, register_body, sha
from tests.fixtures.factories import Tenant, make_part, make_tenant, make_ticket


def _shape(response: httpx.Response) -> tuple[int, str | None, list[str]]:
    """What an answer tells, leaving out the id the caller sent itself."""
    body: Any = response.json()
    if response.status_code < 400:
        return response.status_code, None, []
    return response.status_code, body.get("code"), sorted(set(body) - {"detail", "instance"})


async def _two(db: AsyncSession) -> tuple[Tenant, Tenant]:
    return await make_tenant(db, "Acme"), await make_tenant(db, "Demo")


async def test_skus_and_serials_of_another_organisation_are_free_values(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b = await _two(db)
    held = await make_part(db, a.actor("admin"), sku="CMP-200")
    assert a.asset and b.site
    await db.flush()
    admin = b.headers("admin")
    parts = [
        await client.post("/api/v1/parts", json={"sku": sku, "name": "Relay"}, headers=admin)
        for sku in (held.sku, "CMP-FREE")
    ]
    assets = [
        await client.post(
            "/api/v1/assets",
            json={
                "site_id": str(b.site.id),
                "product_model": a.asset.product_model,
                "serial_number": s,
            },
            headers=admin,
        )
        for s in (a.asset.serial_number, "SN-FREE")
    ]
    assert [_shape(r) for r in parts] == [(201, None, [])] * 2, parts[0].text
    assert [_shape(r) for r in assets] == [(201, None, [])] * 2, assets[0].text


async def test_another_organisations_bytes_are_unknown_like_any_hash(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b = await _two(db)
    data = png(colour=(9, 9, 9))
    await attachments.record_blob(
        db,
        org_id=a.org.id,
        sha256=sha(data),
        size=len(data),
        mime="image/png",
        width=None,
        height=None,
    )
    await db.flush()
    headers = b.headers("engineer1")
    held = await client.head(f"/api/v1/blobs/{sha(data)}", headers=headers)
    unknown = await client.head(f"/api/v1/blobs/{'0' * 64}", headers=headers)
    assert (held.status_code, unknown.status_code) == (404, 404)
    assert held.headers.get("upload-length") is None


async def test_a_client_uuid_of_another_organisation_answers_like_a_colleagues(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Attachment ids are global (the phone names them): B naming A's id, and B's engineer
    naming a colleague's, get the same 409 with nothing of the record."""
    a, b = await _two(db)
    assert a.customer and b.customer
    ids = []
    for tenant, who in ((a, 0), (b, 1)):
        ticket = await make_ticket(
            db, tenant.actor("dispatcher"), tenant.customer, assign_to=tenant.engineers[who]
        )
        attachment_id = uuid7()
        body = register_body(png(), id=attachment_id)
        actor = tenant.actor(f"engineer{who + 1}")
        await attachments.register_attachment(
            db,
            actor,
            attachment_id=attachment_id,
            ticket_id=ticket.id,
            sha256=body["sha256"],
            size=body["size"],
            mime=body["mime"],
            role="photo",
        )
        ids.append(attachment_id)
    mine = await make_ticket(db, b.actor("dispatcher"), b.customer, assign_to=b.engineers[0])
    await db.flush()
    url = f"/api/v1/tickets/{mine.id}/attachments"
    headers = b.headers("engineer1")
    foreign, colleagues = [
        await client.post(url, json=register_body(png(), id=i), headers=headers) for i in ids
    ]
    assert foreign.status_code == 409, foreign.text
    assert _shape(foreign) == _shape(colleagues)
    assert str(a.org.id) not in foreign.text


async def test_an_installation_id_of_another_organisation_answers_like_a_colleagues(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b = await _two(db)
    ids = []
    for tenant, engineer in ((a, a.engineers[0]), (b, b.engineers[1])):
        row = SyncClient(
            id=uuid.uuid4(),
            org_id=tenant.org.id,
            user_id=engineer.user_id,
            engineer_id=engineer.id,
            device="phone",
            last_seq=0,
        )
        db.add(row)
        ids.append(row.id)
    await db.flush()
    headers = b.headers("engineer1")
    foreign, colleagues = [
        await client.post(
            "/api/v1/sync/clients", json={"client_id": str(i), "device": "mine"}, headers=headers
        )
        for i in ids
    ]
    assert foreign.status_code == 409, foreign.text
    assert _shape(foreign) == _shape(colleagues)
    assert foreign.json()["detail"] == colleagues.json()["detail"]
