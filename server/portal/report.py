"""A fault report from an asset's QR label (``/q/{token}``).

The first report opens a work order (channel ``qr``; the asset, its site and customer
filled in; the description holds what the customer wrote, their contact and the time they
prefer) through the work orders' own creation rules. While that work order is open, a
further report for the asset is added to it (``customer_update``) instead of opening
another. Photos go with either."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import BlobStore
from server.customers import Asset
from server.links import AccessLink, LinkNotFound
from server.portal import photos as photo_store
from server.portal import updates
from server.portal.actors import customer_actor
from server.portal.links import Issued, status_link_for
from server.portal.updates import Update
from server.text import fit, visible
from server.tickets import Channel, Ticket, TicketCreate
from server.tickets import service as tickets
from shared.lifecycle import OPEN

TITLE_MAX = 120


@dataclass(frozen=True)
class Reported:
    ticket: Ticket
    attached: bool  # added to the asset's open work order instead of opening one
    # The new work order's status link; None when the report was added to an open one:
    # that work order's link is its own customer's, and holding the label is not enough
    # to follow (and write on) someone else's repair.
    status: Issued | None


async def asset_of(session: AsyncSession, link: AccessLink) -> Asset:
    asset = await session.get(Asset, link.subject_id)
    if asset is None or asset.org_id != link.org_id:
        raise LinkNotFound("this link is not valid: ask for a new one")
    return asset


async def open_ticket(session: AsyncSession, asset: Asset) -> Ticket | None:
    """The asset's newest open work order."""
    found: Ticket | None = await session.scalar(
        select(Ticket)
        .where(
            Ticket.org_id == asset.org_id,
            Ticket.asset_id == asset.id,
            Ticket.status.in_([s.value for s in OPEN]),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    return found


def description(update: Update) -> str:
    lines = [update.note.strip(), ""]
    contact = update.contact
    for label, value in (
        ("Contact", contact.name),
        ("Phone", contact.phone),
        ("E-mail", contact.email),
        ("Preferred time", contact.preferred),
    ):
        if value:
            lines.append(f"{label}: {value}")
    lines.append(f"Reported through the QR label on {dt.date.today().isoformat()}.")
    return fit("\n".join(lines), 10_000)


def title(note: str) -> str:
    """The first line that shows something (not one of zero-width characters alone)."""
    lines = [line.strip() for line in note.splitlines() if visible(line)]
    return fit(lines[0] if lines else "Fault report", TITLE_MAX)


async def report(
    session: AsyncSession, blobs: BlobStore, *, link: AccessLink, update: Update
) -> Reported:
    asset = await asset_of(session, link)
    await updates.lock_subject(session, asset.id)
    existing = await open_ticket(session, asset)
    if existing is not None:
        await updates.add(session, blobs, ticket=existing, update=update, source="qr")
        return Reported(existing, True, None)
    actor = customer_actor(asset.org_id, "qr")
    data = TicketCreate(
        customer_id=asset.customer_id,
        site_id=asset.site_id,
        asset_id=asset.id,
        channel=Channel.QR,
        title=title(update.note),
        description=description(update),
    )
    ticket = await tickets.create(session, actor, data=data)
    await photo_store.store(session, actor, blobs, ticket=ticket, photos=update.photos)
    return Reported(ticket, False, await status_link_for(session, ticket))
