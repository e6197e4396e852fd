"""Photos a customer sends from a page: checked here, stored as the attachments domain
stores any photo (the blob store, ``record_blob``, then ``register_attachment``), so staff
see them beside the engineer's, with their thumbnails and customer-safe copies."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import BlobStore, Role, images
from server.attachments import service as attachments
from server.auth import Actor
from server.config import get_settings
from server.tickets import Ticket
from shared.ids import uuid7

MAX_PHOTOS = 5
MAX_PHOTO_BYTES = 8 * 1024 * 1024
ACCEPTED = frozenset({images.JPEG, images.PNG, images.HEIC})


class PhotoRefused(ValueError):
    """A photo the page refuses; ``key`` is the message the page shows."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Photo:
    data: bytes
    mime: str
    width: int
    height: int


def check(data: bytes) -> Photo:
    """A JPEG, PNG or HEIC photo of at most MAX_PHOTO_BYTES that decodes, or PhotoRefused."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused("portal.error.photo_size")
    mime = images.sniff(data[: images.SNIFF_BYTES])
    if mime not in ACCEPTED:
        raise PhotoRefused("portal.error.photo_type")
    try:
        info = images.inspect(
            io.BytesIO(data), mime=mime, max_pixels=get_settings().UPLOAD_MAX_PIXELS
        )
    except images.ImageRefused:
        raise PhotoRefused("portal.error.photo_unreadable") from None
    return Photo(data=data, mime=mime, width=info.width, height=info.height)


async def store(
    session: AsyncSession, actor: Actor, blobs: BlobStore, *, ticket: Ticket, photos: list[Photo]
) -> list[uuid.UUID]:
    """Keep the photos on the work order (role ``photo``); their attachment ids."""
    ids: list[uuid.UUID] = []
    for photo in photos:
        sha256 = await blobs.put(photo.data)
        await attachments.record_blob(
            session,
            org_id=ticket.org_id,
            sha256=sha256,
            size=len(photo.data),
            mime=photo.mime,
            width=photo.width,
            height=photo.height,
        )
        attachment = await attachments.register_attachment(
            session,
            actor,
            attachment_id=uuid7(),
            ticket_id=ticket.id,
            sha256=sha256,
            size=len(photo.data),
            mime=photo.mime,
            role=Role.PHOTO.value,
            caption="From the customer",
        )
        ids.append(attachment.id)
    return ids
