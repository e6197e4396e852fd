"""Demo data: one webhook endpoint, disabled until someone points it at a receiver."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.webhooks import signing
from server.webhooks.models import WebhookEndpoint


async def seed(session: AsyncSession, org_id: uuid.UUID) -> None:
    session.add(
        WebhookEndpoint(
            org_id=org_id,
            url="https://erp.example.com/fixflow/webhooks",
            description="ERP (demo): change the URL to your receiver, then enable it",
            event_types=["ticket.*", "survey.responded"],
            secret=signing.new_secret(),
            enabled=False,
            disabled_at=dt.datetime.now(dt.UTC),
            disabled_reason="demo endpoint: point it at your receiver and enable it",
        )
    )
    await session.flush()
