"""The KPI API (docs/kpis.md): the catalogue, the KPIs per period and group (JSON or CSV),
the work orders behind a number, scorecards, the backlog, faults and parts."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import AsciiDigits, Cursor, Limit, problems
from server.reports import csvout, query, service
from server.reports.schemas import (
    BacklogReport,
    DrillItem,
    FaultReport,
    Filters,
    GroupBy,
    Headline,
    KpiQuery,
    KpiResult,
    MetricInfo,
    Part,
    PartsReport,
    Period,
    Scorecard,
    Scorecards,
)
from server.schemas import Day, PageOut
from server.tickets import Channel, Priority, TicketType

router = APIRouter(prefix="/api/v1/kpis", tags=["kpis"])
Reader = Annotated[Actor, require("kpis:read")]
# The drill-down lists work orders; scorecards name engineers; parts read the stock ledger.
WorkOrderReader = Annotated[Actor, require("kpis:read", "tickets:read")]
PeopleReader = Annotated[Actor, require("kpis:read", "engineers:read")]
PartsReader = Annotated[Actor, require("kpis:read", "parts:read")]
Lang = Annotated[
    Literal["en", "zh_CN"] | None,
    Query(description="Language of the labels (default: the caller's language)"),
]
WHO = (
    " Admins, dispatchers, agents, viewers and keys with kpis:read; an engineer: their own "
    "work only (the engineer filter is forced to themselves)."
)
CSV = "text/csv"


async def kpi_query(
    session: SessionDep,
    actor: Reader,
    start: Annotated[
        Day | None, Query(alias="from", description="First local day (default: 30 days ago)")
    ] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="Last local day, inclusive (default: today)")
    ] = None,
    period: Annotated[Period, Query(description="Buckets; weeks start on Monday")] = "month",
    group_by: GroupBy | None = None,
    engineer_id: uuid.UUID | None = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    territory: Annotated[str | None, Query(max_length=100)] = None,
    customer_id: uuid.UUID | None = None,
    product_model: Annotated[str | None, Query(max_length=120)] = None,
    priority: Priority | None = None,
    channel: Channel | None = None,
    type: TicketType | None = None,
    fault_code: Annotated[str | None, Query(max_length=40)] = None,
    window_days: Annotated[
        int,
        Query(ge=1, le=365, description="N of first-time fix and repeat rate (days)"),
        AsciiDigits,
    ] = 30,
    metrics: Annotated[
        str | None,
        Query(max_length=2000, description="Metric names, comma-separated (default: all)"),
    ] = None,
) -> KpiQuery:
    """The query every KPI route reads from its parameters (422 saying what to fix). An
    empty text filter (``team=``) is no filter, as a form's empty field sends it."""
    filters = Filters(
        engineer_id=engineer_id,
        team=team or None,
        territory=territory or None,
        customer_id=customer_id,
        product_model=product_model or None,
        priority=priority.value if priority else None,
        channel=channel.value if channel else None,
        type=type.value if type else None,
        fault_code=fault_code or None,
    )
    return query.parse(
        start=start,
        end=end,
        today=await service.today(session, actor),
        period=period,
        group_by=group_by,
        filters=filters,
        window_days=window_days,
        metrics=metrics,
    )


QueryDep = Annotated[KpiQuery, Depends(kpi_query)]


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0 <= q <= 1 else 0.0
    return 1.0


def wants_csv(accept: str | None) -> bool:
    """Whether ``Accept`` prefers CSV to JSON: ``text/csv`` with a quality above 0 and above
    JSON's (``application/json`` or a wildcard; on a tie the one listed first). ``text/csv;q=0``
    refuses CSV, and ``application/json, text/csv`` asks for JSON first."""
    if not accept:
        return False
    csv_q, json_q, first = -1.0, -1.0, ""
    for item in accept.lower().split(","):
        media, *params = item.split(";")
        media, q = media.strip(), _quality(params)
        if media == CSV and q > csv_q:
            csv_q, first = q, first or (CSV if q > 0 else "")
        elif media in ("application/json", "application/*", "*/*") and q > json_q:
            json_q, first = q, first or ("json" if q > 0 else "")
    if csv_q <= 0:
        return False
    return csv_q > json_q or (csv_q == json_q and first == CSV)


@router.get(
    "/metrics",
    summary="The KPI catalogue",
    description="Every metric: name (the API's identifier), label, unit, kind, anchor (the "
    "instant that puts a work order in a period) and definition." + WHO,
    response_model=list[MetricInfo],
    responses=problems(403),
)
async def list_kpi_metrics(
    session: SessionDep, actor: Reader, lang: Lang = None
) -> list[MetricInfo]:
    return service.catalogue(await service.language(session, actor, lang))


