"""No answer reveals the server: no file path, no Python repr, no SQL, no stack trace; every
HTTP-layer error carries a code docs/api.md lists; no redirect is built from the Host header."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request

from server.main import _http_error
from tests.fixtures.attachments import upload
from tests.fixtures.factories import Tenant, make_tenant

DOCS = Path(__file__).resolve().parents[2] / "docs"
# What an internal leak looks like: a path, a repr, a traceback, SQL.
LEAKS = re.compile(
    r"(/tmp/|/var/|/home/|/work/|\.py\b|<[\w.]+ |object at 0x|Traceback|BufferedReader"
    r"|SELECT |INSERT |UPDATE |sqlalchemy|asyncpg|psycopg)"
)


def _documented_codes() -> set[str]:
    """The codes docs/api.md lists: its "Codes:" sentence and the attachments' own."""
    api = (DOCS / "api.md").read_text()
    parts = [
        re.search(r"Codes:(.*?)Every response carries", api, re.S),
        re.search(r"Codes\s+of\s+their\s+own:(.*?)See \[attachments", api, re.S),
    ]
    assert all(parts), "docs/api.md no longer lists the codes where this test reads them"
    return {code for part in parts if part for code in re.findall(r"`([a-z_]+)`", part[1])}


@pytest.fixture
async def tenant(client: httpx.AsyncClient, db: AsyncSession) -> Tenant:
    return await make_tenant(db)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 100,
        b"\xff\xd8\xff" + b"\x00" * 500,
        b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"x" * 100,
    ],
    ids=["png", "jpeg", "webp"],
)
async def test_a_damaged_image_is_refused_without_naming_our_files(
    client: httpx.AsyncClient, tenant: Tenant, data: bytes
) -> None:
    response = await upload(client, tenant.headers("engineer1"), data)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "unsupported_type"
    assert not LEAKS.search(response.text), body["detail"]
    assert "cannot be read" in body["detail"]


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
async def test_a_trailing_slash_is_a_404_never_a_redirect_to_the_callers_host(
    client: httpx.AsyncClient, tenant: Tenant, method: str
) -> None:
    response = await client.request(
        method,
        "/api/v1/tickets/",
        headers={**tenant.headers("admin"), "Host": "evil.example"},
        json={},
    )
    assert response.status_code == 404, response.text
    assert "location" not in response.headers
    body = response.json()
    assert body["code"] == "not_found" and "/api/v1/tickets)" in body["detail"]
    assert "evil" not in response.text


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000],
    ids=["arrays", "objects"],
)
async def test_deeply_nested_json_is_a_validation_error(
    client: httpx.AsyncClient, tenant: Tenant, body: str
) -> None:
    response = await client.post(
        "/api/v1/customers",
        content=body,
        headers={**tenant.headers("admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert "nested" in response.json()["detail"]


async def test_a_form_with_too_many_parts_is_a_bad_request(client: httpx.AsyncClient) -> None:
    files = {f"f{i}": ("a", b"x") for i in range(1001)}
    response = await client.post("/api/v1/auth/token", files=files)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad_request"


def _request(path: str = "/api/v1/x") -> Request:
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "headers": []}
    return Request(scope)


@pytest.mark.parametrize("status", range(400, 600))
async def test_every_status_the_http_layer_raises_has_a_documented_code(status: int) -> None:
    """Starlette and FastAPI raise HTTPException themselves (404, 405, 400 for a form they
    cannot parse, ...): whatever the status, the code is one docs/api.md lists."""
    try:
        exc = HTTPException(status)
    except ValueError:  # not an HTTP status Python knows
        return
    response = await _http_error(_request(), exc)
    code = __import__("json").loads(bytes(response.body))["code"]
    assert code in _documented_codes(), (status, code)
    assert response.status_code == status


async def test_the_readiness_check_names_no_exception(app: Any, client: httpx.AsyncClient) -> None:
    from server.db import make_engine

    healthy = app.state.engine
    app.state.engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=1)
    try:
        response = await client.get("/ready")
    finally:
        await app.state.engine.dispose()
        app.state.engine = healthy
    assert response.status_code == 503
    assert response.json()["database"] == "error: unreachable"


HUGE = "X" * 100_000


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        (
            "POST",
            "/api/v1/business-calendars",
            {"json": {"name": "c", "timezone": "UTC", "hours": {HUGE: [["09:00", "17:00"]]}}},
        ),
        (
            "POST",
            "/api/v1/business-calendars",
            {"json": {"name": "c", "timezone": "UTC", "hours": {"mon": [[HUGE, "17:00"]]}}},
        ),
        (
            "POST",
            "/api/v1/business-calendars",
            {"json": {"name": "c", "timezone": HUGE[:64], "hours": {"mon": [["09:00", "17:00"]]}}},
        ),
        (
            "POST",
            "/api/v1/engineers",
            {
                "json": {
                    "email": "huge@example.com",
                    "password": "a-long-secret-1",
                    "display_name": "H",
                    "working_hours": {HUGE: [["09:00", "17:00"]]},
                }
            },
        ),
        (
            "POST",
            "/api/v1/parts/import",
            {
                "content": f"sku,name,{HUGE}\nA,B,C\n".encode(),
                "headers": {"Content-Type": "text/csv"},
            },
        ),
        (
            "POST",
            "/api/v1/parts/import",
            {
                "content": f"sku,name,serialised\nA,B,{HUGE}\n".encode(),
                "headers": {"Content-Type": "text/csv"},
            },
        ),
    ],
    ids=[
        "calendar-day",
        "calendar-time",
        "calendar-zone",
        "engineer-day",
        "csv-column",
        "csv-flag",
    ],
)
async def test_input_echoed_in_a_problem_is_quoted_short(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    """A problem may quote what was wrong; 100,000 characters of it is not a message."""
    headers = {**tenant.headers("admin"), **kwargs.pop("headers", {})}
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code in (200, 400, 422), response.text[:300]  # a dry run is 200
    assert len(response.content) < 5000, response.text[:300]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/customers", {"name": "x", **{f"k{i}": i for i in range(60_000)}}),
        ("/api/v1/customers", {"name": "x", "k" * 500_000: 1}),
        ("/api/v1/checklist-templates", {"name": "x", "items": [{"label": "y" * 300}] * 2_000}),
        ("/api/v1/tickets", {"title": "x", "k" * 300_000: 1, "é" * 300_000: 2}),
    ],
    ids=["60,000 unknown keys", "a 500,000-character key", "2,000 bad items", "two long keys"],
)
async def test_a_validation_problem_is_short_whatever_the_body(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]
) -> None:
    """A 1 MB body with 60,000 unknown keys was answered with 5 MB of problem (one error
    each), and a 500,000-character key came back three times (`detail`, `field` and the
    error's `loc`): the answer lists the first 50 errors, counts them all, and cuts each
    key it names."""
    response = await client.post(path, json=body, headers=tenant.headers("admin"))
    assert response.status_code == 422, response.text[:300]
    assert len(response.content) < 20_000, len(response.content)
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert len(problem["errors"]) <= 50
    assert problem["error_count"] >= len(problem["errors"])
    assert problem["errors_truncated"] is (problem["error_count"] > 50)
    assert problem["detail"].startswith("body.") and problem["field"]


