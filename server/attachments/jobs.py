"""Attachments' jobs: derived images of one blob, and the sweep that settles what a lost
nudge or an abandoned upload left behind."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from server.attachments import derive as attachment_images
from server.attachments import service as attachments
from server.attachments.uploads import service as uploads
from server.config import get_settings
from server.db import session_scope
from server.jobs import job

log = logging.getLogger("fixflow.worker")


@job("attachments.derive_images", keep_result=0)
async def derive_images(ctx: dict[str, Any], org_id: str, sha256: str) -> bool:
    """The thumbnail and customer-safe copy of one blob (idempotent: a re-run is a no-op)."""
    async with session_scope(ctx["sessionmaker"]) as session:
        blob = await attachment_images.derive_images(
            session,
            ctx["blob_store"],
            org_id=uuid.UUID(org_id),
            sha256=sha256,
            max_pixels=get_settings().UPLOAD_MAX_PIXELS,
        )
    return blob is not None and blob.thumbnail_sha256 is not None


# Every minute: a derive job lost between the upload's commit and its enqueue (the API
# killed in between) is made up within about two minutes.
@job("attachments.sweep", cron={"second": {30}}, run_at_startup=True)
async def sweep_attachments(ctx: dict[str, Any]) -> int:
    """Pending attachments whose bytes are stored; derived images a lost nudge never made;
    abandoned uploads' partial bytes."""
    async with session_scope(ctx["sessionmaker"]) as session:
        settled = await attachments.settle_pending(session)
    if settled:
        log.warning("attachments sweep: %d pending attachments had their bytes", settled)
    async with session_scope(ctx["sessionmaker"]) as session:
        todo = await attachment_images.underived(session, older_than=dt.timedelta(minutes=1))
    for org_id, sha256 in todo:
        await derive_images(ctx, str(org_id), sha256)
    async with session_scope(ctx["sessionmaker"]) as session:
        expired = await uploads.expire_uploads(session, ctx["blob_store"])
    async with session_scope(ctx["sessionmaker"]) as session:
        await uploads.purge_uploads(session, older_than=dt.timedelta(days=7))
    return settled + len(todo) + expired


JOBS = (derive_images, sweep_attachments)
