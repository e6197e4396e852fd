"""The KPIs' public face (the API and the dashboard call these; docs/kpis.md).

Every function needs the scope ``kpis:read`` and reads one organisation: the caller's. An
engineer reads their own work only: the engineer filter is forced to themselves, the
drill-down lists their own work orders, another engineer's scorecard is 404, and an
engineer user without an engineer profile is refused (403). ``now`` (tests) defaults to
the clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.auth import service as auth_service
from server.errors import NotFound
from server.languages import Language
from server.orgs import service as orgs
from server.pagination import Page
from server.reports import compute as engine
from server.reports import drill as drilling
from server.reports import faults as fault_report
from server.reports import live, passes
from server.reports.metrics import CATALOGUE, infos
from server.reports.query import bounds, buckets, metric_name, own_engineer, previous, scoped
from server.reports.schemas import (
    TOTAL,
    BacklogReport,
    DrillItem,
    FaultReport,
    Filters,
    Headline,
    KpiQuery,
    KpiResult,
    MetricInfo,
    Part,
    PartsReport,
    PartsRow,
    Scorecard,
    ScorecardLine,
    Scorecards,
    Value,
)

SCOPE = "kpis:read"
HEADLINES = (
    "work_orders",
    "resolved",
    "first_response_hours",
    "resolve_hours",
    "response_sla",
    "resolution_sla",
    "first_time_fix",
    "repeat_rate",
    "csat",
    "nps",
    "backlog",
    "utilisation",
)
SCORECARD = (
    "resolved",
    "first_time_fix",
    "repeat_rate",
    "resolve_hours",
    "resolution_sla",
    "csat",
    "nps",
    "utilisation",
    "travel_share",
    "labour_cost_per_wo",
    "complaints",
)
PARTS = ("parts_consumed_qty", "parts_consumed_cost", "parts_turnover")


def catalogue(lang: Language = "en") -> list[MetricInfo]:
    """Every metric, labelled in ``lang``."""
    return infos(lang)


async def today(session: AsyncSession, actor: Actor) -> dt.date:
    """The organisation's date now (the default range ends on it)."""
    return await orgs.local_today(session, actor.org_id)


async def language(session: AsyncSession, actor: Actor, requested: str | None) -> Language:
    """The language labels are written in: asked for, else the caller's, else English."""
    return await auth_service.language_of(session, actor, requested)


