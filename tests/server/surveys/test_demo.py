"""The demo's surveys: a default template and answered surveys of the finished work."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.surveys import demo
from server.surveys.models import SurveyInvitation, SurveyResponse, SurveyTemplate
from tests.fixtures.factories import make_tenant, make_ticket
from tests.fixtures.surveys import resolve


async def test_the_demo_answers_all_but_one_finished_work_order(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer
    for _ in range(3):
        ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
        await resolve(db, t, ticket)
    await make_ticket(db, t.actor("dispatcher"), t.customer)  # open: no survey
    await demo.seed(db, t.org)
    template = await db.scalar(select(SurveyTemplate).where(SurveyTemplate.org_id == t.org.id))
    assert template is not None and template.is_default
    statuses = await db.scalars(
        select(SurveyInvitation.status)
        .where(SurveyInvitation.org_id == t.org.id)
        .order_by(SurveyInvitation.created_at, SurveyInvitation.id)
    )
    assert list(statuses) == ["answered", "answered", "sent"]
    count = await db.scalar(select(func.count()).where(SurveyResponse.org_id == t.org.id))
    assert count == 2
    await db.refresh(t.engineers[0])
    assert t.engineers[0].rating == round((4.0 * 5 + 5 + 4) / 7, 2)
