"""Demo data for escalation (called from server/demo.py): a second-line expert and a
service manager (their duties), and a P1 escalation policy faster than the default chain.
Safe to run twice, and alongside other domains' seeds that add the same people."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Duty, Role, User
from server.auth import service as auth
from server.escalation.models import EscalationPolicy

P1_STEPS = [
    {"trigger": "at_risk", "action": "notify", "owner": "agent", "due_minutes": 15},
    {"trigger": "breached", "action": "reassign", "owner": "second_line", "due_minutes": 30},
    {"trigger": 30, "action": "reassign", "owner": "service_manager", "due_minutes": 60},
]
PEOPLE = (
    ("second-line", "Second-line expert", Duty.SECOND_LINE),
    ("service-manager", "Service manager", Duty.SERVICE_MANAGER),
)


async def seed(session: AsyncSession, org_id: uuid.UUID, slug: str, *, password: str) -> None:
    for local, title, duty in PEOPLE:
        email = f"{local}@{slug}.fixflow"
        user = await session.scalar(select(User).where(User.org_id == org_id, User.email == email))
        if user is None:
            user = await auth.add_user(
                session,
                org_id=org_id,
                email=email,
                full_name=title,
                password=password,
                role=Role.DISPATCHER,
            )
        if duty.value not in user.duties:
            user.duties = [*user.duties, duty.value]
    found = await session.get(EscalationPolicy, (org_id, "P1"))
    if found is None:
        session.add(EscalationPolicy(org_id=org_id, priority="P1", steps=P1_STEPS, version=1))
    await session.flush()
