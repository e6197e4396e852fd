"""Attachments and signatures on work orders: one write path for REST and the phone.

- ``register_attachment`` may come before the bytes (the phone queues metadata first): the
  attachment is ``pending`` until the organisation holds verified bytes with its SHA-256,
  then ``available`` (or ``rejected`` when the bytes do not fit the role, e.g. a PDF sent
  as a photo). The upload's completion makes that transition (``record_blob``).
- The phone registers and uploads in parallel, so the registration and the upload's last
  PATCH can each run while the other is uncommitted (neither sees the other's row). A
  transaction that registered a pending attachment looks for the bytes again as it commits
  (``_settle_at_commit``), and that look and ``record_blob`` take one transaction-scoped
  advisory lock per (organisation, SHA-256): whichever is second sees what the first
  committed. The worker's sweep (``settle_pending``) flips any pending attachment whose
  bytes are stored all the same.
- Ids are the phone's: registering an id again with the same content returns the stored
  record; with different content it is a 409 ``client_id_reused`` (as for field records).
  Records are append-only.
- Engineers work only on work orders assigned to them (others are 404); the back office on
  any work order of the organisation. Nothing here refuses evidence because of the work
  order's status: a photo taken before the office cancelled is still kept.
- The type is sniffed from the bytes (``images.sniff``); the client's ``mime`` is kept as
  ``declared_mime`` and never trusted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import event, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_session
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from server.attachments import checks, images
from server.attachments.errors import NotReady
from server.attachments.models import Attachment, AttachmentStatus, Blob, Role, Signature
from server.auth import Actor
from server.crud import keyset_page
from server.db import after_commit
from server.errors import ClientIdReused, Forbidden, NotFound, Unprocessable
from server.events import service as events
from server.hooks import Slot
from server.pagination import Page
from server.tickets import service as tickets
from shared.lifecycle import Status

# A visit an attachment names must be a visit of its work order (422 otherwise): visits
# are the field domain's, which plugs the check in (server/field/plug.py).
VisitCheck = Callable[[AsyncSession, Actor, uuid.UUID, uuid.UUID | None], Awaitable[None]]
visit_check: Slot[VisitCheck] = Slot("attachments: the visit an attachment names")

DERIVE_JOB = "attachments.derive_images"
ACCEPTED: dict[str, frozenset[str]] = {
    Role.PHOTO: images.IMAGE_TYPES,
    Role.DOCUMENT: images.STORABLE,
    Role.SIGNATURE: frozenset({images.PNG}),
}


def _writer(actor: Actor) -> None:
    if actor.is_viewer or not actor.can("tickets:write"):
        raise Forbidden("adding attachments needs the scope 'tickets:write'")


def _visible(actor: Actor) -> Any:
    """Engineers see the attachments of work orders assigned to them."""
    if (mine := tickets.visible_ticket_ids(actor)) is not None:
        return Attachment.work_order_id.in_(mine)
    return None


# --- attachments -----------------------------------------------------------------------


async def register_attachment(
    session: AsyncSession,
    actor: Actor,
    *,
    attachment_id: uuid.UUID | str,
    ticket_id: uuid.UUID | str,
    sha256: str,
    size: float,
    mime: str,
    role: str,
    visit_id: uuid.UUID | str | None = None,
    caption: str | None = None,
    captured_at: dt.datetime | str | None = None,
    gps: Mapping[str, Any] | None = None,
) -> Attachment:
    """Record a photo or document on a work order (``pending`` until its bytes are here)."""
    if role not in (Role.PHOTO, Role.DOCUMENT):
        raise Unprocessable(
            "role must be photo or document (signatures: signature.capture)", field="role"
        )
    return await _register(
        session,
        actor,
        attachment_id=checks.as_id(attachment_id, "attachment_id"),
        ticket_id=checks.as_id(ticket_id, "work_order_id"),
        sha256=checks.check_sha256(sha256),
        size=checks.size(size),
        mime=checks.declared_mime(mime),
        role=Role(role),
        visit_id=checks.opt_id(visit_id, "visit_id"),
        caption=checks.text(caption, "caption", 2000),
        captured_at=checks.instant(captured_at, "captured_at"),
        gps=checks.gps(gps),
    )


async def _register(
    session: AsyncSession,
    actor: Actor,
    *,
    attachment_id: uuid.UUID,
    ticket_id: uuid.UUID,
    sha256: str,
    size: int,
    mime: str,
    role: Role,
    visit_id: uuid.UUID | None,
    caption: str | None,
    captured_at: dt.datetime | None,
    gps: dict[str, float] | None,
) -> Attachment:
    _writer(actor)
    await tickets.get(session, actor, ticket_id=ticket_id)  # 404 unless visible
    await visit_check.get()(session, actor, ticket_id, visit_id)  # 422 unless its own
    values: dict[str, Any] = {
        "work_order_id": ticket_id,
        "visit_id": visit_id,
        "role": role.value,
        "sha256": sha256,
        "size": size,
        "declared_mime": mime,
        "caption": caption,
        "captured_at": captured_at,
        "gps": gps,
    }
    blob = await session.get(Blob, (actor.org_id, sha256))
    status, reason = _fit(role, size, blob)
    inserted = await session.scalar(
        insert(Attachment)
        .values(
            id=attachment_id,
            org_id=actor.org_id,
            status=status,
            rejected_reason=reason,
            mime=blob.mime if blob is not None else None,
            uploaded_by=actor.label,
            engineer_id=actor.engineer_id,
            available_at=_now() if status == AttachmentStatus.AVAILABLE else None,
            **values,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Attachment.id)
    )
    attachment = await session.get(Attachment, attachment_id, populate_existing=True)
    assert attachment is not None
    if inserted is None:
        _same_or_conflict(actor, attachment, values, "attachment_id")
        return attachment
    if status == AttachmentStatus.REJECTED and blob is not None:
        # The bytes are already here and cannot serve this role: tell the caller now.
        raise Unprocessable(reason or "rejected", field="sha256", sniffed_mime=blob.mime)
    _announce(session, attachment)
    if status == AttachmentStatus.PENDING:
        _settle_at_commit(session, attachment)
    return attachment


def _fit(role: Role, size: int, blob: Blob | None) -> tuple[str, str | None]:
    """The status an attachment takes given the organisation's bytes (None: not yet)."""
    if blob is None:
        return AttachmentStatus.PENDING.value, None
    if blob.size != size:
        return AttachmentStatus.REJECTED.value, (
            f"size {size} was declared but the stored bytes with this SHA-256 are {blob.size}"
        )
    if blob.mime not in ACCEPTED[role]:
        kinds = ", ".join(sorted(ACCEPTED[role]))
        return AttachmentStatus.REJECTED.value, (
            f"the bytes are {blob.mime}; a {role.value} must be one of {kinds}"
        )
    return AttachmentStatus.AVAILABLE.value, None


