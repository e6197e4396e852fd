"""Recording the customer's answer: once per invitation, then the rating and the events.

``record`` writes the response in the caller's transaction (the ``/s/`` page's): the unique
invitation decides between two submissions (the loser's savepoint rolls back and it reads
``AlreadyAnswered``). With it, in the same transaction: the invitation is ``answered``, the
engineer's rating is recomputed (``rating_of``), ``survey.responded`` is emitted, and
``survey.detractor`` too when the customer is a detractor (NPS 0-6 or CSAT 1-2).

The rating (docs/adr/0016-surveys.md) is a Bayesian mean of the engineer's CSAT answers of
the last 365 days: (PRIOR x PRIOR_WEIGHT + sum of answers) / (PRIOR_WEIGHT + answers). A
new engineer stays near 4.0; one 1-star answer moves them to 3.5, not to 1. The engineer's
row is locked first, so two answers at once are counted one after the other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.engineers import service as engineers
from server.events import emit
from server.surveys.models import SurveyInvitation, SurveyResponse
from server.text import fit
from server.tickets import Ticket, format_number

PRIOR = 4.0
PRIOR_WEIGHT = 5
RATING_DAYS = 365
COMMENT_MAX = 4000


class AlreadyAnswered(Exception):
    """The invitation has its response (this submission changed nothing)."""


@dataclass(frozen=True)
class Answers:
    csat: int | None = None
    nps: int | None = None
    ces: int | None = None
    comment: str | None = None

    @property
    def detractor(self) -> bool:
        return (self.nps is not None and self.nps <= 6) or (
            self.csat is not None and self.csat <= 2
        )


async def record(
    session: AsyncSession,
    invitation: SurveyInvitation,
    answers: Answers,
    *,
    language: str,
    now: dt.datetime | None = None,
) -> SurveyResponse:
    """The invitation's response, or ``AlreadyAnswered``."""
    if invitation.status == "answered":
        raise AlreadyAnswered
    now = now or dt.datetime.now(dt.UTC)
    comment = fit(answers.comment, COMMENT_MAX) if answers.comment else None
    response = SurveyResponse(
        org_id=invitation.org_id,
        invitation_id=invitation.id,
        ticket_id=invitation.ticket_id,
        customer_id=invitation.customer_id,
        engineer_id=invitation.engineer_id,
        product_model=invitation.product_model,
        csat=answers.csat,
        nps=answers.nps,
        ces=answers.ces,
        comment=comment,
        language=language,
        detractor=answers.detractor,
        submitted_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(response)
            await session.flush()
    except IntegrityError as exc:  # a concurrent submission answered it first
        raise AlreadyAnswered from exc
    invitation.status = "answered"
    if invitation.engineer_id is not None and answers.csat is not None:
        await update_rating(session, invitation, now=now)
    await _announce(session, invitation, response)
    return response


async def rating_of(session: AsyncSession, invitation: SurveyInvitation, now: dt.datetime) -> float:
    """The engineer's rating: the Bayesian mean of their CSAT answers of RATING_DAYS."""
    since = now - dt.timedelta(days=RATING_DAYS)
    row = (
        await session.execute(
            select(func.count(SurveyResponse.csat), func.sum(SurveyResponse.csat)).where(
                SurveyResponse.org_id == invitation.org_id,
                SurveyResponse.engineer_id == invitation.engineer_id,
                SurveyResponse.submitted_at > since,
            )
        )
    ).one()
    count, total = int(row[0]), int(row[1] or 0)
    return round((PRIOR * PRIOR_WEIGHT + total) / (PRIOR_WEIGHT + count), 2)


async def update_rating(
    session: AsyncSession, invitation: SurveyInvitation, *, now: dt.datetime
) -> float:
    assert invitation.engineer_id is not None
    engineer = await engineers.locked(
        session, org_id=invitation.org_id, engineer_id=invitation.engineer_id
    )
    rating = await rating_of(session, invitation, now)
    engineers.set_rating(engineer, rating)
    return rating


async def _announce(
    session: AsyncSession, invitation: SurveyInvitation, response: SurveyResponse
) -> None:
    engineer = str(invitation.engineer_id) if invitation.engineer_id else None
    emit(
        session,
        org_id=invitation.org_id,
        topic="survey.responded",
        aggregate_id=invitation.ticket_id,
        payload={
            "invitation_id": str(invitation.id),
            "ticket_id": str(invitation.ticket_id),
            "engineer_id": engineer,
            "csat": response.csat,
            "nps": response.nps,
            "ces": response.ces,
            "detractor": response.detractor,
        },
    )
    if not response.detractor:
        return
    number = await session.scalar(select(Ticket.number).where(Ticket.id == invitation.ticket_id))
    emit(
        session,
        org_id=invitation.org_id,
        topic="survey.detractor",
        aggregate_id=invitation.ticket_id,
        payload={
            "invitation_id": str(invitation.id),
            "response_id": str(response.id),
            "ticket_id": str(invitation.ticket_id),
            "ticket_number": format_number(number) if number is not None else None,
            "customer_id": str(invitation.customer_id),
            "engineer_id": engineer,
            "csat": response.csat,
            "nps": response.nps,
            "comment": response.comment,
        },
    )
