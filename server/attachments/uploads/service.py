"""Resumable uploads: tus 1.0 core, with the creation and expiration extensions.

The protocol, as this server speaks it (docs/attachments.md has the walk-through):

- ``POST /uploads`` with ``Upload-Length`` and ``Upload-Metadata: sha256 <base64>``
  creates an upload owned by the caller (nobody else sees it: 404). If the caller's
  organisation already holds bytes with that SHA-256, the upload is born complete
  (``Upload-Offset`` = ``Upload-Length``): nothing needs sending.
- ``HEAD /uploads/{id}`` answers ``Upload-Offset``: the bytes safely stored, from which
  the client resumes.
- ``PATCH /uploads/{id}`` at ``Upload-Offset: o`` with the current offset ``c``:
  ``o > c`` is a 409 (``offset_mismatch``). ``o < c`` is a re-send: the bytes from ``o``
  to ``c`` must equal those already stored (else 409, nothing changes) and are not written
  again; bytes past ``c`` are appended. So a chunk re-sent after a lost response answers
  204 with the same ``Upload-Offset``. A body cut short (the connection dropped) keeps the
  bytes that arrived: a drop costs at most the unsent rest of one chunk.
- On the last byte the SHA-256 is verified, the type sniffed and an image's pixel count
  checked, all before the blob exists. A refusal answers 422 (``hash_mismatch``,
  ``unsupported_type``, ``image_too_large``), discards the bytes, and the upload is gone
  (410) from then on. Otherwise the blob is stored, pending attachments with this hash
  become available and the derived images are queued.

A slow phone must not hold a database transaction open while its bytes trickle in (it
would hold back every sync pull's watermark and meet ``idle_in_transaction`` timeouts), so
``receive_patch`` runs two short transactions of its own, before and after the body,
while the upload's temp file is locked against a concurrent PATCH (409 ``upload_busy``).
The database's offset is the truth; bytes on disk past it are discarded before writing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.attachments import checks, images
from server.attachments import service as attachments
from server.attachments.errors import (
    HashMismatch,
    ImageTooLarge,
    OffsetMismatch,
    UnsupportedType,
    UploadBusy,
    UploadGone,
)
from server.attachments.models import Upload, UploadStatus
from server.attachments.storage import BlobStore, TempBusy, UploadTemp
from server.auth import Actor
from server.config import Settings
from server.db import pop_jobs, session_scope
from server.errors import AppError, BadRequest, NotFound, PayloadTooLarge, Unprocessable
from server.text import fit, quote

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,expiration"
MAX_METADATA_CHARS = 4096
Jobs = list[tuple[str, dict[str, Any]]]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (tus 1.0)."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_CHARS:
        raise BadRequest(f"Upload-Metadata is longer than {MAX_METADATA_CHARS} characters")
    out: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or not key.isascii() or key in out:
            raise BadRequest(f"Upload-Metadata: malformed pair {quote(pair.strip(), 40)}")
        try:
            raw = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
            out[key] = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(
                f"Upload-Metadata: the value of {quote(key, 40)} is not base64"
            ) from None
    return out


def _declared_sha256(meta: dict[str, str]) -> str:
    """The ``sha256`` metadata: the hex digest of the bytes."""
    value = meta.get("sha256")
    if value is None:
        raise Unprocessable(
            "Upload-Metadata must carry sha256 (base64 of the hex SHA-256 of the bytes)",
            field="Upload-Metadata.sha256",
        )
    return checks.check_sha256(value, "Upload-Metadata.sha256")


async def create_upload(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    *,
    length: int,
    metadata: dict[str, str],
) -> Upload:
    attachments._writer(actor)
    if length < 1:
        raise Unprocessable("Upload-Length must be at least 1", field="Upload-Length")
    if length > settings.UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(
            f"Upload-Length is over the limit of {settings.UPLOAD_MAX_BYTES} bytes",
            max_bytes=settings.UPLOAD_MAX_BYTES,
        )
    sha256 = _declared_sha256(metadata)
    now = _now()
    upload = Upload(
        org_id=actor.org_id,
        owner=actor.principal,
        created_by=actor.label,
        upload_length=length,
        upload_offset=0,
        sha256=sha256,
        meta={k: fit(v, 500) for k, v in metadata.items() if k != "sha256"},
        status=UploadStatus.OPEN.value,
        expires_at=now + dt.timedelta(hours=settings.UPLOAD_EXPIRY_HOURS),
    )
    known = await attachments.stored_size(session, actor, sha256=sha256)
    if known is not None:
        if known != length:
            raise Unprocessable(
                f"bytes with this SHA-256 are stored with {known} bytes, not {length}",
                field="Upload-Length",
            )
        upload.upload_offset, upload.completed_at = length, now
        upload.status = UploadStatus.COMPLETE.value
    session.add(upload)
    await session.flush()
    return upload


async def find_upload(
    session: AsyncSession, actor: Actor, *, upload_id: uuid.UUID, for_update: bool = False
) -> Upload:
    """The caller's own upload, whatever its state (404 for anyone else's)."""
    query = select(Upload).where(
        Upload.id == upload_id, Upload.org_id == actor.org_id, Upload.owner == actor.principal
    )
    if for_update:
        query = query.with_for_update()
    upload = await session.scalar(query)
    if upload is None:
        raise NotFound(f"upload {upload_id} not found")
    return upload


def check_alive(upload: Upload) -> Upload:
    """410 for an upload whose bytes were discarded (expired or refused)."""
    expired = upload.status == UploadStatus.OPEN and upload.expires_at <= _now()
    if upload.status in (UploadStatus.FAILED, UploadStatus.EXPIRED) or expired:
        reason = (upload.error or {}).get("detail") or "it expired"
        raise UploadGone(
            f"upload {upload.id} is gone ({reason}); create a new upload",
            reason=(upload.error or {}).get("code", "expired"),
        )
    return upload


@dataclass
class PatchResult:
    offset: int
    length: int
    expires_at: dt.datetime | None
    error: AppError | None = None  # a refusal that was recorded (committed), not raised
    jobs: Jobs = field(default_factory=list)


async def receive_patch(
    maker: async_sessionmaker[AsyncSession],
    store: BlobStore,
    actor: Actor,
    settings: Settings,
    *,
    upload_id: uuid.UUID,
    offset: int,
    content_length: int | None,
    chunks: AsyncIterator[bytes],
) -> PatchResult:
    """One PATCH: owns its transactions (see the module docstring)."""
    async with session_scope(maker) as session:
        upload = check_alive(await find_upload(session, actor, upload_id=upload_id))
        if upload.status == UploadStatus.COMPLETE:
            # Verified and stored: every byte is here, whatever this body holds.
            return PatchResult(upload.upload_length, upload.upload_length, None)
    try:
        async with store.temp(upload_id) as temp:
            return await _locked_patch(
                maker, store, temp, actor, settings, upload_id, offset, content_length, chunks
            )
    except TempBusy:
        exc = UploadBusy("another request is writing this upload; HEAD it and resume")
        exc.headers["Retry-After"] = "1"
        raise exc from None


async def _locked_patch(
    maker: async_sessionmaker[AsyncSession],
    store: BlobStore,
    temp: UploadTemp,
    actor: Actor,
    settings: Settings,
    upload_id: uuid.UUID,
    offset: int,
    content_length: int | None,
    chunks: AsyncIterator[bytes],
) -> PatchResult:
    async with session_scope(maker) as session:
        upload = check_alive(await find_upload(session, actor, upload_id=upload_id))
        committed, length, sha256 = upload.upload_offset, upload.upload_length, upload.sha256
    if upload.status == UploadStatus.COMPLETE:
        return PatchResult(length, length, None)
    _check_range(offset, content_length, committed=committed, length=length)
    if await temp.length() < committed:
        return await _fail_lost(maker, store, actor, upload_id)
    await temp.truncate(committed)  # anything past the committed offset was never accepted
    end = await _write(temp, chunks, offset=offset, committed=committed, length=length)
    await temp.sync()
    new_offset = max(committed, end)
    # The slow parts (hashing, decoding a header, copying into the store) run before the
    # transaction opens; verified bytes in the store without a row are harmless.
    verdict = await _verify(temp, sha256, committed, new_offset, length, settings)
    if verdict.mime is not None:
        await store.commit_temp(upload_id, sha256)
    result, finished = await _record_patch(
        maker, actor, settings, upload_id, new_offset, verdict, sha256=sha256, length=length
    )
    if finished:  # committed: the bytes are in the blob, or refused
        await store.delete_temp(upload_id)
    return result


def _check_range(offset: int, content_length: int | None, *, committed: int, length: int) -> None:
    """409 for an offset past the bytes received; 413 for a body declared to run past the
    upload's length."""
    if offset > committed:
        raise OffsetMismatch(
            f"Upload-Offset {offset} is past the {committed} bytes received; HEAD and resume",
            upload_offset=committed,
        )
    if content_length is not None and offset + content_length > length:
        raise PayloadTooLarge(
            f"{content_length} bytes at offset {offset} run past Upload-Length {length}",
            upload_length=length,
        )