def _bytes_lock(org_id: uuid.UUID, sha256: str) -> Executable:
    """Serialises, per (organisation, SHA-256), the arrival of the bytes (``record_blob``)
    with the commit-time look of a transaction that registered a pending attachment."""
    return text(
        "SELECT pg_advisory_xact_lock(hashtextextended('attachment_bytes:' || :key, 0))"
    ).bindparams(key=f"{org_id}:{sha256}")


def _settle(session: AsyncSession, blob: Blob, pending: list[Attachment]) -> int:
    """Pending attachments whose bytes are here become available (or rejected)."""
    now = _now()
    for attachment in pending:
        status, reason = _fit(Role(attachment.role), attachment.size, blob)
        attachment.status, attachment.rejected_reason = status, reason
        attachment.mime = blob.mime
        if status == AttachmentStatus.AVAILABLE:
            attachment.available_at = now
        _announce(session, attachment)
    return len(pending)


_SETTLE_AT_COMMIT = "attachments.settle_at_commit"


def _settle_at_commit(session: AsyncSession, attachment: Attachment) -> None:
    """Look for the bytes of this pending attachment again when the transaction commits.

    The upload's last PATCH may have stored them after this transaction looked, and flipped
    only the pending attachments it could see (not this uncommitted one). At commit, under
    the advisory lock ``record_blob`` takes too, a fresh read sees any bytes committed by
    then; bytes committed later are recorded by a ``record_blob`` that waited for the lock
    and then sees this attachment. The lock is not held from the registration on: a push
    applying many mutations would hold up every upload of those bytes until it ends."""
    keys: set[tuple[uuid.UUID, str, uuid.UUID]] = session.info.setdefault(_SETTLE_AT_COMMIT, set())
    keys.add((attachment.org_id, attachment.sha256, attachment.id))
    if not event.contains(session.sync_session, "before_commit", _settle_before_commit):
        event.listen(session.sync_session, "before_commit", _settle_before_commit)


