"""The demo's escalation data (server/escalation/demo.py): the people and the P1 policy,
seeded twice without a second copy."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import User
from server.escalation import demo
from server.escalation.models import EscalationPolicy
from tests.fixtures.factories import make_org


async def test_the_demo_has_a_second_line_a_service_manager_and_a_p1_policy(
    db: AsyncSession,
) -> None:
    org = await make_org(db)
    for _ in range(2):
        await demo.seed(db, org.id, "demo", password="fixflow-demo")
    users = list(await db.scalars(select(User).where(User.org_id == org.id).order_by(User.email)))
    assert [(u.email, u.duties) for u in users] == [
        ("second-line@demo.fixflow", ["second_line"]),
        ("service-manager@demo.fixflow", ["service_manager"]),
    ]
    policy = await db.get(EscalationPolicy, (org.id, "P1"))
    assert policy is not None and policy.steps == demo.P1_STEPS
    assert (
        len(
            list(
                await db.scalars(select(EscalationPolicy).where(EscalationPolicy.org_id == org.id))
            )
        )
        == 1
    )