async def _record_patch(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    settings: Settings,
    upload_id: uuid.UUID,
    new_offset: int,
    verdict: _Verdict,
    *,
    sha256: str,
    length: int,
) -> tuple[PatchResult, bool]:
    """The PATCH's second transaction: the new offset and expiry, and the verdict (the
    upload refused, or complete with its blob recorded); committed on return, with whether
    the upload is finished (its temp file can go)."""
    async with session_scope(maker) as session:
        upload = await find_upload(session, actor, upload_id=upload_id, for_update=True)
        if upload.status != UploadStatus.OPEN:
            raise UploadGone(f"upload {upload_id} is gone (it expired); create a new upload")
        upload.upload_offset = new_offset
        upload.updated_at = _now()
        upload.expires_at = upload.updated_at + dt.timedelta(hours=settings.UPLOAD_EXPIRY_HOURS)
        if verdict.error is not None:
            _fail(upload, verdict.error)
        elif verdict.mime is not None:
            upload.status, upload.completed_at = UploadStatus.COMPLETE.value, _now()
            await attachments.record_blob(
                session,
                org_id=upload.org_id,
                sha256=sha256,
                size=length,
                mime=verdict.mime,
                width=verdict.width,
                height=verdict.height,
            )
        jobs = pop_jobs(session)
        result = PatchResult(new_offset, length, upload.expires_at, verdict.error, jobs)
        finished = upload.status != UploadStatus.OPEN
    return result, finished


