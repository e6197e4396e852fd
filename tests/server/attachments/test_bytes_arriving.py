"""The bytes and the record meet whatever the order: an attachment registered while its
upload completes still becomes available, and the sweep settles any that did not."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from server.attachments import jobs as worker
from server.attachments import service as attachments
from server.attachments.models import Attachment, Blob
from server.attachments.storage import LocalBlobStore
from server.events.models import OutboxEvent
from server.tickets.models import Ticket
from shared.ids import uuid7
from tests.fixtures.attachments import png, registered_photo, sha
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.field.helpers import travelling


async def _register(session: AsyncSession, t: Tenant, ticket: Ticket, data: bytes) -> Any:
    return await registered_photo(session, t.actor("engineer1"), ticket.id, data)


async def _record(session: AsyncSession, org_id: uuid.UUID, data: bytes) -> None:
    await attachments.record_blob(
        session,
        org_id=org_id,
        sha256=sha(data),
        size=len(data),
        mime="image/png",
        width=None,
        height=None,
    )


async def _status(app: Any, attachment_id: Any) -> str | None:
    async with app.state.sessionmaker() as check:
        status: str | None = await check.scalar(
            select(Attachment.status).where(Attachment.id == attachment_id)
        )
    return status


async def test_a_registration_committing_after_the_upload_finds_the_bytes(
    app: Any, committing_db: AsyncSession
) -> None:
    """The push reads "no bytes yet" and inserts a pending attachment; the upload's last PATCH
    stores the bytes and commits, flipping only what it could see; then the push commits.
    The push looks for the bytes again as it commits."""
    db = committing_db
    t = await make_tenant(db, "Bytes race: push commits last")
    ticket = await travelling(db, t)
    await db.commit()
    data = png(width=33, height=17)
    maker = app.state.sessionmaker
    async with maker() as push_tx, maker() as patch_tx:
        attachment = await _register(push_tx, t, ticket, data)
        await push_tx.flush()
        assert attachment.status == "pending"
        await _record(patch_tx, t.org.id, data)
        await patch_tx.commit()
        await push_tx.commit()
    assert await _status(app, attachment.id) == "available"


async def test_a_registration_committing_while_the_upload_commits_waits_for_it(
    app: Any, committing_db: AsyncSession
) -> None:
    """The upload's transaction has stored the bytes but not committed; the push (which saw
    no bytes) commits meanwhile. Its look at commit waits for the upload's transaction
    (one lock per organisation and hash), then sees the bytes: without the wait it would
    see nothing, and the upload, which could not see the push's row, flipped nothing."""
    db = committing_db
    t = await make_tenant(db, "Bytes race: upload commits last")
    ticket = await travelling(db, t)
    await db.commit()
    data = png(width=35, height=19)
    maker = app.state.sessionmaker
    async with maker() as patch_tx, maker() as push_tx:
        await _record(patch_tx, t.org.id, data)
        attachment = await _register(push_tx, t, ticket, data)
        committing = asyncio.create_task(push_tx.commit())
        await asyncio.sleep(0.3)
        try:
            assert not committing.done(), "the push committed without waiting for the bytes"
        finally:
            await patch_tx.commit()
            await asyncio.wait_for(committing, timeout=10)
    assert await _status(app, attachment.id) == "available"


async def test_a_registration_rolled_back_leaves_nothing_to_settle(
    app: Any, committing_db: AsyncSession
) -> None:
    """The look at commit is for this transaction's attachments only: a rolled-back one,
    or a later commit of the same session, settles nothing and fails nothing."""
    db = committing_db
    t = await make_tenant(db, "Bytes race: rolled back")
    ticket = await travelling(db, t)
    await db.commit()
    data = png(width=37, height=21)
    org_id = t.org.id
    attachment_id = (await _register(db, t, ticket, data)).id
    await db.rollback()
    await _record(db, org_id, data)
    await db.commit()
    assert await _status(app, attachment_id) is None


def _ctx(app: Any, connection: AsyncConnection, store: LocalBlobStore) -> dict[str, Any]:
    maker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return {"sessionmaker": maker, "redis": app.state.redis, "blob_store": store}


async def test_the_sweep_settles_a_pending_attachment_whose_bytes_are_stored(
    app: Any,
    connection: AsyncConnection,
    db: AsyncSession,
    tenant: Tenant,
    ticket: Ticket,
    store: LocalBlobStore,
) -> None:
    """Belt and braces: whatever left an attachment pending beside its stored bytes, the
    worker's sweep makes it available (or rejected when the bytes do not fit), once."""
    engineer = tenant.actor("engineer1")
    fits, misfit = png(width=41, height=23), png(width=43, height=29)
    good = await _register(db, tenant, ticket, fits)
    bad = await attachments.register_attachment(
        db,
        engineer,
        attachment_id=uuid7(),
        ticket_id=ticket.id,
        sha256=sha(misfit),
        size=len(misfit) + 1,
        mime="image/png",
        role="photo",
    )
    waiting = await _register(db, tenant, ticket, png(width=47, height=31))  # no bytes
    for data in (fits, misfit):  # the bytes, stored without flipping anything
        await db.execute(
            insert(Blob).values(
                org_id=tenant.org.id, sha256=sha(data), size=len(data), mime="image/png"
            )
        )
    await db.flush()

    def events() -> Any:
        return db.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.aggregate_id.in_([good.id, bad.id]))
        )

    before = await events()
    await worker.sweep_attachments(_ctx(app, connection, store))
    for row in (good, bad, waiting):
        await db.refresh(row)
    assert (good.status, good.mime, good.available_at is not None) == (
        "available",
        "image/png",
        True,
    )
    assert bad.status == "rejected" and "size" in (bad.rejected_reason or "")
    assert waiting.status == "pending"
    assert await events() == before + 2  # attachment.available, attachment.rejected

    await worker.sweep_attachments(_ctx(app, connection, store))  # again: nothing to do
    assert await events() == before + 2
    assert await attachments.settle_pending(db) == 0


async def test_the_sweep_leaves_other_organisations_bytes_alone(
    app: Any,
    connection: AsyncConnection,
    db: AsyncSession,
    tenant: Tenant,
    ticket: Ticket,
    store: LocalBlobStore,
) -> None:
    """Bytes are per organisation: another organisation holding the same file makes
    nothing of ours available."""
    data = png(width=53, height=37)
    mine = await _register(db, tenant, ticket, data)
    other = await make_tenant(db)
    await db.execute(
        insert(Blob).values(org_id=other.org.id, sha256=sha(data), size=len(data), mime="image/png")
    )
    await db.flush()
    await worker.sweep_attachments(_ctx(app, connection, store))
    await db.refresh(mine)
    assert mine.status == "pending"
