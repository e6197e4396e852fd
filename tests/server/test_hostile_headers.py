"""Numbers in headers are ASCII digits, and odd bytes in any header get a clear 4xx or are
ignored: "²".isdigit() is true and int("²") raises, int() of 5,000 digits raises."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.tickets.models import Ticket
from tests.fixtures.attachments import TUS, create, metadata, noisy_jpeg, sha, stored_attachment
from tests.fixtures.factories import Tenant, make_tenant, make_ticket

# Superscript two (latin-1 0xB2: isdigit() but not int()), Arabic-Indic three (int() says 3),
# a sign, an underscore, spaces inside, a NUL.
ODD_NUMBERS: list[bytes] = [
    "²".encode("latin-1"),
    "٣".encode(),
    b"+5",
    b"1_0",
    b"1 0",
    b"5\x00",
    b"-1",
    b"0x10",
]
# Numbers, only too large: past any limit, past a bigint (19 digits), past the length a
# header parameter took (20), past what int() reads (5,000); zeros in front count nothing.
HUGE_NUMBERS: list[bytes] = [b"9" * 19, b"9" * 20, b"9" * 21, b"9" * 5000, b"0" * 500 + b"9" * 30]


@pytest.fixture
async def tenant(client: httpx.AsyncClient, db: AsyncSession) -> Tenant:
    return await make_tenant(db)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def _assert_names_header(response: httpx.Response, name: str) -> None:
    assert _problem(response, 400, "bad_request")["field"] == name


def _short(value: object) -> str:
    return repr(value)[:30]


@pytest.mark.parametrize("value", ODD_NUMBERS, ids=_short)
async def test_an_upload_length_that_is_not_ascii_digits_is_a_400(
    client: httpx.AsyncClient, tenant: Tenant, value: bytes
) -> None:
    headers: list[tuple[bytes, bytes]] = [
        *((k.encode(), v.encode()) for k, v in tenant.headers("engineer1").items()),
        *((k.encode(), v.encode()) for k, v in TUS.items()),
        (b"Upload-Length", value),
        (b"Upload-Metadata", metadata(sha(b"abc")).encode()),
    ]
    response = await client.post("/api/v1/uploads", headers=headers)
    _assert_names_header(response, "Upload-Length")


@pytest.mark.parametrize("value", ODD_NUMBERS, ids=_short)
async def test_an_upload_offset_that_is_not_ascii_digits_is_a_400(
    client: httpx.AsyncClient, tenant: Tenant, value: bytes
) -> None:
    headers = tenant.headers("engineer1")
    created = await create(client, headers, b"abc")
    assert created.status_code == 201, created.text
    response = await client.patch(
        created.headers["Location"],
        headers=[
            *((k.encode(), v.encode()) for k, v in headers.items()),
            *((k.encode(), v.encode()) for k, v in TUS.items()),
            (b"Upload-Offset", value),
            (b"Content-Type", b"application/offset+octet-stream"),
        ],
        content=b"abc",
    )
    _assert_names_header(response, "Upload-Offset")


@pytest.mark.parametrize("value", HUGE_NUMBERS, ids=_short)
async def test_a_huge_upload_length_or_offset_is_past_the_limit_whatever_its_digits(
    client: httpx.AsyncClient, tenant: Tenant, value: bytes
) -> None:
    """Past the limit is 413 for a length and 409 for an offset past the bytes received; it
    was 400 past 19 digits and 422 past 20, for the same number too large."""
    headers = tenant.headers("engineer1")
    raw = [(k.encode(), v.encode()) for k, v in {**headers, **TUS}.items()]
    response = await client.post(
        "/api/v1/uploads",
        headers=[
            *raw,
            (b"Upload-Length", value),
            (b"Upload-Metadata", metadata(sha(b"abc")).encode()),
        ],
    )
    assert _problem(response, 413, "payload_too_large")["max_bytes"] > 0
    created = await create(client, headers, b"abc")
    octets = (b"Content-Type", b"application/offset+octet-stream")
    response = await client.patch(
        created.headers["Location"],
        headers=[*raw, (b"Upload-Offset", value), octets],
        content=b"abc",
    )
    assert _problem(response, 409, "offset_mismatch")["upload_offset"] == 0
    response = await client.patch(
        created.headers["Location"],
        headers=[*raw, (b"Upload-Offset", b"0"), octets, (b"Content-Length", value)],
        content=b"abc",
    )
    assert response.status_code == 413, response.text


@pytest.mark.parametrize(
    ("spec", "status", "part"),
    [
        (b"bytes=" + b"9" * 5000 + b"-", 416, None),  # starts past the end
        (b"bytes=0-" + b"9" * 5000, 206, slice(0, None)),  # ends past the end: clamped
        (b"bytes=-" + b"9" * 5000, 206, slice(0, None)),  # more than everything: everything
        ("bytes=²-5".encode("latin-1"), 200, slice(0, None)),  # not a range: ignored
        ("bytes=٣-5".encode(), 200, slice(0, None)),
        (b"bytes=+1-5", 200, slice(0, None)),
        (b"bytes=1-5", 206, slice(1, 6)),
    ],
    ids=_short,
)
async def test_a_range_of_odd_or_huge_numbers_is_clamped_or_ignored(
    client: httpx.AsyncClient,
    db: AsyncSession,
    tenant: Tenant,
    app: Any,
    spec: bytes,
    status: int,
    part: slice | None,
) -> None:
    assert tenant.customer
    ticket: Ticket = await make_ticket(
        db, tenant.actor("dispatcher"), tenant.customer, assign_to=tenant.engineers[0]
    )
    data = noisy_jpeg(64, 48)
    store = app.state.blob_store
    attachment = await stored_attachment(db, tenant.actor("engineer1"), ticket, store, data)
    headers = [
        *((k.encode(), v.encode()) for k, v in tenant.headers("engineer1").items()),
        (b"Range", spec),
    ]
    response = await client.get(f"/api/v1/attachments/{attachment.id}/content", headers=headers)
    assert response.status_code == status, response.text
    if part is not None:
        assert response.content == data[part]


@pytest.mark.parametrize(
    ("declared", "status"),
    [(b"9" * 5000, 413), ("²".encode("latin-1"), 422), (b"+1", 422)],
    ids=_short,
)
async def test_a_content_length_of_odd_digits_is_never_a_500(
    client: httpx.AsyncClient, tenant: Tenant, declared: bytes, status: int
) -> None:
    """A huge declared length is refused before the body is read; one that is no number is
    left to the body's real size (here: an empty body, which is invalid JSON)."""
    headers = [
        *((k.encode(), v.encode()) for k, v in tenant.headers("admin").items()),
        (b"Content-Type", b"application/json"),
        (b"Content-Length", declared),
    ]
    transport = client._transport  # the raw ASGI call: httpx would rewrite Content-Length
    request = httpx.Request("POST", "http://test/api/v1/customers", headers=headers)
    response = await transport.handle_async_request(request)
    await response.aread()
    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    "sent",
    [b"abc\x01def", "trace-é".encode("latin-1"), "追踪".encode(), b"a b", b"\x7f", b""],
    ids=repr,
)
async def test_a_request_id_with_odd_characters_is_replaced_by_ours(
    client: httpx.AsyncClient, sent: bytes
) -> None:
    response = await client.get("/health", headers=[(b"X-Request-ID", sent)])
    echoed = response.headers["x-request-id"]
    assert echoed != sent.decode("latin-1") and len(echoed) == 32 and echoed.isalnum()


