"""Resumable upload of photo and signature bytes (tus 1.0 core, plus creation).

1. ``HEAD`` the blob by its SHA-256: already stored -> send nothing.
2. No upload yet -> create one (``POST`` with ``Upload-Length``); its URL is kept in the store.
3. ``HEAD`` the upload for its ``Upload-Offset``, then ``PATCH`` chunks at that offset; the
   offset is stored after every chunk, so a dropped connection (or a killed app) costs at
   most the chunk that was in flight.
The server verifies the hash when the last byte arrives and refuses a mismatch.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from pathlib import Path

import httpx

from mobile.store import PendingUpload, Store
from mobile.sync.api import Api, problem
from mobile.sync.errors import Refused, Transient
from shared.digits import ascii_uint

log = logging.getLogger(__name__)

BLOBS_PATH = "/api/v1/blobs"
UPLOADS_PATH = "/api/v1/uploads"
TUS = {"Tus-Resumable": "1.0.0"}
# In-place retries of one upload after a dropped connection, before giving the turn back.
_ATTEMPTS = 3
# (bytes the server holds, bytes in all) of the files in this round, or None: nothing left.
Progress = Callable[[tuple[int, int] | None], None]


class Uploader:
    def __init__(
        self,
        api: Api,
        store: Store,
        *,
        chunk_size: int = 256 * 1024,
        blobs_path: str = BLOBS_PATH,
        uploads_path: str = UPLOADS_PATH,
        on_progress: Progress | None = None,
    ) -> None:
        self.api, self.store, self.chunk_size = api, store, chunk_size
        self.blobs_path, self.uploads_path = blobs_path, uploads_path
        self.bytes_sent = 0  # every byte PATCHed, resent ones too (for tests)
        self.on_progress = on_progress
        self._sizes: dict[str, int] = {}  # the round's files, by hash
        self._held: dict[str, int] = {}  # what the server holds of each

    @property
    def progress(self) -> tuple[int, int] | None:
        """Bytes the server holds / bytes in all, across the files of the current round
        (those pending when it started, less those the server refused); None when no file
        waits."""
        if not self._sizes:
            return None
        return sum(self._held.values()), sum(self._sizes.values())

    def _advance(self, sha256: str, offset: int) -> None:
        if sha256 in self._sizes:
            self._held[sha256] = offset
            self._report()

    def _drop(self, sha256: str) -> None:
        self._sizes.pop(sha256, None)
        self._held.pop(sha256, None)
        self._report()

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    async def upload_all(self) -> int:
        """Upload every pending blob; the number finished."""
        pending = self.store.pending_uploads()
        self._sizes = {u.sha256: u.size for u in pending}
        self._held = {u.sha256: u.offset for u in pending}
        self._report()
        done = 0
        for upload in pending:
            if await self.upload(upload):
                done += 1
        if not self.store.pending_uploads():
            self._sizes, self._held = {}, {}
            self._report()
        return done

    def _finished(self, upload: PendingUpload, error: str | None = None) -> None:
        self.store.finish_upload(upload.sha256, error=error)
        if error is None:
            self._advance(upload.sha256, upload.size)
        else:
            self._drop(upload.sha256)

    def _progressed(self, upload: PendingUpload, offset: int, url: str | None) -> None:
        self.store.upload_progress(upload.sha256, offset=offset, upload_url=url)
        self._advance(upload.sha256, offset)

    async def upload(self, upload: PendingUpload) -> bool:
        path = Path(upload.path)
        if not await asyncio.to_thread(path.is_file):
            self._finished(upload, error="the file is no longer on the phone")
            return False
        if await self._stored(upload.sha256):
            self._finished(upload)
            return True
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                await self._send(upload, path)
            except Transient:
                if attempt == _ATTEMPTS:
                    raise
                log.info("upload %s interrupted, resuming", upload.sha256[:12])
                upload = self._reloaded(upload)
                continue
            except Refused as exc:
                self._finished(upload, error=str(exc))
                return False
            self._finished(upload)
            return True
        return False

    def _reloaded(self, upload: PendingUpload) -> PendingUpload:
        for fresh in self.store.pending_uploads():
            if fresh.sha256 == upload.sha256:
                return fresh
        return upload

    async def _stored(self, sha256: str) -> bool:
        response = await self.api.request("HEAD", f"{self.blobs_path}/{sha256}")
        if response.status_code in (200, 204):
            return True
        if response.status_code == 404:
            return False
        raise Refused(response.status_code, problem(response))

    async def _offset(self, upload: PendingUpload) -> tuple[str, int]:
        """The upload's URL and the server's offset, creating the upload when needed."""
        if upload.upload_url is not None:
            response = await self.api.request("HEAD", upload.upload_url, headers=TUS)
            if response.status_code in (200, 204):
                offset = _server_offset(response, upload)
                self._advance(upload.sha256, offset)
                return upload.upload_url, offset
            if response.status_code not in (404, 410):
                raise Refused(response.status_code, problem(response))
            # The server forgot it (expired) or discarded it: start again.
        metadata = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in (("sha256", upload.sha256), ("filetype", upload.mime))
        )
        response = await self.api.request(
            "POST",
            self.uploads_path,
            headers={**TUS, "Upload-Length": str(upload.size), "Upload-Metadata": metadata},
        )
        if response.status_code not in (200, 201) or "Location" not in response.headers:
            raise Refused(response.status_code, problem(response))
        url = str(httpx.URL(response.headers["Location"]))
        # Born complete when the organisation already holds these bytes.
        offset = _server_offset(response, upload) if "Upload-Offset" in response.headers else 0
        self._progressed(upload, offset, url)
        return url, offset

    async def _send(self, upload: PendingUpload, path: Path) -> None:
        url, offset = await self._offset(upload)
        conflicts = 0
        while offset < upload.size:
            chunk = await asyncio.to_thread(_read, path, offset, self.chunk_size)
            if not chunk:
                raise Refused(0, {"detail": "the file is shorter than when it was taken"})
            response = await self.api.request(
                "PATCH",
                url,
                content=chunk,
                headers={
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            self.bytes_sent += len(chunk)
            if response.status_code in (404, 409, 410):
                # 409: our offset was stale, ask again; 404/410: the upload expired, so
                # forget it (the next _offset creates another).
                if response.status_code != 409:
                    self._progressed(upload, 0, None)
                conflicts += 1
                if conflicts > 3:  # e.g. upload_busy: another PATCH still holds it
                    raise Transient(f"upload {upload.sha256[:12]}: {problem(response)}")
                url, offset = await self._offset(self._reloaded(upload))
                continue
            if response.status_code not in (200, 204):
                raise Refused(response.status_code, problem(response))
            offset = _server_offset(response, upload)
            self._progressed(upload, offset, url)


def _server_offset(response: httpx.Response, upload: PendingUpload) -> int:
    """The server's Upload-Offset: ASCII digits, at most the file's size. Anything else (a
    proxy's mangling, a missing header) is retried later, never taken for progress: an
    offset past the end would mark the photo sent."""
    try:
        return ascii_uint(response.headers.get("Upload-Offset", ""), maximum=upload.size)
    except ValueError:
        raise Transient(
            f"upload {upload.sha256[:12]}: the server's Upload-Offset is not an offset "
            "within the file; retrying"
        ) from None


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(size)
