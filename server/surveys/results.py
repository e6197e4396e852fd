"""Reading survey results: responses (keyset pages), scores per group, a work order's survey.

Everyone in the back office with ``surveys:read`` reads the organisation's results; an
engineer reads their own (the responses about their work), and their scores are computed
from those alone.

Scores (docs/surveys.md): per group, the number of responses; CSAT mean and the share of
satisfied answers (4 or 5) among the CSAT answers; NPS = % promoters (9-10) - % detractors
(0-6) among the NPS answers; CES mean. A question nobody answered in a group is null there.
Months are calendar months in the organisation's time zone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import keyset_page
from server.errors import Unprocessable
from server.orgs import service as orgs
from server.pagination import Page
from server.surveys import invitations
from server.surveys.models import SurveyInvitation, SurveyResponse
from server.surveys.schemas import GroupBy, ScoreRow
from server.tickets import service as tickets


def readable(actor: Actor) -> Select[Any]:
    """Every response the caller may read: the one query each reader starts from."""
    query = select(SurveyResponse).where(SurveyResponse.org_id == actor.org_id)
    if actor.is_engineer:
        query = query.where(SurveyResponse.engineer_id == actor.engineer_id)
    return query


def _window(query: Select[Any], since: dt.datetime | None, until: dt.datetime | None) -> Any:
    """Responses submitted in [since, until); a range that ends before it starts is a
    mistake to say, not an empty answer (as the stock reports and shifts say it)."""
    if since is not None and until is not None and until <= since:
        raise Unprocessable("`to` must be after `from`", field="to")
    if since is not None:
        query = query.where(SurveyResponse.submitted_at >= since)
    if until is not None:
        query = query.where(SurveyResponse.submitted_at < until)
    return query


async def list_responses(
    session: AsyncSession,
    actor: Actor,
    *,
    engineer_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    product_model: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[SurveyResponse]:
    query = _window(readable(actor), since, until)
    if engineer_id is not None:
        query = query.where(SurveyResponse.engineer_id == engineer_id)
    if customer_id is not None:
        query = query.where(SurveyResponse.customer_id == customer_id)
    if product_model is not None:
        query = query.where(SurveyResponse.product_model == product_model)
    return await keyset_page(
        session,
        query,
        sort_column=SurveyResponse.id,  # UUIDv7: the order they came in
        id_column=SurveyResponse.id,
        limit=limit,
        cursor=cursor,
    )


def _group_column(c: Any, group_by: GroupBy, zone: str) -> Any:
    """The group's key over the columns ``c`` of the counted responses."""
    if group_by == "engineer":
        return cast(c.engineer_id, Text)
    if group_by == "customer":
        return cast(c.customer_id, Text)
    if group_by == "product_model":
        return c.product_model
    local = func.timezone(zone, c.submitted_at)
    return func.to_char(func.date_trunc("month", local), "YYYY-MM")


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _mean(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


async def scores(
    session: AsyncSession,
    actor: Actor,
    *,
    group_by: GroupBy,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> tuple[str, list[ScoreRow]]:
    """(the zone months were counted in, a row per group in the group's order)."""
    zone = await orgs.zone(session, actor.org_id)
    c = _window(readable(actor), since, until).subquery().c
    key = _group_column(c, group_by, zone).label("key")
    query = (
        select(
            key,
            func.count(),
            func.count(c.csat),
            func.coalesce(func.sum(c.csat), 0),
            func.count(c.csat).filter(c.csat >= 4),
            func.count(c.nps),
            func.count(c.nps).filter(c.nps >= 9),
            func.count(c.nps).filter(c.nps <= 6),
            func.count(c.ces),
            func.coalesce(func.sum(c.ces), 0),
        )
        .group_by(key)
        .order_by(key.asc().nulls_last())
    )
    rows = []
    for group, n, nc, sc, happy, nn, promoters, detractors, ne, se in await session.execute(query):
        rows.append(
            ScoreRow(
                group=group,
                responses=n,
                csat_count=nc,
                csat_mean=_mean(int(sc), nc),
                csat_satisfied_pct=_pct(happy, nc),
                nps_count=nn,
                nps=_pct(promoters - detractors, nn),
                ces_count=ne,
                ces_mean=_mean(int(se), ne),
            )
        )
    return zone, rows


async def of_ticket(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> tuple[SurveyInvitation | None, SurveyResponse | None]:
    """The survey of a work order the caller may see (404 otherwise). The response is read
    through ``readable``: an engineer now assigned to a work order another engineer
    resolved (a reopen, a reassignment) does not read what the customer said of the other."""
    ticket = await tickets.get(session, actor, ticket_id=ticket_id)
    invitation = await invitations.of_ticket(session, actor.org_id, ticket.id)
    if invitation is None:
        return None, None
    response = await session.scalar(
        readable(actor).where(SurveyResponse.invitation_id == invitation.id)
    )
    return invitation, response
