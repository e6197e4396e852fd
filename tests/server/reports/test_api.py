"""The KPI API over HTTP: JSON, CSV (parsed back), the catalogue's languages, the
problems a bad query gets, and engineers' scorecards."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.reports import WorkOrderFact
from server.reports.metrics import CATALOGUE
from tests.server.reports.kpi_data import march

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


async def get(
    client: httpx.AsyncClient, headers: dict[str, str], path: str = "", **params: Any
) -> httpx.Response:
    return await client.get(f"/api/v1/kpis{path}", params=params, headers=headers)


async def test_the_catalogue_in_english_and_chinese(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    data = await march(db)
    en = await get(client, data.t.headers("viewer"), "/metrics")
    zh = await get(client, data.t.headers("viewer"), "/metrics", lang="zh_CN")
    assert en.status_code == zh.status_code == 200
    assert [m["name"] for m in en.json()] == list(CATALOGUE)
    first_time_fix = {m["name"]: m for m in zh.json()}["first_time_fix"]
    assert first_time_fix["label"] == "一次修复率"
    assert (first_time_fix["unit"], first_time_fix["anchor"]) == ("percent", "resolved_at")


async def test_kpis_as_json(client: httpx.AsyncClient, db: AsyncSession) -> None:
    data = await march(db)
    resp = await get(
        client, data.t.headers("dispatcher"), period="none", metrics="nps,resolve_hours", **MARCH
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["time_zone"], body["metrics"]) == ("Asia/Shanghai", ["nps", "resolve_hours"])
    [row] = body["rows"]
    assert row["values"]["nps"] == {"value": 0, "numerator": 0, "denominator": 3, "count": None}
    assert row["values"]["resolve_hours"]["value"] == 24.2
    assert row["values"]["resolve_hours"]["count"] == 5
    # An empty text filter, as an empty form field sends it, is no filter (found by fuzzing).
    empty = await get(client, data.t.headers("dispatcher"), period="none", team="", **MARCH)
    assert empty.status_code == 200, empty.text
    assert empty.json()["rows"][0]["values"]["utilisation"]["value"] == 50.0


async def test_kpis_as_csv_parse_back_with_formulas_defused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    data = await march(db)
    a = await db.get(WorkOrderFact, data.ids["A"])
    assert a is not None
    a.team = '=HYPERLINK("http://x")'
    await db.flush()
    headers = {**data.t.headers("viewer"), "Accept": "text/csv"}
    resp = await get(
        client, headers, period="month", group_by="team", metrics="resolved,csat", **MARCH
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert not resp.text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(resp.text)))
    assert lines[0] == ["period_start", "group", "label", "resolved", "csat"]
    rows = {line[1]: line for line in lines[1:]}
    assert rows['\'=HYPERLINK("http://x")'][3:] == ["1", "5.0"]
    assert rows[""][3:] == ["4", "3.5"]  # no team: B, C, D, E; csat of B and C
    bom = await get(client, data.t.headers("viewer"), format="csv", bom="true", **MARCH)
    assert bom.content.startswith("\ufeff".encode())


async def test_a_bad_query_is_a_problem_that_says_what_to_fix(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    data = await march(db)
    headers = data.t.headers("admin")
    cases = [
        ({"from": "2026-03-31", "to": "2026-03-01"}, "before `from`"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "three years"),
        ({"metrics": "resolved,bogus"}, "unknown metric 'bogus'"),
        ({"window_days": "0"}, "window_days"),
        ({"window_days": "+5"}, "window_days"),
        ({"period": "year"}, "period"),
        ({"group_by": "colour"}, "group_by"),
    ]
    for params, words in cases:
        resp = await get(client, headers, **params)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert words in resp.text, (params, resp.text)
    drill = await get(client, headers, "/work-orders", metric="travel_share")
    assert drill.status_code == 422 and "does not count work orders" in drill.text
    cursor = await get(client, headers, "/work-orders", metric="resolved", cursor="not-json")
    assert cursor.status_code == 400


async def test_an_engineer_reads_their_own_scorecard_only(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    data = await march(db)
    me, other = (str(e.id) for e in data.t.engineers)
    headers = data.t.headers("engineer1")
    own = await get(client, headers, f"/scorecards/{me}", **MARCH)
    assert own.status_code == 200, own.text
    lines = {line["metric"]: line for line in own.json()["lines"]}
    assert lines["resolved"]["value"]["value"] == 3
    assert lines["resolved"]["organisation"]["value"] == 5
    assert (await get(client, headers, f"/scorecards/{other}", **MARCH)).status_code == 404
    listed = await get(client, headers, "/scorecards", **MARCH)
    assert [c["engineer_id"] for c in listed.json()["engineers"]] == [me]
