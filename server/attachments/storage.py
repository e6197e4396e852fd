"""Blob storage: bytes named by their SHA-256, and the partial files of uploads in progress.

Callers see only the ``BlobStore`` protocol; ``blob_store_for`` picks the implementation
from the settings, and is the one place an S3-compatible backend would be added.

The contract every implementation keeps:

- A blob is immutable and written only once its hash is verified (``commit_temp``) or
  computed here (``put``): ``exists(sha)`` true means the bytes named ``sha`` are complete.
- A temp (an upload's partial bytes) is held by one writer at a time: ``temp()`` raises
  ``TempBusy`` while another request holds it. Its length may run ahead of what the
  database says was received (a crash between the write and the commit); the caller
  truncates to the committed offset before writing, so the database stays the truth.
- ``commit_temp`` leaves the temp in place (the database commit may still fail); the
  caller deletes it once the commit succeeded.

``LocalBlobStore`` keeps blobs at ``<root>/ab/cd/abcd...`` and temps at
``<root>/uploads/<id>.part``. A commit copies the temp to a staging file and hard-links
that into place (atomic; the temp stays mutable, the blob never is). Temps are locked with
``flock``: one host, or a shared filesystem where flock works.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

import anyio
from anyio import to_thread

from server.config import Settings

READ_CHUNK = 64 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")  # fullmatch: "$" would allow a final newline


class TempBusy(Exception):
    """Another request is writing this upload right now."""


class UploadTemp(Protocol):
    """An upload's partial bytes, held exclusively by the caller."""

    async def length(self) -> int: ...
    async def truncate(self, size: int) -> None: ...
    async def append(self, data: bytes) -> None: ...
    async def read(self, start: int, size: int) -> bytes: ...
    async def sync(self) -> None: ...
    async def sha256(self) -> str: ...
    def open_reader(self) -> BinaryIO:
        """A seekable reader over the bytes so far, for use in a worker thread (Pillow)."""
        ...


class BlobStore(Protocol):
    async def exists(self, sha256: str) -> bool: ...
    async def size(self, sha256: str) -> int | None: ...
    def read(self, sha256: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` (end None: to the end), in chunks."""
        ...

    async def read_all(self, sha256: str) -> bytes: ...
    async def put(self, data: bytes) -> str:
        """Store bytes made on the server (derived images); returns their SHA-256."""
        ...

    def temp(self, upload_id: uuid.UUID) -> AbstractAsyncContextManager[UploadTemp]: ...
    async def commit_temp(self, upload_id: uuid.UUID, sha256: str) -> None:
        """Make the temp's bytes (already verified to hash to ``sha256``) the blob."""
        ...

    async def delete_temp(self, upload_id: uuid.UUID) -> None: ...


def check_sha256(value: str) -> str:
    if not _SHA256.fullmatch(value):
        raise ValueError("not a lowercase hex SHA-256")
    return value


class _LocalTemp:
    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path = path
        self._file = handle

    async def length(self) -> int:
        return os.fstat(self._file.fileno()).st_size

    async def truncate(self, size: int) -> None:
        await to_thread.run_sync(self._file.truncate, size)

    async def append(self, data: bytes) -> None:
        def write() -> None:
            self._file.seek(0, os.SEEK_END)
            self._file.write(data)

        await to_thread.run_sync(write)

    async def read(self, start: int, size: int) -> bytes:
        def read() -> bytes:
            self._file.seek(start)
            return self._file.read(size)

        return await to_thread.run_sync(read)

    async def sync(self) -> None:
        def sync() -> None:
            self._file.flush()
            os.fsync(self._file.fileno())

        await to_thread.run_sync(sync)

    async def sha256(self) -> str:
        def digest() -> str:
            self._file.flush()
            with self.path.open("rb") as f:
                return hashlib.file_digest(f, "sha256").hexdigest()

        return await to_thread.run_sync(digest)

    def open_reader(self) -> BinaryIO:
        self._file.flush()
        return self.path.open("rb")


class LocalBlobStore:
    """Blobs in a local directory (``FIXFLOW_BLOB_DIR``, default ``var/blobs``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def temp_path(self, upload_id: uuid.UUID) -> Path:
        return self.root / "uploads" / f"{uuid.UUID(str(upload_id))}.part"

    async def exists(self, sha256: str) -> bool:
        return await anyio.Path(self.path(sha256)).is_file()

    async def size(self, sha256: str) -> int | None:
        try:
            return (await anyio.Path(self.path(sha256)).stat()).st_size
        except FileNotFoundError:
            return None

    async def read(
        self, sha256: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self.path(sha256), "rb") as f:
            await f.seek(start)
            left = None if end is None else max(0, end - start)
            while left is None or left > 0:
                chunk = await f.read(READ_CHUNK if left is None else min(READ_CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    async def read_all(self, sha256: str) -> bytes:
        return await anyio.Path(self.path(sha256)).read_bytes()

    async def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        final = self.path(sha256)

        def write() -> None:
            if final.is_file():
                return
            staging = self.root / "uploads" / f"put-{secrets.token_hex(8)}.tmp"
            staging.parent.mkdir(parents=True, exist_ok=True)
            with staging.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            _publish(staging, final)
            staging.unlink(missing_ok=True)

        await to_thread.run_sync(write)
        return sha256

    @asynccontextmanager
    async def temp(self, upload_id: uuid.UUID) -> AsyncIterator[UploadTemp]:
        path = self.temp_path(upload_id)

        def acquire() -> BinaryIO:
            path.parent.mkdir(parents=True, exist_ok=True)
            # "a+b" creates the file without truncating; writes go through append().
            handle = path.open("a+b")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise TempBusy(str(upload_id)) from None
            return handle

        handle = await to_thread.run_sync(acquire)
        try:
            yield _LocalTemp(path, handle)
        finally:
            handle.close()  # releases the lock

    async def commit_temp(self, upload_id: uuid.UUID, sha256: str) -> None:
        source, final = self.temp_path(upload_id), self.path(sha256)

        def commit() -> None:
            if final.is_file():
                return
            staging = source.with_suffix(f".{secrets.token_hex(8)}.tmp")
            shutil.copyfile(source, staging)
            with staging.open("rb") as f:
                os.fsync(f.fileno())
            _publish(staging, final)
            staging.unlink(missing_ok=True)

        await to_thread.run_sync(commit)

    async def delete_temp(self, upload_id: uuid.UUID) -> None:
        await anyio.Path(self.temp_path(upload_id)).unlink(missing_ok=True)


def _publish(source: Path, final: Path) -> None:
    """Hard-link ``source`` to ``final`` (atomic; the same bytes already there is fine)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.link(source, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the directory entry survives a crash
    finally:
        os.close(fd)


_stores: dict[Path, LocalBlobStore] = {}


def blob_store_for(settings: Settings) -> BlobStore:
    """The configured store. An S3-compatible backend would be chosen here (by a setting
    such as a ``s3://bucket`` URL); nothing else names an implementation."""
    root = settings.blob_dir
    if root not in _stores:
        _stores[root] = LocalBlobStore(root)
    return _stores[root]
