"""Demo data for the customer pages: every asset's QR link and every open work order's
status link, so the labels print and the pages open at once (`make run`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.customers import Asset
from server.orgs import Organisation
from server.portal.links import qr_link_for, status_link_for
from server.tickets import Ticket
from shared.lifecycle import OPEN


async def seed(session: AsyncSession, org: Organisation) -> None:
    assets = await session.scalars(select(Asset).where(Asset.org_id == org.id).order_by(Asset.id))
    for asset in assets.all():
        await qr_link_for(session, asset)
    open_work = await session.scalars(
        select(Ticket)
        .where(Ticket.org_id == org.id, Ticket.status.in_([s.value for s in OPEN]))
        .order_by(Ticket.number)
    )
    for ticket in open_work.all():
        await status_link_for(session, ticket)
    await session.flush()
