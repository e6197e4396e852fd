"""The ``fault_code`` filter: in the KPI API (the numbers and the drill-down count only the
work orders with that code) and on the faults page, where each code's count opens the
repairs of that model with that code."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.reports import WorkOrderFact
from tests.fixtures.factories import make_tenant
from tests.server.reports.dashboard.seed import seed
from tests.server.reports.dashboard.test_pages import log_in


async def test_the_api_filters_by_fault_code(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db, "Faults filter")
    await seed(db, t, count=150)
    today = dt.datetime.now(dt.UTC).date()
    span = {"from": (today - dt.timedelta(days=400)).isoformat(), "to": today.isoformat()}
    expected = await db.scalar(
        select(func.count()).where(
            WorkOrderFact.org_id == t.org.id,
            WorkOrderFact.fault_code == "E31",
            WorkOrderFact.product_model == "CH-350",
        )
    )
    assert expected and expected > 2
    params = {**span, "period": "none", "metrics": "work_orders", "product_model": "CH-350"}
    headers = t.headers("viewer")
    filtered = await client.get(
        "/api/v1/kpis", params={**params, "fault_code": "E31"}, headers=headers
    )
    assert filtered.status_code == 200, filtered.text
    assert filtered.json()["rows"][0]["values"]["work_orders"]["value"] == expected
    model = await client.get("/api/v1/kpis", params=params, headers=headers)
    assert model.json()["rows"][0]["values"]["work_orders"]["value"] > expected
    drill = await client.get(
        "/api/v1/kpis/work-orders",
        params={**params, "metric": "work_orders", "fault_code": "E31", "limit": 200},
        headers=headers,
    )
    assert drill.status_code == 200, drill.text
    assert len(drill.json()["items"]) == expected
    # A code longer than the column is a problem naming the parameter, not a miss.
    long = await client.get(
        "/api/v1/kpis", params={**params, "fault_code": "E" * 41}, headers=headers
    )
    assert long.status_code == 422 and "fault_code" in long.text


async def test_a_fault_codes_count_opens_its_repairs(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "Faults page")
    await seed(db, t, count=150)
    await log_in(client, t.users["viewer"])
    page = await client.get("/dashboard/faults")
    assert page.status_code == 200, page.text
    links = [
        html.unescape(h) for h in re.findall(r'href="(/dashboard/work-orders\?[^"]+)"', page.text)
    ]
    assert links
    for link in links:
        query = parse_qs(urlsplit(link).query)
        assert query["type"] == ["repair"] and query["metric"] == ["work_orders"]
        assert query["product_model"] and query["fault_code"]
        # The link's number is the count of the work orders it opens (the seed cancels none).
        shown = re.search(re.escape(html.escape(link)) + r'">([\d,]+)</a>', page.text)
        assert shown
        listed = await client.get(link)
        assert listed.status_code == 200
        assert listed.text.count('class="work-order"') == int(shown.group(1).replace(",", ""))
        assert f'value="{query["fault_code"][0]}"' in listed.text  # shown in the filter bar