async def test_a_visible_ascii_request_id_is_echoed_cut_to_64(client: httpx.AsyncClient) -> None:
    mine = "req-2026/12:06_abc+XYZ=" + "x" * 100
    response = await client.get("/health", headers={"X-Request-ID": mine})
    assert response.headers["x-request-id"] == mine[:64]


async def test_idempotency_key_and_if_match_with_odd_characters_are_a_4xx(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    assert tenant.customer
    auth = [(k.encode(), v.encode()) for k, v in tenant.headers("admin").items()]
    body = b'{"name": "Odd headers Ltd"}'
    for key in (b"k\x01y", "ключ".encode(), "²".encode("latin-1"), b"k" * 256, b" "):
        response = await client.post(
            "/api/v1/customers",
            headers=[*auth, (b"Content-Type", b"application/json"), (b"Idempotency-Key", key)],
            content=body,
        )
        assert 400 <= response.status_code < 500, (key, response.text)
    url = f"/api/v1/customers/{tenant.customer.id}"
    for tag in ('"v²"'.encode("latin-1"), '"v٣"'.encode(), b'"v' + b"9" * 50 + b'"', b"\x01"):
        response = await client.patch(
            url,
            headers=[*auth, (b"Content-Type", b"application/json"), (b"If-Match", tag)],
            content=body,
        )
        assert 400 <= response.status_code < 500, (tag, response.text)


@pytest.mark.parametrize("limit", [" 5", "+5", "1_0", "5.0", "²", "٣", "9" * 5000, "-1", "0x10"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets",
        f"/api/v1/stock-locations/{uuid.uuid4()}/balances",
        "/api/v1/stock-reports/on-hand",
        "/api/v1/sync/pull",
    ],
)
async def test_a_limit_in_the_query_is_ascii_digits(
    client: httpx.AsyncClient, tenant: Tenant, limit: str, path: str
) -> None:
    """Pydantic alone reads " 5", "+5", "1_0" and "5.0" as 5 or 10; the query's numbers are
    digits like the headers'. Every integer query parameter is listed here."""
    params = {"limit": limit, "client_id": str(uuid.uuid4())}
    response = await client.get(path, params=params, headers=tenant.headers("admin"))
    assert response.status_code == 422, (limit, response.text)
    errors = _problem(response, 422, "validation_error")["errors"]
    assert [e["loc"] for e in errors] == [["query", "limit"]], errors


@pytest.mark.parametrize("tail", ["\n", "\r\n", " ", "٣"], ids=repr)
async def test_a_digest_in_upload_metadata_with_anything_after_it_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant, tail: str
) -> None:
    """Base64 carries any bytes: a digest with a final newline passed the check ("$" also
    matches before one) and reached the 64-character column as a 500."""
    digest = sha(b"abc") + tail
    response = await client.post(
        "/api/v1/uploads",
        headers={
            **tenant.headers("engineer1"),
            **TUS,
            "Upload-Length": "3",
            "Upload-Metadata": "sha256 " + base64.b64encode(digest.encode()).decode(),
        },
    )
    assert _problem(response, 422, "unprocessable")["field"] == "Upload-Metadata.sha256"