def _settle_before_commit(session: Session) -> None:
    """The session's ``before_commit``: runs in the transaction, before its last flush."""
    keys: set[tuple[uuid.UUID, str, uuid.UUID]] = session.info.pop(_SETTLE_AT_COMMIT, set())
    if not keys:
        return
    by_bytes: dict[tuple[uuid.UUID, str], list[uuid.UUID]] = {}
    for org_id, sha256, attachment_id in keys:
        by_bytes.setdefault((org_id, sha256), []).append(attachment_id)
    proxy = async_session(session)
    assert proxy is not None  # only AsyncSessions register this hook
    for (org_id, sha256), ids in sorted(by_bytes.items()):  # one lock order: no deadlock
        session.execute(_bytes_lock(org_id, sha256))
        blob = session.scalar(
            select(Blob)
            .where(Blob.org_id == org_id, Blob.sha256 == sha256)
            .execution_options(populate_existing=True)
        )
        if blob is None:
            continue  # record_blob, waiting for the lock or later, will see the attachment
        pending = session.scalars(
            select(Attachment)
            .where(
                Attachment.id.in_(ids),  # gone if a savepoint that inserted it rolled back
                Attachment.status == AttachmentStatus.PENDING.value,
            )
            .order_by(Attachment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        _settle(proxy, blob, list(pending))


async def settle_pending(session: AsyncSession, *, limit: int = 200) -> int:
    """Pending attachments whose organisation holds their bytes (the worker's sweep; the
    commit-time look and ``record_blob`` should leave none). Idempotent: a settled
    attachment is no longer pending; a row another transaction holds is left for next time."""
    rows = await session.execute(
        select(Attachment, Blob)
        .join(Blob, (Blob.org_id == Attachment.org_id) & (Blob.sha256 == Attachment.sha256))
        .where(Attachment.status == AttachmentStatus.PENDING.value)
        .order_by(Attachment.created_at, Attachment.id)
        .limit(limit)
        .with_for_update(of=Attachment, skip_locked=True)
    )
    settled = 0
    for attachment, blob in rows:
        settled += _settle(session, blob, [attachment])
    return settled


def _same_or_conflict(actor: Actor, existing: Any, values: Mapping[str, Any], field: str) -> None:
    if existing.org_id != actor.org_id or existing.work_order_id != values["work_order_id"]:
        # Another organisation's record, or one on another work order (a colleague's, which
        # the engineer may not see): the id is taken, and nothing is said of its content.
        raise ClientIdReused(f"the id {existing.id} is already in use", field=field)
    differs = sorted(k for k, v in values.items() if getattr(existing, k) != v)
    if differs:
        raise ClientIdReused(
            f"{existing.id} was already created with other values ({', '.join(differs)}); "
            "a correction is a new record with a new id",
            field=field,
            differs=differs,
        )


def _announce(session: AsyncSession, attachment: Attachment) -> None:
    events.emit(
        session,
        org_id=attachment.org_id,
        topic=f"attachment.{attachment.status}",
        aggregate_id=attachment.id,
        payload={
            "attachment_id": str(attachment.id),
            "work_order_id": str(attachment.work_order_id),
            "role": attachment.role,
            "status": attachment.status,
            "sha256": attachment.sha256,
            "mime": attachment.mime,
        },
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def get_attachment(
    session: AsyncSession, actor: Actor, *, attachment_id: uuid.UUID
) -> Attachment:
    query = select(Attachment).where(
        Attachment.id == attachment_id, Attachment.org_id == actor.org_id
    )
    if (visible := _visible(actor)) is not None:
        query = query.where(visible)
    attachment = await session.scalar(query)
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} not found")
    return attachment


@dataclass(frozen=True)
class Content:
    sha256: str
    mime: str
    size: int | None  # None for a derived copy: ask the store


async def content_of(
    session: AsyncSession,
    actor: Actor,
    *,
    attachment_id: uuid.UUID,
    variant: Literal["original", "thumbnail", "customer_copy"],
) -> Content:
    """Which bytes to send for an attachment: the original (with its metadata, for the
    audit), the thumbnail, or the customer-safe copy (no EXIF/GPS)."""
    attachment = await get_attachment(session, actor, attachment_id=attachment_id)
    blob = await session.get(Blob, (actor.org_id, attachment.sha256))
    if attachment.status == AttachmentStatus.PENDING or blob is None:
        raise NotReady(f"the bytes of attachment {attachment_id} have not been uploaded yet")
    if variant == "original":
        return Content(blob.sha256, blob.mime, blob.size)
    if blob.derived_at is None:
        exc = NotReady(f"the {variant.replace('_', ' ')} is being made; retry shortly")
        exc.headers["Retry-After"] = "5"
        raise exc
    sha = blob.thumbnail_sha256 if variant == "thumbnail" else blob.customer_sha256
    if sha is None:
        raise NotFound(
            f"attachment {attachment_id} has no {variant.replace('_', ' ')}: "
            + (blob.derive_error or "documents (PDF) have none")
        )
    keep_png = variant == "customer_copy" and blob.mime == images.PNG
    return Content(sha, images.PNG if keep_png else images.JPEG, None)


async def list_attachments(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Attachment]:
    await tickets.get(session, actor, ticket_id=ticket_id)
    query = select(Attachment).where(
        Attachment.org_id == actor.org_id, Attachment.work_order_id == ticket_id
    )
    return await keyset_page(
        session,
        query,
        sort_column=Attachment.created_at,
        id_column=Attachment.id,
        limit=limit,
        cursor=cursor,
    )


async def blobs_of(
    session: AsyncSession, actor: Actor, attachments: list[Attachment]
) -> dict[str, Blob]:
    """The organisation's blob rows (dimensions, derived copies) for these attachments."""
    shas = {a.sha256 for a in attachments}
    if not shas:
        return {}
    rows = await session.scalars(
        select(Blob).where(Blob.org_id == actor.org_id, Blob.sha256.in_(shas))
    )
    return {b.sha256: b for b in rows}


async def stored_size(session: AsyncSession, actor: Actor, *, sha256: str) -> int | None:
    """The size of these bytes if the caller's organisation holds them, else None. Other
    organisations' copies are never revealed: they upload their own (the store keeps one
    copy on disk, which nobody can tell from the outside)."""
    _writer(actor)
    size: int | None = await session.scalar(
        select(Blob.size).where(
            Blob.org_id == actor.org_id, Blob.sha256 == checks.check_sha256(sha256)
        )
    )
    return size


async def record_blob(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    sha256: str,
    size: int,
    mime: str,
    width: int | None,
    height: int | None,
) -> Blob:
    """Verified bytes arrived for an organisation: make its pending attachments with this
    hash available (or rejected) and have the derived images made after the commit."""
    # Taken before the pending attachments are read: a registration committing now either
    # finished first (its attachment is visible below) or looks after this commits.
    await session.execute(_bytes_lock(org_id, sha256))
    await session.execute(
        insert(Blob)
        .values(org_id=org_id, sha256=sha256, size=size, mime=mime, width=width, height=height)
        .on_conflict_do_nothing(index_elements=["org_id", "sha256"])
    )
    blob = await session.get(Blob, (org_id, sha256), populate_existing=True)
    assert blob is not None
    pending = await session.scalars(
        select(Attachment)
        .where(
            Attachment.org_id == org_id,
            Attachment.sha256 == sha256,
            Attachment.status == AttachmentStatus.PENDING.value,
        )
        .order_by(Attachment.created_at, Attachment.id)
        .with_for_update()
    )
    _settle(session, blob, list(pending))
    if blob.derived_at is None:
        schedule_derive(session, org_id=org_id, sha256=sha256)
    return blob


def schedule_derive(session: AsyncSession, *, org_id: uuid.UUID, sha256: str) -> None:
    after_commit(
        session,
        DERIVE_JOB,
        org_id=str(org_id),
        sha256=sha256,
        _job_id=f"derive:{org_id}:{sha256}",
    )


# --- signatures --------------------------------------------------------------------------


async def capture_signature(
    session: AsyncSession,
    actor: Actor,
    *,
    signature_id: uuid.UUID | str,
    ticket_id: uuid.UUID | str,
    attachment_id: uuid.UUID | str,
    sha256: str,
    size: float,
    signer_name: str,
    strokes: Any,
    signed_status: str,
    device_time: dt.datetime | str | None = None,
    visit_id: uuid.UUID | str | None = None,
) -> Signature:
    """A customer's signature: the PNG becomes an attachment of role ``signature`` (pending
    until its bytes arrive, like a photo) and the strokes, signer, device time and the
    work-order status being signed are kept beside it."""
    if actor.is_agent:
        # Signatures are taken on site; the service desk attaches documents at most.
        raise Forbidden("service desk agents cannot capture signatures")
    signature_id = checks.as_id(signature_id, "signature_id")
    work_order = checks.as_id(ticket_id, "work_order_id")
    visit = checks.opt_id(visit_id, "visit_id")
    name = _signer(signer_name)
    _check_signed_status(signed_status)
    when = checks.instant(device_time, "device_time")
    lines = checks.strokes(strokes)
    attachment = await _register(
        session,
        actor,
        attachment_id=checks.as_id(attachment_id, "attachment_id"),
        ticket_id=work_order,
        sha256=checks.check_sha256(sha256),
        size=checks.size(size),
        mime=images.PNG,
        role=Role.SIGNATURE,
        visit_id=visit,
        caption=None,  # the signer is on the signature record
        captured_at=when,
        gps=None,
    )
    values: dict[str, Any] = {
        "work_order_id": work_order,
        "attachment_id": attachment.id,
        "visit_id": visit,
        "signer_name": name,
        "strokes": lines,
        "signed_status": signed_status,
        "device_time": when,
    }
    return await _store_signature(session, actor, signature_id, values)


def _signer(signer_name: str) -> str:
    """The signer's name, stripped: required, at most 200 characters."""
    name = checks.text(signer_name, "signer_name", 200)
    if not name or not name.strip():
        raise Unprocessable("the signer's name is required", field="signer_name")
    return name.strip()


def _check_signed_status(signed_status: str) -> None:
    """422 unless it names a work-order status (the status the customer signed in)."""
    if signed_status not in {s.value for s in Status}:
        raise Unprocessable(
            f"must be a work-order status: {', '.join(s.value for s in Status)}",
            field="signed_status",
        )


async def _store_signature(
    session: AsyncSession, actor: Actor, signature_id: uuid.UUID, values: dict[str, Any]
) -> Signature:
    """Insert the signature row, or answer the stored one when this is the same signature
    again (409 when the id or the attachment is taken by another); a new one is announced
    (``signature.captured``)."""
    inserted = await session.scalar(
        insert(Signature)
        .values(id=signature_id, org_id=actor.org_id, created_by=actor.label, **values)
        .on_conflict_do_nothing()
        .returning(Signature.id)
    )
    if inserted is None:
        # The id, or the attachment, is taken: the same signature again, or a conflict.
        existing = await session.get(Signature, signature_id, populate_existing=True)
        if existing is None:
            raise ClientIdReused(
                f"attachment {values['attachment_id']} already carries another signature",
                field="attachment_id",
            )
        _same_or_conflict(actor, existing, values, "signature_id")
        return existing
    signature = await session.get(Signature, signature_id)
    assert signature is not None
    events.emit(
        session,
        org_id=actor.org_id,
        topic="signature.captured",
        aggregate_id=signature.id,
        payload={
            "signature_id": str(signature.id),
            "work_order_id": str(values["work_order_id"]),
            "attachment_id": str(values["attachment_id"]),
            "signed_status": values["signed_status"],
        },
    )
    return signature


async def list_signatures(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> list[Signature]:
    await tickets.get(session, actor, ticket_id=ticket_id)
    rows = await session.scalars(
        select(Signature)
        .where(Signature.org_id == actor.org_id, Signature.work_order_id == ticket_id)
        .order_by(Signature.created_at, Signature.id)
        .limit(500)
    )
    return list(rows)
