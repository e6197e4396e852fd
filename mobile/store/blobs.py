"""Files the phone keeps for upload: hashed, typed (a hint: the server sniffs the bytes
itself) and written durably before the database refers to them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sniff(head: bytes) -> str:
    """A hint only: the server sniffs the type from the bytes itself."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return "application/octet-stream"


def digest(path: Path) -> tuple[str, int, str]:
    """SHA-256, size and type hint of a file, read in 1 MiB pieces (photos can be large)."""
    sha, size, head = hashlib.sha256(), 0, b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            if not head:
                head = chunk[:16]
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size, sniff(head)


def keep(folder: Path, sha256: str, data: bytes, suffix: str) -> Path:
    """Write bytes durably, named by their hash, before the transaction that refers to them
    (a crash in between leaves an orphan file: harmless, and reused by the next attempt)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha256}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    return path
