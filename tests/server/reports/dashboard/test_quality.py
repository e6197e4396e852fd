"""The quality and parts pages on a seeded year: a row per month with a cell per metric,
each number linked to the work orders behind it, the means beside their medians; and every
metric of the catalogue shown on some page of the dashboard."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import replace
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Forbidden
from server.reports import service
from server.reports.dashboard import quality
from server.reports.dashboard import selection as selecting
from server.reports.dashboard.quality import PAGE_METRICS, QUALITY
from tests.fixtures.factories import (
    Tenant,
    make_location,
    make_part,
    make_tenant,
    make_ticket,
    move,
)
from tests.server.reports.dashboard.seed import seed
from tests.server.reports.dashboard.test_pages import log_in


@pytest.fixture
async def year(db: AsyncSession) -> Tenant:
    t = await make_tenant(db, "Quality")
    await seed(db, t, count=150)
    return t


def cells(page: str, metric: str) -> list[str]:
    """The inner markup of the table cells of ``metric``."""
    return re.findall(rf'<td class="num" data-metric="{metric}">(.*?)</td>', page)


async def test_every_metric_of_the_catalogue_is_on_some_page(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await log_in(client, year.users["admin"])
    shown: set[str] = set()
    for path in PAGE_METRICS:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text[-2000:])
        found = set(re.findall(r'data-metric="([a-z_0-9]+)"', page.text))
        assert set(PAGE_METRICS[path]) <= found, (path, set(PAGE_METRICS[path]) - found)
        shown |= found
    missing = {m.name for m in service.catalogue()} - shown
    assert not missing, f"metrics no dashboard page shows: {sorted(missing)}"


async def test_the_quality_page_has_a_row_per_month_and_links_every_number(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await log_in(client, year.users["viewer"])
    page = await client.get("/dashboard/quality", params={"preset": "3m"})
    assert page.status_code == 200, page.text
    text = page.text
    for key, metrics in QUALITY:
        table = text[text.index(f'id="quality-{key}"') :]
        table = table[: table.index("</table>")]
        # Three months and the whole period.
        assert table.count('<th scope="row">') == 4, key
        for metric in metrics:
            assert f'<th scope="col" class="num" data-metric="{metric}">' in table
    resolve = cells(text, "resolve_hours")
    assert len(resolve) == 4 and all(" h</a>" in c for c in resolve if c != "–")
    # A month's number opens that month's work orders; a rate opens those that met it.
    sla = [c for c in cells(text, "resolution_sla") if c.startswith("<a ")]
    assert sla
    href = html.unescape(re.search(r'href="([^"]+)"', sla[0]).group(1))  # type: ignore[union-attr]
    query = parse_qs(urlsplit(href).query)
    assert query["metric"] == ["resolution_sla"] and query["part"] == ["numerator"]
    assert query["preset"] == ["custom"] and query["from"][0].endswith("-01")
    listed = await client.get(href)
    assert listed.status_code == 200 and 'class="work-order"' in listed.text
    # Engineer days are not work orders: nothing to open.
    assert all("<a " not in c for c in cells(text, "utilisation"))
    assert any(c != "–" for c in cells(text, "utilisation"))
    # The charts: each time's mean against its median, the two SLAs.
    charts = text[text.index('id="quality-charts"') :]
    assert charts.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart line"') == 6
    assert "Time to resolve" in charts and "stroke-dasharray" in charts


async def test_the_quality_and_parts_pages_speak_chinese(
    client: httpx.AsyncClient, db: AsyncSession, year: Tenant
) -> None:
    year.users["admin"].locale = "zh_CN"
    await db.flush()
    await log_in(client, year.users["admin"])
    quality = await client.get("/dashboard/quality")
    assert quality.status_code == 200
    for words in ("服务质量与时效", "时效", "客户反馈", "整个时间段", "平均值与中位数", "备件"):
        assert words in quality.text, words
    parts = await client.get("/dashboard/parts")
    assert parts.status_code == 200
    assert "备件消耗" in parts.text and "质量与时效" in parts.text


async def test_the_parts_page_reads_the_stock_ledger(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    year = await make_tenant(db, "Parts")
    admin = year.actor("admin")
    assert year.customer
    ticket = await make_ticket(db, admin, year.customer, year.site)  # numbered before the seed
    part = await make_part(db, admin, cost=Decimal("12.50"))
    store = await make_location(db, admin)
    await move(db, admin, kind="receive", part_id=part.id, quantity=10, to_location_id=store.id)
    used = {"part_id": part.id, "ticket_id": ticket.id, "from_location_id": store.id}
    await move(db, admin, kind="consume", quantity=3, **used)
    await seed(db, year, count=60)
    await log_in(client, year.users["dispatcher"])
    page = await client.get("/dashboard/parts", params={"group": "territory"})
    assert page.status_code == 200, page.text
    assert 'id="parts-figures"' in page.text and 'id="parts-table"' in page.text
    for metric in ("parts_consumed_qty", "parts_consumed_cost", "parts_turnover"):
        assert f'data-metric="{metric}"' in page.text
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == 3
    figures = page.text[page.text.index('id="parts-figures"') : page.text.index("</table>")]
    assert '<div class="value">3</div>' in figures and '<div class="value">37.50</div>' in figures
    assert 'name="group" value="territory"' in page.text  # kept by the filter form
    assert "Parts consumed (cost) by territory" in page.text
    # The header links every page, keeping the selection.
    for key in ("overview", "quality", "engineers", "faults", "backlog", "parts"):
        assert f'id="nav-{key}"' in page.text


async def test_an_engineer_reads_their_own_quality_and_parts(
    client: httpx.AsyncClient, year: Tenant
) -> None:
    await log_in(client, year.users["engineer1"])
    mine = await client.get("/dashboard/quality", params={"engineer_id": str(year.engineers[1].id)})
    assert mine.status_code == 200, mine.text
    links = [
        html.unescape(h) for h in re.findall(r'href="(/dashboard/work-orders\?[^"]+)"', mine.text)
    ]
    assert links
    # Every number is their own work, whatever the address asked for.
    assert all(
        parse_qs(urlsplit(h).query)["engineer_id"] == [str(year.engineers[0].id)] for h in links
    )
    parts = await client.get("/dashboard/parts", params={"group": "engineer"})
    assert parts.status_code == 200
    assert "by engineer" not in parts.text and ">Engineer</a>" not in parts.text


async def test_the_parts_page_needs_the_parts_scope(db: AsyncSession, year: Tenant) -> None:
    viewer = year.actor("viewer")
    blind = replace(viewer, scopes=viewer.scopes - {"parts:read"})
    selection = selecting.read({}, dt.date.today())
    with pytest.raises(Forbidden):
        await quality.parts(db, blind, selection, lambda key, **_: key, "en")
