"""Attachments and signatures of work orders, and their bytes (original, thumbnail, and
the customer-safe copy)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from server.attachments import service
from server.attachments.http import BlobStoreDep
from server.attachments.models import Attachment, Blob
from server.attachments.schemas import (
    AttachmentCreate,
    AttachmentRead,
    SignatureCreate,
    SignatureRead,
)
from server.attachments.storage import BlobStore
from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.errors import NotFound
from server.http import Cursor, Limit, created, none_match, problems
from server.schemas import PageOut
from shared.digits import NumberTooLarge, ascii_uint

router = APIRouter(prefix="/api/v1", tags=["attachments"])
Reader = Annotated[Actor, require("tickets:read")]
Writer = Annotated[Actor, require("tickets:write")]
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}


def _wanted_range(header: str, size: int) -> tuple[int, int] | None:
    """The bytes [start, end) a single ``Range: bytes=first-last`` asks for, clamped to the
    size; None (send everything) for no Range or one of another form, as RFC 9110 allows."""
    found = _RANGE.fullmatch(header.strip())
    if found is None or not any(found.groups()):
        return None
    first, last = found.groups()
    if not first:  # the last N bytes
        return size - _clamped(last, size), size
    return _clamped(first, size), min(size, _clamped(last, size) + 1) if last else size


def _clamped(digits: str, size: int) -> int:
    """A position of the Range header, at most the size (a thousand-digit position too)."""
    try:
        return ascii_uint(digits, maximum=size)
    except NumberTooLarge:
        return size


Store = BlobStoreDep


def _read(attachment: Attachment, blob: Blob | None) -> AttachmentRead:
    return AttachmentRead(
        id=attachment.id,
        work_order_id=attachment.work_order_id,
        visit_id=attachment.visit_id,
        role=attachment.role,
        status=attachment.status,
        rejected_reason=attachment.rejected_reason,
        sha256=attachment.sha256,
        size=attachment.size,
        mime=attachment.mime,
        declared_mime=attachment.declared_mime,
        caption=attachment.caption,
        captured_at=attachment.captured_at,
        gps=attachment.gps,
        width=blob.width if blob else None,
        height=blob.height if blob else None,
        uploaded_by=attachment.uploaded_by,
        created_at=attachment.created_at,
        available_at=attachment.available_at,
        thumbnail_ready=bool(blob and blob.thumbnail_sha256),
        customer_copy_ready=bool(blob and blob.customer_sha256),
    )


@router.post(
    "/tickets/{ticket_id}/attachments",
    status_code=201,
    summary="Register a photo or document on a work order",
    description=(
        "Before or after uploading the bytes (`/api/v1/uploads`): the attachment is "
        "`pending` until your organisation holds verified bytes with this SHA-256, then "
        "`available` (or `rejected` when the bytes do not fit the role). Sending the same "
        "`id` again with the same fields returns the stored attachment; other fields: 409."
    ),
    response_model=AttachmentRead,
    responses={
        **problems(403, 404, 409),
        **created("Attachment registered", read=("read_attachment", "attachment_id")),
    },
)
async def register_attachment(
    ticket_id: uuid.UUID, body: AttachmentCreate, session: SessionDep, actor: Writer
) -> JSONResponse:
    attachment = await service.register_attachment(
        session,
        actor,
        attachment_id=body.id,
        ticket_id=ticket_id,
        sha256=body.sha256,
        size=body.size,
        mime=body.mime,
        role=body.role,
        visit_id=body.visit_id,
        caption=body.caption,
        captured_at=body.captured_at,
        gps=body.gps.model_dump() if body.gps else None,
    )
    blobs = await service.blobs_of(session, actor, [attachment])
    out = _read(attachment, blobs.get(attachment.sha256))
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/attachments/{attachment.id}"},
    )


@router.get(
    "/tickets/{ticket_id}/attachments",
    summary="A work order's attachments, oldest first",
    response_model=PageOut[AttachmentRead],
    responses=problems(400, 403, 404),
)
async def list_attachments(
    ticket_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[AttachmentRead]:
    page = await service.list_attachments(
        session, actor, ticket_id=ticket_id, limit=limit, cursor=cursor
    )
    blobs = await service.blobs_of(session, actor, page.items)
    items = [_read(a, blobs.get(a.sha256)) for a in page.items]
    return PageOut(items=items, next_cursor=page.next_cursor)


@router.get(
    "/attachments/{attachment_id}",
    summary="One attachment",
    response_model=AttachmentRead,
    responses=problems(403, 404),
)
async def read_attachment(
    attachment_id: uuid.UUID, session: SessionDep, actor: Reader
) -> AttachmentRead:
    attachment = await service.get_attachment(session, actor, attachment_id=attachment_id)
    blobs = await service.blobs_of(session, actor, [attachment])
    return _read(attachment, blobs.get(attachment.sha256))


Variant = Literal["original", "thumbnail", "customer_copy"]


async def _send(
    request: Request,
    session: SessionDep,
    actor: Actor,
    store: BlobStore,
    attachment_id: uuid.UUID,
    variant: Variant,
    if_none_match: str | None,
) -> Response:
    found = await service.content_of(session, actor, attachment_id=attachment_id, variant=variant)
    size = found.size if found.size is not None else await store.size(found.sha256)
    if size is None:
        raise NotFound(f"the bytes of attachment {attachment_id} are missing from the store")
    etag = f'"{found.sha256}"'
    headers = {
        "ETag": etag,
        # Content-addressed, so never stale; private: it takes a login to see it.
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Content-Disposition": (
            f'inline; filename="{attachment_id}-{variant}.{_EXTENSIONS.get(found.mime, "bin")}"'
        ),
        "Accept-Ranges": "bytes",
    }
    if none_match(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    start, end, status = 0, size, 200
    wanted = _wanted_range(request.headers.get("range", ""), size)
    if wanted is not None:
        start, end = wanted
        if start >= end:
            headers["Content-Range"] = f"bytes */{size}"
            return Response(status_code=416, headers=headers)
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    return StreamingResponse(
        store.read(found.sha256, start=start, end=end),
        status_code=status,
        media_type=found.mime,
        headers=headers,
    )


def _bytes(*types: str) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {"content": dict.fromkeys(types, binary), "description": "The bytes"},
        206: {"content": dict.fromkeys(types, binary), "description": "The requested range"},
        304: {"description": "Not modified (If-None-Match)"},
    }


_ORIGINAL = _bytes(*_EXTENSIONS)
_THUMBNAIL = _bytes("image/jpeg")
_COPY = _bytes("image/jpeg", "image/png")
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=200)]


@router.get(
    "/attachments/{attachment_id}/content",
    summary="The original bytes, metadata included (for the audit)",
    description="Supports `Range` and `If-None-Match`. 409 `not_ready` while pending.",
    response_class=Response,
    responses={**_ORIGINAL, **problems(403, 404, 409)},
)
async def download_original(
    request: Request,
    attachment_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    store: Store,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return await _send(request, session, actor, store, attachment_id, "original", if_none_match)


@router.get(
    "/attachments/{attachment_id}/thumbnail",
    summary="A JPEG thumbnail (320 px on the long side)",
    description="409 `not_ready` until the worker made it; 404 for documents (PDF).",
    response_class=Response,
    responses={**_THUMBNAIL, **problems(403, 404, 409)},
)
async def download_thumbnail(
    request: Request,
    attachment_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    store: Store,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return await _send(request, session, actor, store, attachment_id, "thumbnail", if_none_match)


@router.get(
    "/attachments/{attachment_id}/customer-copy",
    summary="The customer-safe copy: EXIF (GPS), XMP and comments removed",
    description=(
        "What customers will see (customer pages come later): re-encoded from the pixels, "
        "at most 2048 px on the long side, upright, colour profile kept. 409 `not_ready` "
        "until the worker made it; 404 for documents (PDF), which customers are not shown."
    ),
    response_class=Response,
    responses={**_COPY, **problems(403, 404, 409)},
)
async def download_customer_copy(
    request: Request,
    attachment_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    store: Store,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return await _send(
        request, session, actor, store, attachment_id, "customer_copy", if_none_match
    )


@router.post(
    "/tickets/{ticket_id}/signatures",
    status_code=201,
    summary="Record the customer's signature (PNG, strokes, signer, status signed)",
    description=(
        "Upload the PNG like a photo (`/api/v1/uploads`), before or after. The PNG becomes "
        "an attachment of role `signature` with `attachment_id`. Idempotent by `id`."
    ),
    response_model=SignatureRead,
    responses=problems(403, 404, 409),
)
async def capture_signature(
    ticket_id: uuid.UUID, body: SignatureCreate, session: SessionDep, actor: Writer
) -> SignatureRead:
    signature = await service.capture_signature(
        session,
        actor,
        signature_id=body.id,
        ticket_id=ticket_id,
        attachment_id=body.attachment_id,
        sha256=body.sha256,
        size=body.size,
        signer_name=body.signer_name,
        strokes=body.strokes,
        signed_status=body.signed_status.value,
        device_time=body.device_time,
        visit_id=body.visit_id,
    )
    return SignatureRead.model_validate(signature)


@router.get(
    "/tickets/{ticket_id}/signatures",
    summary="A work order's signatures (at most 500), oldest first",
    response_model=list[SignatureRead],
    responses=problems(403, 404),
)
async def list_signatures(
    ticket_id: uuid.UUID, session: SessionDep, actor: Reader
) -> list[SignatureRead]:
    rows = await service.list_signatures(session, actor, ticket_id=ticket_id)
    return [SignatureRead.model_validate(r) for r in rows]
