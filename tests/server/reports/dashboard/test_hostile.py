"""The dashboard against a hostile or careless address bar: every odd value is a page in
the reader's language (left out and named, or a refusal page), never a 500."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.reports.dashboard import http as web
from server.reports.dashboard import selection as selecting
from tests.server.reports.dashboard.test_pages import log_in
from tests.server.reports.kpi_data import march

PAGES = (
    "",
    "/quality",
    "/parts",
    "/engineers",
    "/faults",
    "/backlog",
    "/work-orders?metric=resolved",
)


def test_dates_outside_the_apis_years_are_left_out_and_named() -> None:
    today = dt.date(2026, 3, 15)
    for value in ("0001-01-01", "9999-12-31", "1969-12-31", "2200-01-01"):
        sel = selecting.read({"preset": "custom", "from": value, "to": "2026-03-01"}, today)
        assert "from" in sel.invalid, value
        sel = selecting.read({"preset": "custom", "to": value}, today)
        assert "to" in sel.invalid, value


async def test_year_one_and_9999_are_pages_not_500s(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    data = await march(db)
    assert (await log_in(client, data.t.users["admin"])).status_code == 303
    for path in PAGES:
        sep = "&" if "?" in path else "?"
        for query in ("from=9999-12-01&to=9999-12-31", "from=0001-01-01&to=0001-01-31"):
            page = await client.get(f"/dashboard{path}{sep}preset=custom&{query}")
            assert page.status_code == 200, (path, query, page.text[:300])
            assert page.headers["content-type"].startswith("text/html")


async def test_a_tampered_cursor_is_a_page_in_the_readers_language(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    data = await march(db)
    assert (await log_in(client, data.t.users["admin"])).status_code == 303
    for cursor in ("x", "WyIxIiwiYSJd", "a" * 600, "W10=", "eyJ"):
        for lang, words in (("en", "start again"), ("zh_CN", "从第一页重新开始")):
            page = await client.get(
                "/dashboard/work-orders",
                params={"metric": "resolved", "cursor": cursor, "lang": lang},
            )
            assert page.status_code == 400, page.text[:300]
            assert page.headers["content-type"].startswith("text/html")
            assert words in page.text


async def test_the_old_cookies_open_nothing_after_logging_out(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    data = await march(db)
    assert (await log_in(client, data.t.users["viewer"])).status_code == 303
    access, refresh = client.cookies.get(web.ACCESS), client.cookies.get(web.REFRESH)
    assert access and refresh
    client.cookies.clear()
    client.cookies.set(web.ACCESS, access, path="/dashboard")
    # An access token without its login's refresh cookie is no login either.
    assert (await client.get("/dashboard/backlog")).status_code == 303
    client.cookies.set(web.REFRESH, refresh, path="/dashboard")
    assert (await client.get("/dashboard/backlog")).status_code == 200
    csrf = web.new_csrf()
    client.cookies.set(web.CSRF, csrf, path="/dashboard")
    out = await client.post("/dashboard/logout", data={"csrf": csrf})
    assert out.status_code == 303
    for cookies in ({web.ACCESS: access}, {web.ACCESS: access, web.REFRESH: refresh}):
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value, path="/dashboard")
        assert (await client.get("/dashboard/backlog")).status_code == 303, cookies


async def test_an_address_the_dashboard_does_not_have_is_a_page_in_the_readers_language(
    client: httpx.AsyncClient,
) -> None:
    for method, path in (
        ("GET", "/dashboard/nope"),
        ("GET", "/dashboard/quality/x"),
        ("GET", "/dashboard/logout"),
        ("POST", "/dashboard"),
        ("PUT", "/dashboard/login"),
        ("DELETE", "/dashboard/engineers"),
    ):
        for accept, words in (("zh-CN", "仪表板中没有这个页面"), ("en", "no such page")):
            page = await client.request(method, path, headers={"Accept-Language": accept})
            assert page.status_code in (404, 405), (method, path, page.status_code)
            assert page.headers["content-type"].startswith("text/html"), (method, path)
            assert words in page.text
    # A page's address with a trailing slash goes to the page, keeping the query.
    slash = await client.get("/dashboard/quality/?preset=3m")
    assert (slash.status_code, slash.headers["location"]) == (303, "/dashboard/quality?preset=3m")
    assert (await client.get("/dashboard/")).headers["location"] == "/dashboard"
    assert (await client.get("/dashboard//evil.example")).status_code == 404
    # A page asked with a method it does not answer: 405 with what it allows.
    for method, path, allow in (
        ("HEAD", "/dashboard", "GET"),
        ("HEAD", "/dashboard/quality", "GET"),
        ("POST", "/dashboard/faults", "GET"),
        ("GET", "/dashboard/logout", "POST"),
        ("DELETE", "/dashboard/login", "GET, POST"),
    ):
        answer = await client.request(method, path)
        assert (answer.status_code, answer.headers.get("allow")) == (405, allow), (method, path)
