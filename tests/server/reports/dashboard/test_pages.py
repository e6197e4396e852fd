"""The managers' dashboard through the app: the cookie login (flags, CSRF, refresh, log
out, the limits), the redirects, the pages in English and Chinese on a seeded year, an
engineer's own scorecard only, and another organisation's ids finding nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import security
from server.auth.models import RefreshToken, User
from server.auth.service import TokenPair  # the pair login returns
from server.config import get_settings
from server.reports.dashboard import http as web
from tests.fixtures.factories import PASSWORD, Tenant, make_tenant
from tests.server.reports.dashboard.seed import ENGINEERS, seed


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """The Set-Cookie headers by cookie name (the raw header, flags and all)."""
    out = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        out[name] = header
    return out


async def log_in(
    client: httpx.AsyncClient, user: User, *, next_: str | None = None, lang: str | None = None
) -> httpx.Response:
    form = await client.get("/dashboard/login", params={"lang": lang} if lang else None)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text
    data = {"csrf": csrf.group(1), "email": user.email, "password": PASSWORD}
    if next_ is not None:
        data["next"] = next_
    return await client.post("/dashboard/login", data=data)


@pytest.fixture
async def year(db: AsyncSession) -> Tenant:
    t = await make_tenant(db, "Dashboard")
    await seed(db, t, count=120)
    return t


async def test_a_page_without_a_login_sends_to_the_login_page(client: httpx.AsyncClient) -> None:
    for path in ("/dashboard", "/dashboard/engineers?sort=csat", "/dashboard/work-orders?metric=x"):
        answer = await client.get(path)
        assert answer.status_code == 303
        target = urlsplit(answer.headers["location"])
        assert target.path == "/dashboard/login"
        assert parse_qs(target.query)["next"] == [path]


async def test_logging_in_sets_strict_http_only_cookies_and_goes_where_it_was_asked(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    answer = await log_in(client, year.users["viewer"], next_="/dashboard/faults?preset=3m")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/faults?preset=3m"
    cookies = set_cookies(answer)
    for name in (web.ACCESS, web.REFRESH, web.CSRF):
        flags = cookies[name].lower()
        assert "httponly" in flags and "samesite=strict" in flags and "path=/dashboard" in flags
        assert "secure" not in flags  # not production: the tests speak plain HTTP
    page = await client.get("/dashboard/faults?preset=3m")
    assert page.status_code == 200
    assert "Top faults per product model" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in page.text


def test_cookies_are_secure_in_production() -> None:
    settings = get_settings().model_copy(update={"ENV": "production"})
    response = Response()
    web.store(response, settings, TokenPair(access_token="a", refresh_token="r", expires_in=900))
    web.set_csrf(response, settings, web.new_csrf())
    cookies = response.headers.getlist("set-cookie")
    assert len(cookies) == 3 and all("; secure" in c.lower() for c in cookies)


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example/",
        "//evil.example/dashboard",
        "/\\evil.example",
        "/api/v1/tickets",
        "/dashboardx",
        "javascript:alert(1)",
        "/dashboard\r\nSet-Cookie: x=1",
    ],
)
async def test_a_next_elsewhere_goes_to_the_overview(
    client: httpx.AsyncClient, year: Tenant, unsafe: str
) -> None:
    answer = await log_in(client, year.users["admin"], next_=unsafe)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"


async def test_a_wrong_password_shows_the_form_again_in_the_readers_language(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    form = await client.get("/dashboard/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "登录管理看板" in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    data = {"csrf": csrf.group(1), "email": year.users["admin"].email, "password": "nope"}
    answer = await client.post("/dashboard/login", data=data, headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 401
    assert "电子邮箱或密码不正确" in answer.text
    assert web.ACCESS not in set_cookies(answer)
    english = await client.post("/dashboard/login?lang=en", data=data)
    assert "The e-mail or the password is wrong." in english.text


async def test_a_login_without_the_forms_csrf_token_is_refused(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await client.get("/dashboard/login")
    data = {"csrf": "forged" * 8, "email": year.users["admin"].email, "password": PASSWORD}
    answer = await client.post("/dashboard/login", data=data)
    assert answer.status_code == 403
    assert web.ACCESS not in set_cookies(answer)


async def test_login_attempts_are_limited_like_the_apis(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    form = await client.get("/dashboard/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    data = {"csrf": csrf.group(1), "email": year.users["admin"].email, "password": "wrong"}
    # The limiter counts per clock minute: a burst begun just before it rolls over would be
    # counted in two windows (eleven password checks take seconds on a busy machine).
    if (left := 60 - time.time() % 60) < 30:
        await asyncio.sleep(left + 0.05)
    statuses = [(await client.post("/dashboard/login", data=data)).status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    # The API's door counts the same attempts: the address is spent there too.
    api = await client.post(
        "/api/v1/auth/token", data={"username": year.users["admin"].email, "password": PASSWORD}
    )
    assert api.status_code == 429


async def test_logging_out_needs_the_csrf_token_and_ends_the_login(
    client: httpx.AsyncClient, db: AsyncSession, year: Tenant
) -> None:
    await log_in(client, year.users["dispatcher"])
    refresh = client.cookies.get(web.REFRESH)
    assert refresh
    refused = await client.post("/dashboard/logout", data={"csrf": "x"})
    assert refused.status_code == 403
    assert (await client.get("/dashboard/backlog")).status_code == 200  # still logged in
    csrf = client.cookies.get(web.CSRF)
    answer = await client.post("/dashboard/logout", data={"csrf": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/login"
    assert all("max-age=0" in c.lower() for c in set_cookies(answer).values())
    token = await db.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == security.digest(refresh))
    )
    assert token is not None and token.revoked_at is not None
    client.cookies.clear()
    client.cookies.set(web.REFRESH, refresh, path="/dashboard")
    assert (await client.get("/dashboard")).status_code == 303


async def test_an_expired_access_token_is_refreshed_on_the_next_page(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await log_in(client, year.users["agent"])
    user = year.users["agent"]
    old, _ = security.create_access_token(
        get_settings(),
        user_id=user.id,
        org_id=user.org_id,
        role=user.role,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
    )
    client.cookies.set(web.ACCESS, old, path="/dashboard")
    answer = await client.get("/dashboard/backlog")
    assert answer.status_code == 200
    renewed = set_cookies(answer)
    assert web.ACCESS in renewed and web.REFRESH in renewed


async def test_the_overview_shows_cards_charts_and_drill_links(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await log_in(client, year.users["viewer"])
    page = await client.get("/dashboard")
    assert page.status_code == 200, page.text
    html = page.text
    for metric in ("work_orders", "resolution_sla", "first_time_fix", "csat", "nps", "backlog"):
        assert f'id="card-{metric}"' in html
    assert html.count("<svg") >= 8 and "<details" in html
    assert "/dashboard/work-orders?" in html and "metric=work_orders" in html
    assert "▲" in html or "▼" in html or "▶" in html


async def test_the_pages_speak_chinese(
    client: httpx.AsyncClient, db: AsyncSession, year: Tenant
) -> None:
    year.users["admin"].locale = "zh_CN"
    await db.flush()
    await log_in(client, year.users["admin"])
    overview = (await client.get("/dashboard")).text
    for words in ("总览", "工单数", "筛选", "最近 12 个月", "退出登录", "查看数据"):
        assert words in overview, words
    assert '<html lang="zh-CN">' in overview
    english = (await client.get("/dashboard?lang=en")).text
    assert "Overview" in english and "Log out" in english and "总览" not in english
    for path in ("/dashboard/engineers", "/dashboard/faults", "/dashboard/backlog"):
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.text[-2000:])
        assert "工程师" in answer.text


async def test_the_drill_down_lists_the_work_orders_behind_a_number(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await log_in(client, year.users["dispatcher"])
    page = await client.get("/dashboard/work-orders", params={"metric": "work_orders"})
    assert page.status_code == 200, page.text
    assert page.text.count('class="work-order"') == 50  # a full page
    assert re.search(r"WO-\d{6}", page.text)
    more = re.search(r'href="([^"]+)" id="next"', page.text)
    assert more
    second = await client.get(more.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and 'class="work-order"' in second.text
    rate = await client.get("/dashboard/work-orders", params={"metric": "resolution_sla"})
    assert "Counted in the numerator" in rate.text and "All considered" in rate.text


async def test_another_organisations_ids_find_nothing(
    client: httpx.AsyncClient, db: AsyncSession, year: Tenant
) -> None:
    other = await make_tenant(db, "Other")
    await log_in(client, year.users["admin"])
    for params in (
        {"metric": "work_orders", "engineer_id": str(other.engineers[0].id)},
        {"metric": "work_orders", "customer_id": str(other.customer.id if other.customer else "")},
        {"metric": "no_such_metric"},
    ):
        answer = await client.get("/dashboard/work-orders", params=params)
        assert answer.status_code == 404, params
        assert other.engineers[0].display_name not in answer.text


async def test_an_engineer_sees_only_their_own_scorecard(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await log_in(client, year.users["engineer1"])
    me, colleague = ENGINEERS["en"][0], ENGINEERS["en"][1]
    page = await client.get("/dashboard/engineers")
    assert page.status_code == 200, page.text
    assert page.text.count('class="engineer"') == 1
    assert me in page.text and colleague not in page.text
    assert 'id="f-engineer"' not in page.text  # no engineer to choose
    # Asking for a colleague's work shows one's own.
    theirs = await client.get(
        "/dashboard/work-orders",
        params={"metric": "work_orders", "engineer_id": str(year.engineers[1].id)},
    )
    assert theirs.status_code == 200
    assert colleague not in theirs.text


async def test_unreadable_filters_are_left_out_and_named(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await log_in(client, year.users["viewer"])
    answer = await client.get(
        "/dashboard",
        params={"from": "yesterday", "priority": "P9", "engineer_id": "nope", "period": "hour"},
    )
    assert answer.status_code == 200
    assert 'id="invalid"' in answer.text
    for name in ("from", "priority", "engineer_id", "period"):
        assert name in answer.text


async def test_an_address_in_two_organisations_chooses_one_on_the_form(
    client: httpx.AsyncClient, db: AsyncSession, year: Tenant
) -> None:
    other = await make_tenant(db, "Second employer")
    twin = other.users["viewer"]
    twin.email = year.users["viewer"].email
    await db.flush()
    answer = await log_in(client, year.users["viewer"])
    assert answer.status_code == 409
    assert "several organisations" in answer.text
    assert f'<option value="{other.org.slug}">' in answer.text
    assert f'<option value="{year.org.slug}">' in answer.text
    csrf = client.cookies.get(web.CSRF)
    data = {
        "csrf": csrf,
        "email": twin.email,
        "password": PASSWORD,
        "organisation": year.org.slug,
    }
    chosen = await client.post("/dashboard/login", data=data)
    assert chosen.status_code == 303
    overview = await client.get("/dashboard/engineers")
    assert ENGINEERS["en"][0] in overview.text  # the first organisation's engineers


async def test_hostile_names_stay_text_on_every_page(
    client: httpx.AsyncClient, db: AsyncSession, year: Tenant
) -> None:
    hostile = "<script>alert(1)</script>\u202e" + "长" * 170  # the column holds 200
    year.engineers[0].display_name = hostile
    year.engineers[0].team = "<img src=x onerror=alert(2)>"
    await db.flush()
    await log_in(client, year.users["admin"])
    for path in ("/dashboard", "/dashboard/engineers", "/dashboard/backlog?group=engineer"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # shown, as text
