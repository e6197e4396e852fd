"""The derived images of a blob: a thumbnail and the customer-safe copy (worker job).

Idempotent: the copies are content-addressed and recorded once, so a re-run (arq delivers
at least once; the sweep catches lost nudges) stores nothing new and changes no row.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid

from anyio import to_thread
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import images
from server.attachments.models import Blob
from server.attachments.storage import BlobStore
from server.text import fit_column

log = logging.getLogger("fixflow.attachments")


async def derive_images(
    session: AsyncSession, store: BlobStore, *, org_id: uuid.UUID, sha256: str, max_pixels: int
) -> Blob | None:
    blob = await session.get(Blob, (org_id, sha256))
    if blob is None or blob.derived_at is not None:
        return blob
    thumbnail = customer = error = None
    if blob.mime in images.IMAGE_TYPES:
        data = await store.read_all(sha256)
        make = functools.partial(images.derive, data, max_pixels=max_pixels)
        try:
            derived = await to_thread.run_sync(make)
        except images.ImageRefused as exc:
            log.warning("no derived images for %s: %s", sha256, exc)
            error = str(exc)
        else:
            thumbnail = await store.put(derived.thumbnail)
            customer = await store.put(derived.customer_copy)
    # Documents (PDF) have neither: there is nothing to strip or shrink that we can render.
    await mark_derived(
        session,
        org_id=org_id,
        sha256=sha256,
        thumbnail_sha256=thumbnail,
        customer_sha256=customer,
        error=error,
    )
    await session.refresh(blob)
    return blob


async def underived(
    session: AsyncSession, *, older_than: dt.timedelta, limit: int = 50
) -> list[tuple[uuid.UUID, str]]:
    """Blobs whose derived images were never made (a lost job nudge), oldest first."""
    rows = await session.execute(
        select(Blob.org_id, Blob.sha256)
        .where(Blob.derived_at.is_(None), Blob.created_at < dt.datetime.now(dt.UTC) - older_than)
        .order_by(Blob.created_at)
        .limit(limit)
    )
    return [(org, sha) for org, sha in rows]


async def mark_derived(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    sha256: str,
    thumbnail_sha256: str | None,
    customer_sha256: str | None,
    error: str | None,
) -> bool:
    """Record the derived copies once (a second run finds them recorded and changes nothing)."""
    result = await session.execute(
        update(Blob)
        .where(Blob.org_id == org_id, Blob.sha256 == sha256, Blob.derived_at.is_(None))
        .values(
            thumbnail_sha256=thumbnail_sha256,
            customer_sha256=customer_sha256,
            derive_error=fit_column(Blob.derive_error, error) if error else None,
            derived_at=dt.datetime.now(dt.UTC),
        )
    )
    return bool(getattr(result, "rowcount", 0))
