"""The KPI benchmark (benchmarks/bench_kpi.py) in miniature: on a small generated history
every dashboard view's numbers from the service agree with the hand-written SQL over the
operational tables, and the result carries what benchmarks/results/kpi.json promises."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from benchmarks import bench_kpi
from server.auth import User
from server.reports import refresh
from server.reports.history import Options, generate
from server.reports.schemas import KpiQuery
from tests.fixtures.factories import actor_for


async def test_every_view_agrees_with_the_sql_over_the_raw_tables(
    db: AsyncSession, connection: AsyncConnection
) -> None:
    options = Options(1500, 15, 12, 5, f"bench-{uuid.uuid4().hex[:8]}")
    summary = await generate(db, options, password="bench-password")
    await refresh.refresh_org(db, summary.org_id, full=True)
    await db.flush()
    user = await db.scalar(
        select(User).where(User.org_id == summary.org_id, User.role == "dispatcher")
    )
    assert user is not None and summary.first_day and summary.last_day
    raw = await connection.get_raw_connection()
    maker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    query = KpiQuery(start=summary.first_day, end=summary.last_day, period="month")
    ctx = bench_kpi.Context(
        raw.driver_connection, maker, actor_for(user), query, "Asia/Shanghai",
        {"work_orders": summary.work_orders}, {},
    )  # fmt: skip
    views, disagreements = {}, []
    for view in bench_kpi.VIEWS:
        for grouping in ("month", "engineer"):
            if grouping == "engineer" and view.name in bench_kpi._MONTH_ONLY:
                continue
            seconds, mine = await bench_kpi._service(ctx, view, grouping)
            sql_seconds, theirs = await bench_kpi._sql(ctx, view, grouping)
            assert theirs, (view.name, grouping)  # no limit: every baseline answers
            disagreements += bench_kpi._disagreements(view, mine, theirs)
            views[f"{view.name}_by_{grouping}"] = {
                "seconds": seconds, "sql_seconds": sql_seconds, "ratio": seconds / sql_seconds,
            }  # fmt: skip
    assert disagreements == [], "\n".join(disagreements)
    pages = await bench_kpi._pages(ctx)  # every dashboard page's service calls run
    assert set(pages) == {"overview", "quality", "engineers", "faults", "backlog", "parts"}
    report = bench_kpi._report(ctx, views, disagreements, pages)
    assert report["work_orders"] == 1500 and report["checks_met"]
    assert report["max_page_seconds"] == max(pages.values())
    assert report["max_view_seconds"] == max(v["seconds"] for v in views.values())
    assert {"seconds", "sql_seconds", "ratio"} <= set(report["views"]["quality_by_month"])
