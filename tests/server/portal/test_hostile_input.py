"""The customer pages against a careless or hostile client: whatever is sent, the answer
is a page in the customer's language (never the API's JSON problem, never a 500)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.portal import links as portal_links
from server.tickets import Ticket, TicketEvent
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.server.portal.helpers import token_of

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


async def _tokens(db: AsyncSession, t: Tenant) -> tuple[str, str, Ticket]:
    assert t.asset is not None
    ticket = await make_ticket(db, t.actor(), t.customer, t.site, None)
    status = await portal_links.status_link_for(db, ticket)
    qr = await portal_links.qr_link_for(db, t.asset)
    await db.flush()
    return token_of(status.url), token_of(qr.url), ticket


def _is_page(r: httpx.Response) -> bool:
    return r.headers.get("content-type", "").startswith("text/html")


async def test_a_nul_in_a_field_is_removed_not_a_json_problem(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    status, qr, ticket = await _tokens(db, t)
    added = await client.post(f"/t/{status}", data={"note": "leak\x00ing", "web\x00": "x"})
    assert added.status_code == 303, added.text
    event = await db.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "customer_update"
        )
    )
    assert event is not None and event.changes["note"] == "leaking"
    reported = await client.post(
        f"/q/{qr}", data={"what": "pump\x00 broken", "name": "A\x00n"}, headers=ZH
    )
    assert reported.status_code == 200 and _is_page(reported), reported.text
    made = await db.scalar(select(Ticket).where(Ticket.asset_id == t.asset.id))  # type: ignore[union-attr]
    assert made is not None and made.title == "pump broken" and "\x00" not in made.description


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_nul_in_the_query_is_an_unknown_language(
    method: str, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    status, qr, _ = await _tokens(db, t)
    for path in (f"/t/{status}", f"/q/{qr}", "/t/" + "x" * 44):
        r = await client.request(method, path, params={"lang": "zh_CN\x00"}, data={"x": "1"})
        assert _is_page(r) and r.status_code in (200, 303, 404, 422), (path, r.text)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"--x\r\n", "multipart/form-data"),  # no boundary
        (b"garbage" * 50, "multipart/form-data; boundary=abc"),
        (b'{"note": "x"}', "application/json"),
        ("&".join(f"f{i}=x" for i in range(50)).encode(), "application/x-www-form-urlencoded"),
    ],
)
async def test_an_unreadable_body_asks_again_on_the_page(
    content: bytes, content_type: str, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    status, qr, _ = await _tokens(db, t)
    for path in (f"/t/{status}", f"/q/{qr}"):
        r = await client.post(path, content=content, headers={"content-type": content_type})
        assert r.status_code == 422 and _is_page(r), (path, r.text)


async def test_a_path_past_the_token_is_the_not_found_page(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    status, qr, _ = await _tokens(db, t)
    for path in (f"/t/{status}/", f"/t/{status}/x", f"/q/{qr}/", f"/q/{qr}/../x", "/t/", "/q/"):
        for method in ("GET", "POST"):
            r = await client.request(method, path, headers=ZH)
            assert r.status_code == 404 and _is_page(r), (path, r.text)
            assert "此链接无法使用" in r.text


async def test_head_answers_like_get(client: httpx.AsyncClient, db: AsyncSession) -> None:
    """Mail scanners and chat apps ask HEAD before showing a link: not a 405."""
    t = await make_tenant(db)
    status, qr, _ = await _tokens(db, t)
    for path in (f"/t/{status}", f"/q/{qr}"):
        r = await client.head(path)
        assert r.status_code == 200 and _is_page(r) and r.content == b"", path
    for path in ("/t/" + "x" * 44, f"/q/{qr}/x"):
        assert (await client.head(path)).status_code == 404


async def test_invisible_text_is_no_text(client: httpx.AsyncClient, db: AsyncSession) -> None:
    """Zero-width and direction marks pass ``strip()``: the required fields ask again, and a
    work order's title is the first line that shows something."""
    t = await make_tenant(db)
    status, qr, _ = await _tokens(db, t)
    blank = "\u200b\u200e\u2060"
    note = await client.post(f"/t/{status}", data={"note": blank}, headers=ZH)
    assert note.status_code == 422 and "请填写留言或添加照片" in note.text
    what = await client.post(f"/q/{qr}", data={"what": blank}, headers=ZH)
    assert what.status_code == 422 and "请描述出了什么问题" in what.text
    made = await client.post(f"/q/{qr}", data={"what": f"{blank}\nDoor stuck"})
    assert made.status_code == 200, made.text
    ticket = await db.scalar(select(Ticket).where(Ticket.asset_id == t.asset.id))  # type: ignore[union-attr]
    assert ticket is not None and ticket.title == "Door stuck"


