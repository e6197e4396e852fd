"""Demo data for notifications: customers' e-mail addresses and preferences, and the
duties that make staff hear about SLA and stock alerts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Duty, Role, User
from server.customers import Customer
from server.notify.models import NotificationPreference


async def seed(session: AsyncSession, customers: list[Customer], users: dict[Role, User]) -> None:
    """Every customer gets an address at example.com; they prefer, in turn: Chinese
    e-mail, English e-mail with quiet hours at night, SMS then e-mail in Chinese, and no
    survey invitations. The admin is the service manager, the viewer the parts manager
    (the dispatcher hears of SLA alerts by role)."""
    users[Role.ADMIN].duties = [Duty.SERVICE_MANAGER.value]
    users[Role.VIEWER].duties = [Duty.PARTS_MANAGER.value]
    shapes = (
        {"channels": ["email"], "lang": "zh_CN"},
        {"channels": ["email"], "lang": "en", "quiet_start": dt.time(22), "quiet_end": dt.time(7)},
        {"channels": ["sms", "email"], "lang": "zh_CN"},
        {"channels": ["email"], "lang": "en", "opt_out_templates": ["survey_invitation"]},
    )
    for n, customer in enumerate(customers):
        customer.email = customer.email or f"customer{n + 1}@{customer.org_id.hex[-8:]}.example.com"
        shape = shapes[n % len(shapes)]
        session.add(
            NotificationPreference(
                customer_id=customer.id,
                org_id=customer.org_id,
                opt_out=False,
                opt_out_templates=shape.get("opt_out_templates", []),
                version=1,
                **{k: v for k, v in shape.items() if k != "opt_out_templates"},
            )
        )
    await session.flush()
