"""tus 1.0 endpoints (``/api/v1/uploads``) and the blob existence check. The protocol is
described in server/attachments/uploads/service.py and docs/attachments.md."""

from __future__ import annotations

import email.utils
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect

from server.attachments import service
from server.attachments.errors import TusVersionUnsupported
from server.attachments.http import BlobStoreDep
from server.attachments.models import Upload, UploadStatus
from server.attachments.schemas import UploadRead
from server.attachments.uploads import service as uploads
from server.auth import Actor
from server.auth.http import _bearer, get_actor, require
from server.deps import SessionDep, SettingsDep, enqueue_jobs
from server.errors import AppError, BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from server.http import problems as _base_problems
from server.schemas import Problem
from shared.digits import NumberTooLarge, ascii_uint

TUS = uploads.TUS_VERSION
MAX_COUNT = 2**63 - 1  # offsets and lengths are bigint columns
OCTETS = "application/offset+octet-stream"


class TusRoute(APIRoute):
    """Every response of a tus endpoint, errors included, carries ``Tus-Resumable``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except AppError as exc:
                exc.headers.setdefault("Tus-Resumable", TUS)
                raise
            response.headers.setdefault("Tus-Resumable", TUS)
            return response

        return tus_handler


router = APIRouter(prefix="/api/v1", tags=["attachments"], route_class=TusRoute)
Writer = Annotated[Actor, require("tickets:write")]


_MORE = {
    410: "The upload expired or was refused; its bytes are gone: create a new upload",
    415: "Content-Type must be application/offset+octet-stream",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """server.http.problems plus the tus statuses (410 gone, 415 wrong Content-Type)."""
    out = _base_problems(*(c for c in codes if c not in _MORE))
    for code in codes:
        if code in _MORE:
            out[code] = {
                "model": Problem,
                "description": _MORE[code],
                "content": {"application/problem+json": {}},
            }
    return out


async def _tus_version(
    tus_resumable: Annotated[str | None, Header(alias="Tus-Resumable", max_length=20)] = None,
) -> None:
    if tus_resumable != TUS:
        exc = TusVersionUnsupported(
            f"send Tus-Resumable: {TUS} (got {tus_resumable!r})", tus_version=TUS
        )
        exc.headers["Tus-Version"] = TUS
        raise exc


TusResumable = Annotated[None, Depends(_tus_version)]


async def _actor_outside_transaction(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The caller, read in a transaction that ends before the body is streamed."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        actor = await get_actor(request, session, settings, credentials)
    actor.require("tickets:write")
    return actor


def _count(value: str | None, name: str) -> int | None:
    """A tus number header. One too large for any column is read as ``MAX_COUNT``: every
    limit it meets is lower, so it gets the answer any number past that limit gets (413
    for a length, 409 ``offset_mismatch`` for an offset past the bytes received), whatever
    its number of digits (it was 400 past 19 digits and 422 past 20)."""
    if value is None:
        return None
    try:
        return ascii_uint(value, maximum=MAX_COUNT)
    except NumberTooLarge:
        return MAX_COUNT
    except ValueError:
        raise BadRequest(
            f"{name} must be a non-negative integer of ASCII digits", field=name
        ) from None


def _expires(upload: Upload) -> dict[str, str]:
    if upload.status != UploadStatus.OPEN:
        return {}
    return {"Upload-Expires": email.utils.format_datetime(upload.expires_at, usegmt=True)}


def _read(upload: Upload) -> dict[str, Any]:
    return UploadRead.model_validate(upload).model_dump(mode="json")


@router.options(
    "/uploads",
    status_code=204,
    summary="tus discovery: version, extensions, maximum size",
    response_class=Response,
    responses=problems(),
)
async def upload_options(
    actor: Annotated[Actor, Depends(get_actor)], settings: SettingsDep
) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Version": TUS,
            "Tus-Extension": uploads.TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.UPLOAD_MAX_BYTES),
        },
    )


@router.post(
    "/uploads",
    status_code=201,
    summary="Create a resumable upload (tus creation)",
    description=(
        "Headers: `Tus-Resumable: 1.0.0`, `Upload-Length`, `Upload-Metadata: sha256 "
        "<base64 of the hex SHA-256>` (plus any `filename`, `filetype`). If your organisation "
        "already holds these bytes the upload is born complete: `Upload-Offset` equals "
        "`Upload-Length` and there is nothing to send."
    ),
    response_model=UploadRead,
    responses=problems(400, 403, 412, 413),
)
async def create_upload(
    session: SessionDep,
    settings: SettingsDep,
    actor: Writer,
    _tus: TusResumable,
    upload_length: Annotated[str | None, Header(alias="Upload-Length")] = None,
    upload_metadata: Annotated[
        str | None, Header(alias="Upload-Metadata", max_length=uploads.MAX_METADATA_CHARS)
    ] = None,
) -> JSONResponse:
    length = _count(upload_length, "Upload-Length")
    if length is None:
        raise BadRequest("Upload-Length is required (Upload-Defer-Length is not supported)")
    upload = await uploads.create_upload(
        session, actor, settings, length=length, metadata=uploads.parse_metadata(upload_metadata)
    )
    headers = {
        "Location": f"/api/v1/uploads/{upload.id}",
        "Upload-Offset": str(upload.upload_offset),
        **_expires(upload),
    }
    return JSONResponse(_read(upload), status_code=201, headers=headers)


@router.head(
    "/uploads/{upload_id}",
    summary="The offset to resume from (tus HEAD)",
    response_class=Response,
    responses={
        200: {"description": "`Upload-Offset` and `Upload-Length` headers"},
        **problems(403, 404, 410, 412),
    },
)
async def upload_offset(
    upload_id: uuid.UUID, session: SessionDep, actor: Writer, _tus: TusResumable
) -> Response:
    upload = uploads.check_alive(await uploads.find_upload(session, actor, upload_id=upload_id))
    headers = {
        "Upload-Offset": str(upload.upload_offset),
        "Upload-Length": str(upload.upload_length),
        "Cache-Control": "no-store",
        **_expires(upload),
    }
    return Response(status_code=200, headers=headers)


@router.get(
    "/uploads/{upload_id}",
    summary="An upload's state, and why it was refused",
    response_model=UploadRead,
    responses=problems(403, 404),
)
async def read_upload(upload_id: uuid.UUID, session: SessionDep, actor: Writer) -> JSONResponse:
    upload = await uploads.find_upload(session, actor, upload_id=upload_id)
    return JSONResponse(_read(upload), headers={"Cache-Control": "no-store"})


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives; a dropped connection just ends it (what came is kept)."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        return


@router.patch(
    "/uploads/{upload_id}",
    status_code=204,
    summary="Send bytes at an offset (tus PATCH)",
    description=(
        "`Content-Type: application/offset+octet-stream`, `Upload-Offset` = the offset of "
        "the first byte of the body. Re-sending bytes already received is harmless (they "
        "are compared, not written); an offset past the received bytes is a 409. The last "
        "byte triggers the checks: 422 `hash_mismatch`, `unsupported_type` or "
        "`image_too_large` discard the upload."
    ),
    responses=problems(400, 403, 404, 409, 410, 412, 413, 415),
)
async def upload_chunk(
    request: Request,
    upload_id: uuid.UUID,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(_actor_outside_transaction)],
    _tus: TusResumable,
    store: BlobStoreDep,
    upload_offset_header: Annotated[str | None, Header(alias="Upload-Offset")] = None,
    content_type: Annotated[str | None, Header(alias="Content-Type", max_length=200)] = None,
    content_length_header: Annotated[str | None, Header(alias="Content-Length")] = None,
) -> Response:
    if (content_type or "").split(";")[0].strip().lower() != OCTETS:
        raise UnsupportedMediaType(f"send Content-Type: {OCTETS}")
    offset = _count(upload_offset_header, "Upload-Offset")
    if offset is None:
        raise BadRequest("Upload-Offset is required", field="Upload-Offset")
    content_length = _count(content_length_header, "Content-Length")
    if content_length is not None and content_length > settings.UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(
            f"the body is larger than {settings.UPLOAD_MAX_BYTES} bytes",
            max_bytes=settings.UPLOAD_MAX_BYTES,
        )
    result = await uploads.receive_patch(
        request.app.state.sessionmaker,
        store,
        actor,
        settings,
        upload_id=upload_id,
        offset=offset,
        content_length=content_length,
        chunks=_body(request),
    )
    await enqueue_jobs(request.app.state, result.jobs)
    headers = {"Upload-Offset": str(result.offset), "Tus-Resumable": TUS}
    if result.error is not None:
        # Recorded (committed) rather than raised: the refusal and the discard must stick.
        body = result.error.to_problem(request.url.path)
        return JSONResponse(
            body,
            status_code=result.error.status,
            media_type="application/problem+json",
            headers=headers,
        )
    if result.expires_at is not None and result.offset < result.length:
        headers["Upload-Expires"] = email.utils.format_datetime(result.expires_at, usegmt=True)
    return Response(status_code=204, headers=headers)


@router.head(
    "/blobs/{sha256}",
    summary="Whether your organisation already holds these bytes (then send nothing)",
    description=(
        "200 if bytes with this SHA-256 are stored for your organisation, 404 otherwise. "
        "Other organisations' copies are never revealed."
    ),
    response_class=Response,
    responses={200: {"description": "Stored; `Upload-Length` is its size"}, **problems(403, 404)},
)
async def blob_exists(
    session: SessionDep,
    actor: Writer,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")],
) -> Response:
    size = await service.stored_size(session, actor, sha256=sha256)
    if size is None:
        exc = NotFound("your organisation holds no bytes with this SHA-256: upload them")
        exc.headers["Cache-Control"] = "no-store"
        raise exc
    return Response(
        status_code=200, headers={"Cache-Control": "no-store", "Upload-Length": str(size)}
    )