# (Surrounding whitespace is stripped from every text of a body, so "image/jpeg\n" is fine.)
@pytest.mark.parametrize("mime", ["imagé/jpeg", "image/jpeg\u200b", "image/jp eg"], ids=repr)
async def test_a_declared_mime_with_odd_characters_is_a_422(
    client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant, mime: str
) -> None:
    assert tenant.customer
    ticket = await make_ticket(
        db, tenant.actor("dispatcher"), tenant.customer, assign_to=tenant.engineers[0]
    )
    body = {"id": str(uuid.uuid4()), "sha256": sha(b"abc"), "size": 3, "mime": mime}
    response = await client.post(
        f"/api/v1/tickets/{ticket.id}/attachments",
        json={**body, "role": "photo"},
        headers=tenant.headers("engineer1"),
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("time", ["0٨:00", "08:00\u200b", "０８:00", "8:00"], ids=repr)
async def test_working_hours_are_ascii_digits(
    client: httpx.AsyncClient, tenant: Tenant, time: str
) -> None:
    """ "\\d" also takes other scripts' digits; the calendars' parser never did."""
    response = await client.post(
        "/api/v1/engineers",
        json={
            "email": f"hours-{uuid.uuid4().hex[:8]}@example.com",
            "password": "a-long-secret-1",
            "display_name": "Hours",
            "working_hours": {"mon": [[time, "17:00"]]},
        },
        headers=tenant.headers("admin"),
    )
    assert _problem(response, 422, "validation_error")["errors"][0]["loc"][1] == "working_hours"


@pytest.mark.parametrize("quantity", ["١٢", "１", "1_000", "²"], ids=repr)
async def test_a_quantity_or_price_in_a_body_is_ascii(
    client: httpx.AsyncClient, tenant: Tenant, quantity: str
) -> None:
    """Decimal() reads "١٢" as 12 and "1_000" as 1000; the phone's protocol refuses both,
    and so does every REST body (quantities, prices, levels)."""
    admin = tenant.headers("admin")
    part = await client.post(
        "/api/v1/parts", json={"sku": uuid.uuid4().hex, "name": "Fuse"}, headers=admin
    )
    assert part.status_code == 201, part.text
    for url, body in (
        ("/api/v1/parts", {"sku": uuid.uuid4().hex, "name": "Fuse", "price": quantity}),
        (
            "/api/v1/stock-movements",
            {
                "kind": "receive",
                "part_id": part.json()["id"],
                "quantity": quantity,
                "to_location_id": str(uuid.uuid4()),
            },
        ),
    ):
        response = await client.post(url, json=body, headers=admin)
        assert _problem(response, 422, "validation_error"), (url, quantity)


@pytest.mark.parametrize(
    ("name", "first", "second"),
    [
        ("If-Match", '"v1"', '"v9"'),
        ("Idempotency-Key", "key-1", "key-2"),
        ("Authorization", None, "Bearer ffk_abcdefgh_" + "x" * 20),
        ("Content-Type", "application/json", "text/plain"),
        ("Range", "bytes=0-1", "bytes=2-3"),
        ("Upload-Offset", "0", "5"),
        ("Upload-Length", "3", "4"),
        ("Tus-Resumable", "1.0.0", "1.0.0"),
    ],
)
async def test_a_one_value_header_sent_twice_is_a_400_naming_it(
    client: httpx.AsyncClient, tenant: Tenant, name: str, first: str | None, second: str
) -> None:
    """The framework read the first of two If-Match lines: `"v1"` then `"v9"` changed the
    object at v1, though two lines are a list of tags (refused on one line). Two
    credentials, two Idempotency-Keys, two tus offsets are as ambiguous: which one did a
    proxy in front check? Nothing is written."""
    assert tenant.customer
    admin = tenant.headers("admin")
    url = f"/api/v1/customers/{tenant.customer.id}"
    values = [first or admin["Authorization"], second]
    headers = [(k, v) for k, v in admin.items() if k != name]
    headers += [(name, value) for value in values]
    headers += [] if name == "Content-Type" else [("Content-Type", "application/json")]
    response = await client.patch(url, headers=headers, content=b'{"name": "Twice Ltd"}')
    problem = _problem(response, 400, "bad_request")
    assert name in problem["detail"], problem
    assert response.headers.get("x-request-id")
    read = await client.get(url, headers=admin)
    assert read.json()["name"] != "Twice Ltd" and read.json()["version"] == 1


async def test_list_headers_may_repeat(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = [
        *tenant.headers("admin").items(),
        ("Accept-Language", "zh"),
        ("Accept-Language", "en"),
    ]
    headers += [("If-None-Match", '"a"'), ("If-None-Match", '"b"'), ("X-Request-ID", "one")]
    response = await client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200, response.text