async def _write(
    temp: UploadTemp, chunks: AsyncIterator[bytes], *, offset: int, committed: int, length: int
) -> int:
    """Stream the body to the temp; returns the end offset of what arrived."""
    position = offset
    async for chunk in chunks:
        if position + len(chunk) > length:
            raise PayloadTooLarge(
                f"the body runs past Upload-Length {length}; nothing from it was kept",
                upload_length=length,
            )
        overlap = chunk[: max(0, committed - position)]
        if overlap and await temp.read(position, len(overlap)) != overlap:
            raise OffsetMismatch(
                f"the bytes re-sent at offset {position} differ from those already received",
                upload_offset=committed,
            )
        if len(overlap) < len(chunk):
            await temp.append(chunk[len(overlap) :])
        position += len(chunk)
    return position


@dataclass(frozen=True)
class _Verdict:
    error: AppError | None = None
    mime: str | None = None  # set when the upload is complete and accepted
    width: int | None = None
    height: int | None = None


async def _verify(
    temp: UploadTemp, sha256: str, committed: int, offset: int, length: int, settings: Settings
) -> _Verdict:
    """Refuse early on the type; on the last byte check the hash, the type and the pixels."""
    if offset < length:
        head_arrived = committed < images.SNIFF_BYTES <= offset
        if head_arrived and images.sniff(await temp.read(0, images.SNIFF_BYTES)) is None:
            return _Verdict(error=_unsupported())
        return _Verdict()
    actual = await temp.sha256()
    if actual != sha256:
        return _Verdict(
            error=HashMismatch(
                f"the bytes hash to {actual} but the upload declared {sha256}; they were discarded",
                declared=sha256,
                actual=actual,
            )
        )
    mime = images.sniff(await temp.read(0, images.SNIFF_BYTES))
    if mime is None:
        return _Verdict(error=_unsupported())
    if mime not in images.IMAGE_TYPES:
        return _Verdict(mime=mime)
    inspect = functools.partial(_inspect, temp, mime, settings.UPLOAD_MAX_PIXELS)
    try:
        info = await to_thread.run_sync(inspect)
    except images.ImageRefused as exc:
        error = ImageTooLarge if exc.too_large else UnsupportedType
        return _Verdict(error=error(str(exc), max_pixels=settings.UPLOAD_MAX_PIXELS))
    return _Verdict(mime=mime, width=info.width, height=info.height)


def _inspect(temp: UploadTemp, mime: str, max_pixels: int) -> images.ImageInfo:
    with temp.open_reader() as reader:
        return images.inspect(reader, mime=mime, max_pixels=max_pixels)


def _unsupported() -> UnsupportedType:
    return UnsupportedType(
        "the bytes are not a type Fixflow stores: JPEG, PNG, WebP or HEIC images, PDF "
        "documents; they were discarded",
        accepted=sorted(images.STORABLE),
    )


def _fail(upload: Upload, error: AppError) -> AppError:
    upload.status = UploadStatus.FAILED.value
    upload.error = {"code": error.code, "detail": error.detail}
    return error


async def _fail_lost(
    maker: async_sessionmaker[AsyncSession], store: BlobStore, actor: Actor, upload_id: uuid.UUID
) -> PatchResult:
    """The partial file is shorter than what was acknowledged (lost with a disk): the
    upload cannot resume; the client starts a new one."""
    async with session_scope(maker) as session:
        upload = await find_upload(session, actor, upload_id=upload_id, for_update=True)
        error = UploadGone("the partial bytes of this upload were lost; create a new upload")
        _fail(upload, error)
    await store.delete_temp(upload_id)
    raise error


async def expire_uploads(session: AsyncSession, store: BlobStore, *, limit: int = 200) -> int:
    """Discard the partial bytes of abandoned uploads (the worker's sweep). The rows stay
    a while so a late client hears 410, not 404; ``purge_uploads`` removes them later."""
    rows = await session.scalars(
        select(Upload)
        .where(Upload.status == UploadStatus.OPEN.value, Upload.expires_at <= _now())
        .order_by(Upload.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    expired = 0
    for upload in rows:
        try:
            async with store.temp(upload.id):
                await store.delete_temp(upload.id)
        except TempBusy:
            continue  # a PATCH is writing it right now: not abandoned
        upload.status = UploadStatus.EXPIRED.value
        expired += 1
    return expired


async def purge_uploads(session: AsyncSession, *, older_than: dt.timedelta) -> int:
    from sqlalchemy import delete

    result = await session.execute(
        delete(Upload).where(
            Upload.status != UploadStatus.OPEN.value, Upload.updated_at < _now() - older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
