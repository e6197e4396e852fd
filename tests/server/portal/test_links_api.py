"""The staff API of the customer pages: status links, QR labels, revocation, isolation."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import httpx
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from server.links import LinkKind
from server.links import service as links
from tests.fixtures.factories import headers_for, make_tenant, make_ticket
from tests.server.portal.helpers import token_of


async def test_a_status_link_is_reused_listed_and_revoked(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, t.asset)
    path = f"/api/v1/tickets/{ticket.id}/status-link"
    first = await client.post(path, headers=t.headers("dispatcher"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert "/t/" in body["url"]
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (dt.datetime.now(dt.UTC) + dt.timedelta(days=90))) < dt.timedelta(
        minutes=5
    )
    again = await client.post(path, headers=t.headers("agent"))
    assert again.json()["id"] == body["id"] and again.json()["url"] == body["url"]

    listed = await client.get(f"/api/v1/tickets/{ticket.id}/links", headers=t.headers("viewer"))
    assert [(x["id"], x["live"]) for x in listed.json()] == [(body["id"], True)]
    # The list shows which link, never one that opens (viewers may not make links).
    assert token_of(body["url"]) not in listed.text
    assert listed.json()[0]["url"].endswith(f"/t/{token_of(body['url'])[:4]}…")

    page = await client.get(f"/t/{token_of(body['url'])}")
    assert page.status_code == 200
    revoked = await client.delete(f"/api/v1/links/{body['id']}", headers=t.headers("admin"))
    assert revoked.status_code == 200 and revoked.json()["live"] is False
    assert (await client.get(f"/t/{token_of(body['url'])}")).status_code == 404
    fresh = await client.post(path, headers=t.headers("dispatcher"))
    assert fresh.json()["id"] != body["id"]


async def test_a_closed_work_orders_link_expires_30_days_after_the_close(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, t.asset)
    closed = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    ticket.status, ticket.closed_at = "closed", closed
    await db.flush()
    r = await client.post(
        f"/api/v1/tickets/{ticket.id}/status-link", headers=t.headers("dispatcher")
    )
    expires = dt.datetime.fromisoformat(r.json()["expires_at"])
    assert abs(expires - (closed + dt.timedelta(days=30))) < dt.timedelta(seconds=1)


async def test_engineers_other_orgs_and_viewers(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, other = await make_tenant(db), await make_tenant(db)
    mine = await make_ticket(db, t.actor(), t.customer, t.site, t.asset, assign_to=t.engineers[0])
    theirs = await make_ticket(db, t.actor(), t.customer, t.site, t.asset, assign_to=t.engineers[1])
    engineer = headers_for(t.users["engineer1"])
    ok = await client.post(f"/api/v1/tickets/{mine.id}/status-link", headers=engineer)
    assert ok.status_code == 200
    for path in (f"/api/v1/tickets/{theirs.id}/status-link", f"/api/v1/tickets/{theirs.id}/links"):
        method = client.post if path.endswith("status-link") else client.get
        assert (await method(path, headers=engineer)).status_code == 404
        assert (await method(path, headers=other.headers("admin"))).status_code == 404
    viewer = await client.post(
        f"/api/v1/tickets/{mine.id}/status-link", headers=t.headers("viewer")
    )
    assert viewer.status_code == 403
    link_id = ok.json()["id"]
    assert (
        await client.delete(f"/api/v1/links/{link_id}", headers=other.headers("admin"))
    ).status_code == 404
    assert (
        await client.delete(f"/api/v1/links/{uuid.uuid4()}", headers=t.headers("admin"))
    ).status_code == 404


async def test_labels_png_pdf_and_reissue(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t, other = await make_tenant(db), await make_tenant(db)
    assert t.asset is not None and other.asset is not None
    t.asset.name = "冷水机组 2 号"
    await db.flush()
    png = await client.get(f"/api/v1/assets/{t.asset.id}/label.png", headers=t.headers("viewer"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as img:
        assert img.width >= 300 and img.height > img.width
    live = await links.current(db, org_id=t.org.id, kind=LinkKind.QR, subject_id=t.asset.id)
    assert live is not None and live.expires_at is None
    old_token = links.token_for(live)
    assert (await client.get(f"/q/{old_token}")).status_code == 200

    pdf = await client.post(
        "/api/v1/assets/labels.pdf",
        json={"asset_ids": [str(t.asset.id)]},
        headers=t.headers("dispatcher"),
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    foreign = await client.post(
        "/api/v1/assets/labels.pdf",
        json={"asset_ids": [str(other.asset.id)]},
        headers=t.headers("dispatcher"),
    )
    assert foreign.status_code == 404
    too_many = await client.post(
        "/api/v1/assets/labels.pdf",
        json={"asset_ids": [str(uuid.uuid4()) for _ in range(201)]},
        headers=t.headers("dispatcher"),
    )
    assert too_many.status_code == 422

    again = await client.post(
        f"/api/v1/assets/{t.asset.id}/label/reissue", headers=t.headers("dispatcher")
    )
    assert again.status_code == 200
    assert (await client.get(f"/q/{old_token}")).status_code == 404
    assert (await client.get(f"/q/{token_of(again.json()['url'])}")).status_code == 200
    other_png = await client.get(
        f"/api/v1/assets/{other.asset.id}/label.png", headers=t.headers("admin")
    )
    assert other_png.status_code == 404


async def test_demo_seed_links_every_asset_and_open_work_order(db: AsyncSession) -> None:
    from server.portal import demo

    t = await make_tenant(db)
    assert t.asset is not None
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, t.asset)
    await demo.seed(db, t.org)
    await demo.seed(db, t.org)  # again: the same links
    qr = await links.list_for(db, org_id=t.org.id, kind=LinkKind.QR, subject_id=t.asset.id)
    status = await links.list_for(db, org_id=t.org.id, kind=LinkKind.STATUS, subject_id=ticket.id)
    assert len(qr) == 1 and len(status) == 1


async def test_engineers_cannot_revoke_a_qr_label(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.asset is not None
    await make_ticket(db, t.actor(), t.customer, t.site, t.asset, assign_to=t.engineers[0])
    png = await client.get(f"/api/v1/assets/{t.asset.id}/label.png", headers=t.headers("admin"))
    assert png.status_code == 200
    live = await links.current(db, org_id=t.org.id, kind=LinkKind.QR, subject_id=t.asset.id)
    assert live is not None
    engineer = headers_for(t.users["engineer1"])
    assert (await client.delete(f"/api/v1/links/{live.id}", headers=engineer)).status_code == 403
    done = await client.delete(f"/api/v1/links/{live.id}", headers=t.headers("dispatcher"))
    assert done.status_code == 200 and done.json()["kind"] == "qr" and not done.json()["live"]