@router.get(
    "",
    summary="KPIs per period and group (JSON or CSV)",
    description="One row per period x group with a value per metric. CSV with `format=csv` "
    "or `Accept: text/csv` (`bom=true` starts it with a UTF-8 byte-order mark for Excel)." + WHO,
    response_model=KpiResult,
    responses={
        200: {"content": {CSV: {"schema": {"type": "string"}}}},
        **problems(403),
    },
)
async def read_kpis(
    session: SessionDep,
    actor: Reader,
    kpis: QueryDep,
    format: Literal["json", "csv"] | None = None,
    bom: bool = False,
    accept: Annotated[str | None, Header(max_length=1000)] = None,
) -> KpiResult | Response:
    result = await service.compute(session, actor, kpis)
    if format == "csv" or (format is None and wants_csv(accept)):
        stamp = f"{result.start:%Y%m%d}-{result.end:%Y%m%d}"
        return Response(
            csvout.to_csv(result, bom=bom),
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="kpis-{stamp}.csv"'},
        )
    return result


@router.get(
    "/headlines",
    summary="Headline KPIs against the previous period of the same length",
    response_model=list[Headline],
    responses=problems(403),
)
async def read_kpi_headlines(
    session: SessionDep, actor: Reader, kpis: QueryDep, lang: Lang = None
) -> list[Headline]:
    language = await service.language(session, actor, lang)
    return await service.headlines(session, actor, kpis, lang=language)


@router.get(
    "/work-orders",
    summary="The work orders behind a KPI value",
    description="The work orders a metric counted in its `numerator` or `denominator` for "
    "the same range and filters, narrowed to one period (`period_start`) and group (`key`, "
    "with `group_by`); keyset pages by work order number." + WHO,
    response_model=PageOut[DrillItem],
    responses=problems(400, 403),
)
async def list_kpi_work_orders(
    session: SessionDep,
    actor: WorkOrderReader,
    kpis: QueryDep,
    metric: Annotated[str, Query(max_length=60)],
    part: Part = "denominator",
    period_start: Day | None = None,
    key: Annotated[str | None, Query(max_length=120, description="A row's group key")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[DrillItem]:
    page = await service.drill(
        session,
        actor,
        kpis,
        metric=metric,
        part=part,
        period_start=period_start,
        key=key,
        cursor=cursor,
        limit=limit,
    )
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.get(
    "/scorecards",
    summary="Engineers' scorecards beside the organisation's values",
    description="An engineer gets their own scorecard only." + WHO,
    response_model=Scorecards,
    responses=problems(403),
)
async def list_kpi_scorecards(
    session: SessionDep, actor: PeopleReader, kpis: QueryDep, lang: Lang = None
) -> Scorecards:
    language = await service.language(session, actor, lang)
    return await service.scorecards(session, actor, kpis, lang=language)


@router.get(
    "/scorecards/{engineer_id}",
    summary="One engineer's scorecard",
    description="404 for another organisation's engineer, and for an engineer asking for "
    "someone else's." + WHO,
    response_model=Scorecard,
    responses=problems(403, 404),
)
async def read_kpi_scorecard(
    engineer_id: uuid.UUID,
    session: SessionDep,
    actor: PeopleReader,
    kpis: QueryDep,
    lang: Lang = None,
) -> Scorecard:
    language = await service.language(session, actor, lang)
    return await service.scorecard(session, actor, engineer_id, kpis, lang=language)


@router.get(
    "/backlog",
    summary="The backlog: open now, its age and SLA state, and its trend",
    response_model=BacklogReport,
    responses=problems(403),
)
async def read_kpi_backlog(session: SessionDep, actor: Reader, kpis: QueryDep) -> BacklogReport:
    return await service.backlog(session, actor, kpis)


@router.get(
    "/faults",
    summary="Top fault codes per product model and their monthly trend",
    response_model=FaultReport,
    responses=problems(403),
)
async def read_kpi_faults(
    session: SessionDep,
    actor: Reader,
    kpis: QueryDep,
    top: Annotated[int, Query(ge=1, le=50, description="Fault codes per model"), AsciiDigits] = 5,
    models: Annotated[int, Query(ge=1, le=200, description="Product models"), AsciiDigits] = 20,
) -> FaultReport:
    return await service.faults(session, actor, kpis, top=top, models=models)


@router.get(
    "/parts",
    summary="Parts consumed and stock turnover per period and group",
    response_model=PartsReport,
    responses=problems(403),
)
async def read_kpi_parts(session: SessionDep, actor: PartsReader, kpis: QueryDep) -> PartsReport:
    return await service.parts(session, actor, kpis)