async def test_every_validation_error_is_listed_when_there_are_few(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/v1/customers", json={"name": "", "phone": "x"}, headers=tenant.headers("admin")
    )
    problem = response.json()
    assert [e["loc"] for e in problem["errors"]] == [["body", "name"], ["body", "phone"]]
    assert (problem["error_count"], problem["errors_truncated"]) == (2, False)
    assert problem["detail"].endswith("(and 1 more)")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"name": "Plain Ltd"}'),
        ("application/x-www-form-urlencoded", b"name=Form+Ltd"),
        ("application/xml", b"<customer><name>Xml Ltd</name></customer>"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nM\r\n--x--\r\n',
        ),
        (None, b'{"name": "Untyped Ltd"}'),
    ],
    ids=["text", "form", "xml", "multipart", "no type"],
)
async def test_a_body_that_is_not_json_is_a_415_saying_to_send_json(
    client: httpx.AsyncClient, tenant: Tenant, content_type: str | None, body: bytes
) -> None:
    """It was a 422 "body: Input should be a valid dictionary or object to extract fields
    from", which names neither the problem nor the fix."""
    headers = tenant.headers("admin")
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post("/api/v1/customers", content=body, headers=headers)
    assert response.status_code == 415, response.text
    problem = response.json()
    assert problem["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in problem["detail"], problem
    listed = await client.get("/api/v1/customers", headers=tenant.headers("admin"))
    assert not any(c["name"].endswith(" Ltd") for c in listed.json()["items"])


async def test_json_types_and_an_empty_body_are_read_as_before(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.headers("admin")
    for content_type in (
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/merge-patch+json",
    ):
        response = await client.post(
            "/api/v1/customers",
            content=b'{"name": "Typed"}',
            headers={**headers, "Content-Type": content_type},
        )
        assert response.status_code == 201, (content_type, response.text)
    empty = await client.post("/api/v1/customers", headers=headers)
    assert empty.status_code == 422 and empty.json()["errors"][0]["loc"] == ["body"], empty.text


async def test_json_sent_to_the_log_in_form_is_a_415_naming_the_form(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = tenant.users["admin"]
    response = await client.post(
        "/api/v1/auth/token", json={"username": user.email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 415, response.text
    assert "application/x-www-form-urlencoded" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "First Ltd", "name": "Second Ltd"}',
        b'{"name": "Ltd", "notes": {"a": 1, "a": 2}}',
        b'{"name": "Ltd", "email": null, "email": "x@example.com"}',
    ],
    ids=["top level", "nested", "null then value"],
)
async def test_a_key_named_twice_in_a_json_object_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant, body: bytes
) -> None:
    """Python keeps the last of two values, a proxy or log in front may read the first
    ({"role": "viewer", "role": "admin"}): it was created with the second, silently."""
    headers = {**tenant.headers("admin"), "Content-Type": "application/json"}
    response = await client.post("/api/v1/customers", content=body, headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["type"] == "json_repeated_key"
    assert "appears twice" in problem["detail"]
    listed = await client.get("/api/v1/customers", headers=tenant.headers("admin"))
    assert not any("Ltd" in c["name"] for c in listed.json()["items"])


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/tickets", "q"),
        ("/api/v1/customers", "q"),
        ("/api/v1/parts", "sku"),
        ("/api/v1/parts", "barcode"),
        ("/api/v1/parts/export", "model"),
        ("/api/v1/assets", "serial_number"),
        ("/api/v1/engineers", "territory"),
        ("/api/v1/engineers", "skill"),
        ("/api/v1/stock-units", "serial_number"),
    ],
)
async def test_nul_in_query_text_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, tenant: Tenant, path: str, name: str
) -> None:
    """It reached PostgreSQL, whose refusal became a 422 naming no parameter."""
    response = await client.get(path, params={name: "a\x00b"}, headers=tenant.headers("admin"))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == name and problem["errors"][0]["type"] == "string_nul", problem


async def test_nul_in_the_log_in_form_is_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email = tenant.users["admin"].email
    response = await client.post(
        "/api/v1/auth/token", data={"username": email + "\x00", "password": "x" * 12}
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "username"