def _clock(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


async def compute(
    session: AsyncSession, actor: Actor, query: KpiQuery, *, now: dt.datetime | None = None
) -> KpiResult:
    """The query's metrics per period x group."""
    actor.require(SCOPE)
    query = scoped(actor, query)
    zone = await orgs.zone(session, actor.org_id)
    rows = await engine.run(session, actor, query, zone=zone, now=_clock(now))
    return KpiResult(
        start=query.start,
        end=query.end,
        period=query.period,
        group_by=query.group_by,
        time_zone=zone,
        window_days=query.window_days,
        metrics=[m.name for m in engine.requested(query)],
        rows=rows,
    )


async def _totals(
    session: AsyncSession, actor: Actor, query: KpiQuery, now: dt.datetime
) -> dict[str, Value]:
    """The metrics over the whole range, ungrouped (the query is already scoped)."""
    zone = await orgs.zone(session, actor.org_id)
    flat = replace(query, period="none", group_by=None)
    rows = await engine.run(session, actor, flat, zone=zone, now=now)
    return rows[0].values


async def headlines(
    session: AsyncSession,
    actor: Actor,
    query: KpiQuery,
    *,
    lang: Language = "en",
    now: dt.datetime | None = None,
) -> list[Headline]:
    """Each metric (``query.metrics``, default ``HEADLINES``) over the range beside its value
    over the range of the same length just before."""
    actor.require(SCOPE)
    query = scoped(actor, replace(query, metrics=query.metrics or HEADLINES))
    before = previous(query)
    # One pass over both ranges: the range before, then this one from ``split`` on.
    both = replace(query, start=before.start, period="none", group_by=None, split=query.start)
    zone = await orgs.zone(session, actor.org_id)
    earlier, current = (
        row.values for row in await engine.run(session, actor, both, zone=zone, now=_clock(now))
    )
    out = []
    for name in query.metrics:
        metric, value, prior = CATALOGUE[name], current[name], earlier[name]
        change = None
        if metric.source == "now":
            prior = Value(None)  # there is no "now" of the range before
        elif isinstance(value.value, int | float) and isinstance(prior.value, int | float):
            change = round(value.value - prior.value, 2)
        out.append(
            Headline(
                metric=name,
                label=metric.label(lang),
                unit=metric.unit,
                value=value,
                previous=prior,
                change=change,
                previous_start=before.start,
                previous_end=before.end,
            )
        )
    return out


async def drill(
    session: AsyncSession,
    actor: Actor,
    query: KpiQuery,
    *,
    metric: str,
    part: Part = "denominator",
    period_start: dt.date | None = None,
    key: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    now: dt.datetime | None = None,
) -> Page[DrillItem]:
    """The work orders behind ``metric``'s numerator or denominator in the range (narrowed
    to the period starting on ``period_start`` and the group ``key`` when given)."""
    actor.require(SCOPE)
    query = scoped(actor, query)
    zone = await orgs.zone(session, actor.org_id)
    page = await drilling.drill(
        session,
        actor.org_id,
        query,
        zone=zone,
        now=_clock(now),
        metric=CATALOGUE[metric_name(metric)],
        part=part,
        period_start=period_start,
        key=key,
        cursor=cursor,
        limit=limit,
    )
    if not actor.can("engineers:read"):
        for item in page.items:
            item.engineer = None  # the id only (docs/api.md, "Scopes of combined answers")
    return page


async def _engineers(
    session: AsyncSession, org_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    """Name and team of the organisation's engineers among ``ids``."""
    if not ids:
        return {}
    rows = await session.execute(
        text("SELECT id, display_name, team FROM engineers WHERE org_id = :org AND id = ANY(:ids)"),
        {"org": org_id, "ids": ids},
    )
    return {row.id: (row.display_name, row.team) for row in rows}


async def scorecards(
    session: AsyncSession,
    actor: Actor,
    query: KpiQuery,
    *,
    lang: Language = "en",
    now: dt.datetime | None = None,
) -> Scorecards:
    """Every engineer's scorecard over the range (an engineer: their own), beside the
    organisation's values (all work orders, whoever did them)."""
    actor.require(SCOPE)
    metrics = query.metrics or SCORECARD
    whole = replace(query, metrics=metrics, filters=replace(query.filters, engineer_id=None))
    mine = scoped(actor, replace(whole, period="none", group_by="engineer"))
    zone = await orgs.zone(session, actor.org_id)
    clock = _clock(now)
    if mine == replace(whole, period="none", group_by="engineer") and all(
        CATALOGUE[m].source in ("work_orders", "engineer_days") for m in metrics
    ):
        # The back office: the organisation's totals come from the same scans.
        both = replace(mine, totals=True)
        rows = await engine.run(session, actor, both, zone=zone, now=clock)
        organisation = next(
            (r.values for r in rows if r.key == TOTAL),
            {m: engine.empty(CATALOGUE[m]) for m in metrics},  # nothing at all in the range
        )
    else:
        organisation = await _organisation(session, actor, whole, clock)
        rows = await engine.run(session, actor, mine, zone=zone, now=clock)
    rows = [r for r in rows if r.key != TOTAL]
    ids = [uuid.UUID(r.key) for r in rows if r.key]
    people = await _engineers(session, actor.org_id, ids)
    cards = [
        _card(uuid.UUID(r.key), people, r.values, organisation, metrics, lang)
        for r in rows
        if r.key and uuid.UUID(r.key) in people
    ]
    cards.sort(key=lambda c: (c.engineer.casefold(), c.engineer_id))
    return Scorecards(
        start=query.start,
        end=query.end,
        time_zone=zone,
        metrics=list(metrics),
        organisation=organisation,
        engineers=cards,
    )


async def _organisation(
    session: AsyncSession, actor: Actor, whole: KpiQuery, clock: dt.datetime
) -> dict[str, Value]:
    """The organisation's values beside a scorecard: all work orders, whoever did them. For
    an engineer without the filters: a team, a customer, a fault code or the complaint type
    can narrow "the organisation" to one colleague's work, which an engineer may not read.
    Computed as the caller (``whole`` is not narrowed to anyone), so what the caller's
    scopes leave empty stays empty here too: the stock ledger's numbers without
    ``parts:read``, the parts turnover for an engineer."""
    if actor.is_engineer:
        whole = replace(whole, filters=Filters())
    return await _totals(session, actor, whole, clock)


def _card(
    engineer_id: uuid.UUID,
    people: dict[uuid.UUID, tuple[str, str | None]],
    values: dict[str, Value],
    organisation: dict[str, Value],
    metrics: tuple[str, ...],
    lang: Language,
) -> Scorecard:
    name, team = people[engineer_id]
    lines = [
        ScorecardLine(
            metric=m,
            label=CATALOGUE[m].label(lang),
            unit=CATALOGUE[m].unit,
            value=values[m],
            organisation=organisation[m],
        )
        for m in metrics
    ]
    return Scorecard(engineer_id=engineer_id, engineer=name, team=team, lines=lines)


async def scorecard(
    session: AsyncSession,
    actor: Actor,
    engineer_id: uuid.UUID,
    query: KpiQuery,
    *,
    lang: Language = "en",
    now: dt.datetime | None = None,
) -> Scorecard:
    """One engineer's scorecard; 404 for an engineer of another organisation and, for an
    engineer caller, for anyone but themselves."""
    actor.require(SCOPE)
    if actor.is_engineer and own_engineer(actor) != engineer_id:
        raise NotFound("no such engineer")
    people = await _engineers(session, actor.org_id, [engineer_id])
    if engineer_id not in people:
        raise NotFound("no such engineer")
    metrics = query.metrics or SCORECARD
    whole = replace(query, metrics=metrics, filters=replace(query.filters, engineer_id=None))
    clock = _clock(now)
    organisation = await _organisation(session, actor, whole, clock)
    theirs = replace(whole, filters=replace(whole.filters, engineer_id=engineer_id))
    values = await _totals(session, actor, theirs, clock)
    return _card(engineer_id, people, values, organisation, metrics, lang)


async def backlog(
    session: AsyncSession, actor: Actor, query: KpiQuery, *, now: dt.datetime | None = None
) -> BacklogReport:
    """Open work orders now (size, age in days: mean, median, 90th percentile; SLA breached
    and at risk), per group, and the number open at the end of each period."""
    actor.require(SCOPE)
    query = scoped(actor, query)
    zone = await orgs.zone(session, actor.org_id)
    periods = buckets(query)
    start, end = bounds(query, zone)
    params = passes.params(
        query,
        org=actor.org_id,
        zone=zone,
        start=start,
        end=end,
        now=_clock(now),
        first_bucket=periods[0],
    )

    async def names(keys: list[str | None]) -> dict[str | None, str | None]:
        return await engine.labels(session, actor, query.group_by, [k for k in keys if k])

    await engine.roomy(session)
    return await live.backlog(session, actor.org_id, query, params, periods, names, zone)


async def faults(
    session: AsyncSession, actor: Actor, query: KpiQuery, *, top: int = 5, models: int = 20
) -> FaultReport:
    """The ``top`` fault codes of the ``models`` product models with the most repairs."""
    actor.require(SCOPE)
    query = scoped(actor, query)
    zone = await orgs.zone(session, actor.org_id)
    await engine.roomy(session)
    found = await fault_report.faults(session, actor.org_id, query, top=top, models=models)
    return FaultReport(start=query.start, end=query.end, time_zone=zone, models=found)


async def parts(
    session: AsyncSession, actor: Actor, query: KpiQuery, *, now: dt.datetime | None = None
) -> PartsReport:
    """Parts consumed (quantity, cost) per period x group, and the turnover."""
    result = await compute(session, actor, replace(query, metrics=PARTS), now=now)
    rows = [
        PartsRow(
            period_start=r.period_start,
            key=r.key,
            label=r.label,
            consumed_qty=float(r.values["parts_consumed_qty"].value or 0),
            consumed_cost=float(r.values["parts_consumed_cost"].value or 0),
            turnover=r.values["parts_turnover"].value,
        )
        for r in result.rows
    ]
    return PartsReport(
        start=result.start,
        end=result.end,
        period=result.period,
        group_by=result.group_by,
        time_zone=result.time_zone,
        rows=rows,
    )