def test_a_label_prints_no_direction_override() -> None:
    """An asset named with a right-to-left override would print reversed on a label that
    stays on the machine for years."""
    from server.portal.labels import label_lines

    lines = label_lines("\u202eLift A", "\u2067M-1\u2069", "SN\u202e-42")
    assert lines == ["Lift A", "M-1", "S/N SN-42"]


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_an_ipv6_client_is_counted_by_its_64(host: str | None, key: str) -> None:
    from server.ratelimit import client_key

    assert client_key(host) == key


async def test_a_new_ipv6_address_per_post_does_not_reset_the_address_limit(
    app: object, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """One subscriber picks any address of their /64: the per-address limit counts the
    prefix (the same holds for log-in attempts)."""
    from server.portal.pages.router import PER_ADDRESS, PER_TOKEN

    t = await make_tenant(db)
    tickets = [await make_ticket(db, t.actor(), t.customer, t.site, None) for _ in range(5)]
    tokens = []
    for ticket in tickets:
        issued = await portal_links.status_link_for(db, ticket)
        tokens.append(token_of(issued.url))
    await db.flush()
    codes = []
    for n in range(PER_ADDRESS + 1):
        peer = (f"2001:db8:7:7:{n + 1:x}::1", 40000)
        transport = httpx.ASGITransport(app=app, client=peer)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            r = await http.post(f"/t/{tokens[n // PER_TOKEN]}", data={"note": ""})
            codes.append(r.status_code)
    assert codes[:PER_ADDRESS] == [422] * PER_ADDRESS and codes[PER_ADDRESS] == 429


async def test_a_body_over_the_limit_is_a_page(client: httpx.AsyncClient, db: AsyncSession) -> None:
    """Six 8 MB photos from a phone: the page says so in the customer's language, not the
    API's JSON 413 (the body is refused before it is read)."""
    from server.portal.pages.router import PAGE_FORM_MAX_BYTES

    t = await make_tenant(db)
    status, qr, _ = await _tokens(db, t)
    for path in (f"/t/{status}", f"/q/{qr}", "/s/" + "x" * 44):
        declared = await client.post(
            path,
            content=b"x",
            headers={
                "Content-Length": str(PAGE_FORM_MAX_BYTES + 1),
                "Content-Type": "multipart/form-data; boundary=x",
                **ZH,
            },
        )
        assert declared.status_code == 413 and _is_page(declared), (path, declared.text)
        assert "发送的内容太大" in declared.text and declared.headers["x-request-id"]
        assert declared.headers["Content-Security-Policy"].startswith("default-src 'none'")
    streamed = await client.post(
        f"/t/{status}",
        content=_chunks(PAGE_FORM_MAX_BYTES + 1),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    # A browser always declares a form's length; a chunked body past the limit is cut off
    # while it is read, and the page asks again.
    assert streamed.status_code == 422 and _is_page(streamed)
    api = await client.post("/api/v1/tickets", content=b"x" * (2 * 1024 * 1024))
    assert api.status_code == 413 and "json" in api.headers["content-type"]


async def _chunks(size: int):  # type: ignore[no-untyped-def]
    """A photo part that never ends, sent without a Content-Length (chunked)."""
    yield b'--x\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n\r\n'
    step = 1024 * 1024
    for start in range(0, size, step):
        yield b"x" * min(step, size - start)


async def test_a_note_to_an_ended_work_order_says_it_was_not_added(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A page opened before the work order was cancelled, sent after: the customer is told
    their message was not added (it was dropped without a word)."""
    from server.tickets import TicketEvent as Event
    from shared.lifecycle import Action
    from tests.server.portal.helpers import move

    t = await make_tenant(db)
    status, _, ticket = await _tokens(db, t)
    await move(db, t.actor(), ticket, Action.CANCEL, reason="duplicate")
    r = await client.post(f"/t/{status}", data={"note": "Still broken!"}, headers=ZH)
    assert r.status_code == 422 and "您的留言未被添加" in r.text
    added = await db.scalar(
        select(Event).where(Event.ticket_id == ticket.id, Event.kind == "customer_update")
    )
    assert added is None
