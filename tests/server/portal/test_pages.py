"""The customer pages over HTTP: what they show, what they refuse, what they write."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import Attachment
from server.events import OutboxEvent
from server.field import TicketNote
from server.links import LinkKind
from server.links import service as links
from server.portal import links as portal_links
from server.tickets import Ticket, TicketEvent
from shared.ids import uuid7
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.server.portal.helpers import move, png_bytes, token_of

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


async def _status_token(db: AsyncSession, ticket: Ticket) -> str:
    issued = await portal_links.status_link_for(db, ticket)
    await db.flush()
    return token_of(issued.url)


async def _qr_token(db: AsyncSession, t: Tenant) -> str:
    assert t.asset is not None
    issued = await portal_links.qr_link_for(db, t.asset)
    await db.flush()
    return token_of(issued.url)


async def test_the_status_page_shows_the_customer_safe_view(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    t.org.timezone = "Asia/Shanghai"
    t.engineers[0].display_name = "Wei Zhang-Internal"
    ticket = await make_ticket(
        db, t.actor(), t.customer, t.site, t.asset, assign_to=t.engineers[0], title="Chiller E31"
    )
    ticket.planned_start = dt.datetime(2026, 12, 8, 2, 40, tzinfo=dt.UTC)  # 10:40 in Shanghai
    db.add(
        TicketNote(
            id=uuid7(),
            org_id=t.org.id,
            ticket_id=ticket.id,
            text="INTERNAL-NOTE-secret",
            author="user:x",
            received_at=dt.datetime.now(dt.UTC),
        )
    )
    await move(db, t.actor("engineer1"), ticket, Action.ACCEPT)
    token = await _status_token(db, ticket)

    en = await client.get(f"/t/{token}")
    assert en.status_code == 200, en.text
    assert "about 10:40" in en.text and "Asia/Shanghai" in en.text
    assert "Chiller E31" in en.text and "WO-" in en.text
    assert "Your engineer: Wei" in en.text and "Zhang-Internal" not in en.text
    assert "Engineer confirmed" in en.text and "Request received" in en.text
    for secret in ("INTERNAL-NOTE-secret", "user:", "lat", "cost", "price"):
        assert secret not in en.text
    assert "<script" not in en.text

    zh = await client.get(f"/t/{token}", headers=ZH)
    assert "约 10:40" in zh.text and 'lang="zh-CN"' in zh.text
    switched = await client.get(f"/t/{token}?lang=en", headers=ZH)
    assert "about 10:40" in switched.text


async def test_reasons_staff_typed_stay_out(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, t.asset)
    await move(db, t.actor(), ticket, Action.CANCEL, reason="REASON-customer-is-rude")
    token = await _status_token(db, ticket)
    page = await client.get(f"/t/{token}")
    assert page.status_code == 200
    assert "Cancelled" in page.text and "REASON-customer-is-rude" not in page.text
    assert 'name="note"' not in page.text  # a cancelled work order takes no more notes


@pytest.mark.parametrize("position", [0, 21, 22, 43])
async def test_tampered_tokens_get_the_404_page(
    client: httpx.AsyncClient, db: AsyncSession, position: int
) -> None:
    t = await make_tenant(db)
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, t.asset)
    token = await _status_token(db, ticket)
    swapped = "A" if token[position] != "A" else "B"
    forged = token[:position] + swapped + token[position + 1 :]
    for path in (f"/t/{forged}", f"/q/{forged}", "/t/short", f"/t/{token}x"):
        r = await client.get(path, headers=ZH)
        assert r.status_code == 404 and "此链接无法使用" in r.text


async def test_expired_revoked_and_foreign_tokens_are_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    mine = await make_ticket(db, t.actor(), t.customer, t.site, t.asset, title="MINE-title")
    other = await make_ticket(db, t.actor(), t.customer, t.site, t.asset, title="OTHER-title")
    _, expired_token = links.issue(
        db,
        org_id=t.org.id,
        kind=LinkKind.STATUS,
        subject_id=mine.id,
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
    )
    await db.flush()
    assert (await client.get(f"/t/{expired_token}")).status_code == 404
    token = await _status_token(db, mine)
    page = await client.get(f"/t/{token}")
    assert "MINE-title" in page.text and "OTHER-title" not in page.text
    # A status token opens only its own work order: no parameter reaches another.
    page = await client.get(f"/t/{token}?ticket_id={other.id}&id={other.id}")
    assert "OTHER-title" not in page.text
    # Kinds do not mix: a status token is no QR token and the reverse.
    assert (await client.get(f"/q/{token}")).status_code == 404
    qr = await _qr_token(db, t)
    assert (await client.get(f"/t/{qr}")).status_code == 404
    assert (await client.post(f"/q/{token}", data={"what": "x"})).status_code == 404
    link = await links.current(db, org_id=t.org.id, kind=LinkKind.STATUS, subject_id=mine.id)
    assert link is not None
    await links.revoke(db, org_id=t.org.id, link_id=link.id)
    await db.flush()
    assert (await client.get(f"/t/{token}")).status_code == 404
    assert (await client.post(f"/t/{token}", data={"note": "hi"})).status_code == 404


async def test_a_work_order_ended_long_ago_is_refused_whatever_its_link(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, t.asset)
    token = await _status_token(db, ticket)  # minted while open: 90 days
    ticket.status = "closed"
    ticket.closed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    await db.flush()
    assert (await client.get(f"/t/{token}")).status_code == 404
    ticket.closed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    await db.flush()
    page = await client.get(f"/t/{token}")
    assert page.status_code == 200 and "Closed" in page.text


async def test_the_customer_adds_a_note_and_a_photo(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, t.asset)
    token = await _status_token(db, ticket)
    empty = await client.post(f"/t/{token}", data={"note": ""}, headers=ZH)
    assert empty.status_code == 422 and "请填写留言或添加照片" in empty.text
    bad = await client.post(
        f"/t/{token}", data={"note": "x"}, files={"photos": ("a.txt", b"hello", "image/png")}
    )
    assert bad.status_code == 422 and "JPEG, PNG or HEIC" in bad.text
    sent = await client.post(
        f"/t/{token}",
        data={"note": "The alarm is back"},
        files={"photos": ("p.png", png_bytes(), "image/png")},
    )
    assert sent.status_code == 303
    shown = await client.get(sent.headers["location"])
    assert "the service team has your information" in shown.text
    assert "You added information" in shown.text
    event = await db.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "customer_update"
        )
    )
    assert event is not None and event.actor == "customer:status"
    assert event.changes["note"] == "The alarm is back" and len(event.changes["photos"]) == 1
    photo = await db.get(Attachment, event.changes["photos"][0])
    assert photo is not None and photo.status == "available" and photo.role == "photo"
    outbox = await db.scalar(
        select(OutboxEvent).where(
            OutboxEvent.aggregate_id == ticket.id, OutboxEvent.topic == "ticket.customer_update"
        )
    )
    assert outbox is not None and outbox.payload["changes"]["source"] == "status"


async def _count(db: AsyncSession, t: Tenant) -> int:
    assert t.asset is not None
    return int(await db.scalar(select(func.count()).where(Ticket.asset_id == t.asset.id)) or 0)


async def test_a_qr_report_opens_one_work_order_then_adds_to_it(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.asset is not None
    token = await _qr_token(db, t)
    form = await client.get(f"/q/{token}", headers=ZH)
    assert (
        form.status_code == 200 and "设备报修" in form.text and t.asset.serial_number in form.text
    )
    first = await client.post(
        f"/q/{token}",
        data={
            "what": "Water leaking\nunder the unit",
            "name": "Li Na",
            "phone": "+86 138 0000 0000",
            "email": "li@example.com",
            "preferred": "morning",
            "website": "",
        },
        files={"photos": ("p.png", png_bytes(), "image/png")},
    )
    assert first.status_code == 200, first.text
    assert "We received your report as work order WO-" in first.text
    ticket = await db.scalar(select(Ticket).where(Ticket.asset_id == t.asset.id))
    assert ticket is not None
    assert (ticket.channel, ticket.site_id, ticket.customer_id) == (
        "qr",
        t.asset.site_id,
        t.asset.customer_id,
    )
    assert ticket.title == "Water leaking" and "Li Na" in ticket.description
    assert ticket.created_by == "customer:qr"
    status_token = first.text.split("/t/")[1][:44]
    assert (await client.get(f"/t/{status_token}")).status_code == 200

    second = await client.post(f"/q/{token}", data={"what": "Still leaking"}, headers=ZH)
    assert second.status_code == 200 and "已添加到该工单" in second.text
    # Holding the label is not holding the repair: no link to the open work order.
    assert "/t/" not in second.text and status_token not in second.text
    assert await _count(db, t) == 1
    update = await db.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "customer_update"
        )
    )
    assert update is not None and update.changes["note"] == "Still leaking"


async def test_qr_form_errors_honeypot_and_limits(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    token = await _qr_token(db, t)
    bad = await client.post(
        f"/q/{token}", data={"what": "", "email": "nope", "name": "Kept"}, headers=ZH
    )
    assert bad.status_code == 422
    assert "请描述出了什么问题" in bad.text and "电子邮箱地址格式不正确" in bad.text
    assert 'value="Kept"' in bad.text
    bot = await client.post(f"/q/{token}", data={"what": "spam", "website": "http://spam"})
    assert bot.status_code == 200 and await _count(db, t) == 0
    for _ in range(3):  # 5 posts per token per hour: 2 above, 3 here
        await client.post(f"/q/{token}", data={"what": ""})
    limited = await client.post(f"/q/{token}", data={"what": "again"}, headers=ZH)
    assert limited.status_code == 429 and "分钟后重试" in limited.text
    assert int(limited.headers["Retry-After"]) > 0


async def test_size_limits_and_the_per_address_limit(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    from server.portal import photos
    from server.portal.pages.router import PAGE_FORM_MAX_BYTES, PER_ADDRESS, PER_TOKEN

    t = await make_tenant(db)
    tickets = [await make_ticket(db, t.actor(), t.customer, t.site, t.asset) for _ in range(5)]
    tokens = [await _status_token(db, ticket) for ticket in tickets]
    huge = await client.post(
        f"/t/{tokens[0]}",
        content=b"x",
        headers={"Content-Length": str(PAGE_FORM_MAX_BYTES + 1), "Content-Type": "text/plain"},
    )
    assert huge.status_code == 413
    big = b"\xff\xd8\xff\xe0" + bytes(photos.MAX_PHOTO_BYTES)
    too_big = await client.post(
        f"/t/{tokens[0]}", data={"note": "x"}, files={"photos": ("big.jpg", big, "image/jpeg")}
    )
    assert too_big.status_code == 422 and "larger than 8 MB" in too_big.text
    sent = 1
    for token in tokens:  # PER_TOKEN posts on each link, until the address is over its limit
        for _ in range(PER_TOKEN if token != tokens[0] else PER_TOKEN - 1):
            r = await client.post(f"/t/{token}", data={"note": ""})
            sent += 1
            assert r.status_code == (422 if sent <= PER_ADDRESS else 429)
    assert sent > PER_ADDRESS
