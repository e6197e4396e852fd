"""What a customer adds to a work order: a note and photos, from the status page or a
second QR report for the same asset.

The note is kept in the work order's audit trail as a ``customer_update`` event (staff
read it with the events; ``ticket.customer_update`` tells whoever subscribed), never as
an internal note, and the photos as attachments of the work order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import BlobStore
from server.portal import photos as photo_store
from server.portal.actors import Source, customer_actor
from server.portal.photos import Photo
from server.text import fit
from server.tickets import Ticket, TicketEvent, audit

NOTE_MAX = 2000
CUSTOMER_UPDATE = "customer_update"


@dataclass(frozen=True)
class Contact:
    name: str = ""
    phone: str = ""
    email: str = ""
    preferred: str = ""  # a choice of the form (asap, morning, afternoon, evening)

    def as_changes(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass(frozen=True)
class Update:
    note: str
    photos: list[Photo] = field(default_factory=list)
    contact: Contact = field(default_factory=Contact)


async def lock_subject(session: AsyncSession, subject_id: uuid.UUID) -> None:
    """One customer write at a time per work order or asset (two QR reports sent together
    open one work order, not two)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('portal:' || :key, 0))"),
        {"key": str(subject_id)},
    )


async def add(
    session: AsyncSession, blobs: BlobStore, *, ticket: Ticket, update: Update, source: Source
) -> TicketEvent:
    """Append the customer's note and photos to the work order (``customer_update``)."""
    actor = customer_actor(ticket.org_id, source)
    ids = await photo_store.store(session, actor, blobs, ticket=ticket, photos=update.photos)
    changes: dict[str, Any] = {
        "source": source,
        "note": fit(update.note, NOTE_MAX),
        "photos": [str(i) for i in ids],
    }
    if contact := update.contact.as_changes():
        changes["contact"] = contact
    return audit.record(session, ticket, kind=CUSTOMER_UPDATE, actor=actor.label, changes=changes)
