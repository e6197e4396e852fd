"""Demo data: the organisation's default survey template, and answered surveys of its
resolved and closed work orders (the last one left sent and unanswered, to try the page:
its link is in the ``survey.invited`` outbox event)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.orgs import Organisation
from server.surveys import invitations
from server.surveys.models import SurveyInvitation, SurveyTemplate
from server.surveys.responses import Answers, record
from server.tickets import Ticket

# (csat, nps, ces, comment, language): mostly happy, one detractor.
_ANSWERS = (
    (5, 10, 1, "Fast and friendly, the unit runs quietly again.", "en"),
    (4, 9, 2, None, "zh_CN"),
    (5, 9, 2, "工程师很专业,解释得很清楚。", "zh_CN"),
    (3, 7, 4, "Had to call twice before someone came.", "en"),
    (2, 5, 6, "The part was not on the van; a second visit was needed.", "en"),
    (4, 8, 3, None, "zh_CN"),
)


async def seed(session: AsyncSession, org: Organisation) -> None:
    session.add(
        SurveyTemplate(
            org_id=org.id,
            name="After every repair",
            questions=["csat", "nps", "ces", "comment"],
            wording={},
            delay_minutes=60,
            expiry_days=14,
            active=True,
            is_default=True,
            ticket_types=[],
            priorities=[],
            version=1,
        )
    )
    await session.flush()
    done = await session.scalars(
        select(Ticket)
        .where(Ticket.org_id == org.id, Ticket.status.in_(("resolved", "closed")))
        .order_by(Ticket.number)
    )
    now = dt.datetime.now(dt.UTC)
    for ticket in done:
        await invitations.invite(session, ticket, resolved_at=ticket.resolved_at or now)
    await invitations.send_due(session, now=now + dt.timedelta(days=1))
    sent = list(
        await session.scalars(
            select(SurveyInvitation)
            .where(SurveyInvitation.org_id == org.id, SurveyInvitation.status == "sent")
            .order_by(SurveyInvitation.created_at, SurveyInvitation.id)
        )
    )
    for n, invitation in enumerate(sent[:-1]):
        csat, nps, ces, comment, lang = _ANSWERS[n % len(_ANSWERS)]
        answers = Answers(csat=csat, nps=nps, ces=ces, comment=comment)
        await record(session, invitation, answers, language=lang, now=now)
