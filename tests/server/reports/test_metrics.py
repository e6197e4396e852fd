"""Every metric against the hand-computed dataset of kpi_data.py (March 2026, Shanghai)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Unprocessable
from server.reports import service
from server.reports.query import parse
from server.reports.schemas import Filters, KpiQuery, KpiResult, Value
from tests.server.reports.kpi_data import NOW, march, other_tenant

MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)


def q(**kw: Any) -> KpiQuery:
    kw.setdefault("start", MARCH)
    kw.setdefault("end", dt.date(2026, 4, 30))
    return KpiQuery(**kw)


def cell(result: KpiResult, period: dt.date | None, key: str | None = None) -> dict[str, Value]:
    found = [r for r in result.rows if r.period_start == period and r.key == key]
    assert len(found) == 1, [(r.period_start, r.key) for r in result.rows]
    return found[0].values


async def test_every_work_order_metric_matches_the_hand_computed_numbers(
    db: AsyncSession,
) -> None:
    data = await march(db)
    await other_tenant(db)
    result = await service.compute(db, data.t.actor("dispatcher"), q(period="month"), now=NOW)
    m = cell(result, MARCH)
    assert result.time_zone == "Asia/Shanghai"
    assert m["work_orders"].value == 8  # A to H1 (23:30 local on 31 March); not H2, Z
    assert (m["first_response_hours"].value, m["first_response_hours"].count) == (1.17, 3)
    assert m["first_response_hours_median"].value == 1.0
    assert (m["schedule_hours"].value, m["arrive_hours"].value) == (2.0, 4.0)
    assert (m["response_sla"].value, m["response_sla"].numerator) == (66.67, 2)
    assert m["response_sla"].denominator == 3
    assert (m["complaint_rate"].value, m["complaints"].value) == (12.5, 1)
    assert m["resolved"].value == 5
    assert (m["resolve_hours"].value, m["resolve_hours_median"].value) == (24.2, 24.0)
    assert m["resolve_net_hours"].value == 23.4  # A waited 4 h for the customer
    assert (m["resolution_sla"].value, m["resolution_sla"].denominator) == (66.67, 3)
    ftf = m["first_time_fix"]  # A only: B had 2 visits, D was reopened, E came back
    assert (ftf.value, ftf.numerator, ftf.denominator) == (25.0, 1, 4)
    assert (m["first_contact_resolution"].value, m["first_contact_resolution"].numerator) == (
        20.0,
        1,
    )
    assert (m["repeat_rate"].value, m["repeat_rate"].numerator) == (40.0, 2)  # A, D
    assert m["labour_cost_per_wo"].value == 60.0
    assert m["parts_cost_per_wo"].value == 10.0
    assert m["work_hours_per_wo"].value == 0.6
    assert (m["csat"].value, m["csat"].count, m["csat_satisfied"].value) == (4.0, 3, 66.67)
    nps = m["nps"]  # one promoter (A), one detractor (B), one passive (C)
    assert (nps.value, nps.numerator, nps.denominator) == (0.0, 0, 3)
    assert (m["ces"].value, m["ces"].count, m["responses"].value) == (3.5, 2, 3)
    assert m["utilisation"].value == 50.0  # 12 h of 24 h scheduled
    assert m["travel_share"].value == 25.0  # 4 h of 16 h


async def test_a_period_without_data_has_null_rates_and_means_and_zero_counts(
    db: AsyncSession,
) -> None:
    data = await march(db)
    result = await service.compute(db, data.t.actor("admin"), q(period="month"), now=NOW)
    april = cell(result, APRIL)
    assert april["work_orders"].value == 1  # H2, at 00:30 local on 1 April
    assert april["resolved"].value == 0
    for name in ("resolve_hours", "csat", "first_response_hours_median"):
        assert april[name] == Value(None, count=0)
    for name in ("first_time_fix", "response_sla", "nps", "utilisation"):
        assert april[name] == Value(None, numerator=0, denominator=0)


async def test_window_days_decides_first_time_fix_and_repeats(db: AsyncSession) -> None:
    data = await march(db)
    narrow = q(period="none", window_days=5, metrics=("first_time_fix", "repeat_rate"))
    result = await service.compute(db, data.t.actor("admin"), narrow, now=NOW)
    m = cell(result, MARCH)
    assert (m["first_time_fix"].numerator, m["first_time_fix"].value) == (2, 50.0)  # A, E
    assert (m["repeat_rate"].numerator, m["repeat_rate"].value) == (1, 20.0)  # A only


async def test_groups_and_filters(db: AsyncSession) -> None:
    data = await march(db)
    e1, e2 = (str(e.id) for e in data.t.engineers)
    by_engineer = q(period="none", group_by="engineer", metrics=("resolved", "utilisation"))
    result = await service.compute(db, data.t.actor("admin"), by_engineer, now=NOW)
    assert cell(result, MARCH, e1)["resolved"].value == 3  # A, B, E
    assert cell(result, MARCH, e2)["resolved"].value == 2  # C, D
    assert cell(result, MARCH, e1)["utilisation"].value == 62.5  # 10 h of 16 h
    assert {r.label for r in result.rows if r.key == e1} == {data.t.engineers[0].display_name}
    model = q(period="none", filters=Filters(product_model="CH-200"), metrics=("resolved",))
    result = await service.compute(db, data.t.actor("admin"), model, now=NOW)
    assert cell(result, MARCH)["resolved"].value == 3  # A, B, D
    # Engineer days know nothing of product models: null, not a wrong number.
    days = q(period="none", filters=Filters(product_model="CH-200"), metrics=("utilisation",))
    result = await service.compute(db, data.t.actor("admin"), days, now=NOW)
    assert cell(result, MARCH)["utilisation"].value is None


async def test_backlog_at_each_period_end_and_now(db: AsyncSession) -> None:
    data = await march(db)
    metrics = ("backlog", "backlog_age_days", "sla_breached_now", "sla_at_risk_now")
    result = await service.compute(db, data.t.actor("admin"), q(metrics=metrics), now=NOW)
    # End of March: G, H1, and Z from February (F was cancelled); end of April: H2 too.
    assert cell(result, MARCH)["backlog"].value == 3
    assert cell(result, APRIL)["backlog"].value == 4
    now = cell(result, None)
    assert (now["sla_breached_now"].value, now["sla_at_risk_now"].value) == (1, 0)
    assert now["backlog_age_days"].count == 4
    report = await service.backlog(db, data.t.actor("admin"), q(), now=NOW)
    assert report.total.open == 4 and report.total.sla_breached == 1
    assert [p.open for p in report.trend] == [3, 4]
    # Z: 75 days old; G 34; H1 and H2 about 30.35 (median of 4 = between them)
    assert report.total.age_days_p90 is not None and report.total.age_days_p90 > 34


async def test_faults_rank_models_by_repairs_with_shares_and_monthly_trend(
    db: AsyncSession,
) -> None:
    data = await march(db)
    report = await service.faults(db, data.t.actor("admin"), q())
    top = report.models[0]
    assert (top.product_model, top.repairs, top.work_orders) == ("CH-200", 3, 3)  # F cancelled
    assert [(f.fault_code, f.count, f.share) for f in top.faults] == [
        ("E1", 2, 66.67),
        ("E2", 1, 33.33),
    ]
    assert [(p.month, p.count) for p in top.faults[0].trend] == [(MARCH, 2), (APRIL, 0)]
    assert report.models[1].product_model == "AC-9"


async def test_drill_down_lists_the_work_orders_behind_a_number_in_pages(
    db: AsyncSession,
) -> None:
    data = await march(db)
    actor, query = data.t.actor("admin"), q(period="month")
    first = await service.drill(
        db, actor, query, metric="response_sla", part="denominator", period_start=MARCH, limit=2
    )
    assert first.next_cursor is not None
    rest = await service.drill(
        db, actor, query, metric="response_sla", period_start=MARCH, cursor=first.next_cursor
    )
    listed = [i.id for i in first.items + rest.items]
    assert listed == [data.ids[n] for n in ("A", "B", "D")]  # in number order
    met = await service.drill(db, actor, query, metric="response_sla", part="numerator")
    assert [i.id for i in met.items] == [data.ids["A"], data.ids["D"]]
    assert met.items[0].title == data.tickets["A"].title
    backlog = await service.drill(db, actor, query, metric="backlog", period_start=MARCH)
    assert {i.id for i in backlog.items} == {data.ids[n] for n in ("G", "H1", "Z")}
    with pytest.raises(Unprocessable):
        await service.drill(db, actor, query, metric="utilisation")


async def test_headlines_compare_with_the_period_before(db: AsyncSession) -> None:
    data = await march(db)
    metrics = ("work_orders", "csat", "backlog", "utilisation", "sla_breached_now")
    april = KpiQuery(start=APRIL, end=dt.date(2026, 4, 30), metrics=metrics)
    lines = await service.headlines(db, data.t.actor("admin"), april, lang="zh_CN", now=NOW)
    orders, csat, backlog, utilisation, breached = lines
    assert (orders.value.value, orders.previous.value, orders.change) == (1, 8, -7)
    assert orders.previous_start == dt.date(2026, 3, 2)  # 30 days before 1 April
    assert orders.label == "工单数"
    assert csat.value.value is None and csat.change is None
    assert (backlog.value.value, backlog.previous.value, backlog.change) == (4, 3, 1)
    assert (utilisation.value.value, utilisation.previous.value) == (None, 50.0)
    assert (breached.value.value, breached.previous.value, breached.change) == (1, None, None)


def test_the_query_says_what_to_fix() -> None:
    today = dt.date(2026, 5, 1)
    with pytest.raises(Unprocessable, match="before `from`"):
        parse(start=APRIL, end=MARCH, today=today)
    with pytest.raises(Unprocessable, match="three years"):
        parse(start=dt.date(2020, 1, 1), end=dt.date(2023, 1, 5), today=today)
    with pytest.raises(Unprocessable, match="unknown metric 'ftf'"):
        parse(start=None, end=None, today=today, metrics="resolved,ftf")
    query = parse(start=None, end=None, today=today, metrics="resolved, csat,resolved")
    assert (query.start, query.end, query.metrics) == (
        dt.date(2026, 4, 2),
        today,
        ("resolved", "csat"),
    )


async def test_scorecards_beside_the_organisation_from_the_same_scans(db: AsyncSession) -> None:
    data = await march(db)
    e1, e2 = data.t.engineers
    cards = await service.scorecards(db, data.t.actor("dispatcher"), q(period="none"), now=NOW)
    org = cards.organisation
    assert (org["resolved"].value, org["first_time_fix"].value, org["utilisation"].value) == (
        5,
        25.0,
        50.0,
    )
    assert org["complaints"].value == 1 and org["csat"].value == 4.0
    by_id = {c.engineer_id: {line.metric: line for line in c.lines} for c in cards.engineers}
    assert set(by_id) == {e1.id, e2.id}
    mine = by_id[e1.id]
    assert (mine["resolved"].value.value, mine["utilisation"].value.value) == (3, 62.5)
    assert mine["resolved"].organisation.value == 5
    assert by_id[e2.id]["complaints"].value.value == 1  # C
    empty = await service.scorecards(
        db, data.t.actor("dispatcher"), q(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31))
    )
    assert empty.engineers == [] and empty.organisation["resolved"].value == 0
    assert empty.organisation["csat"] == Value(None, count=0)
