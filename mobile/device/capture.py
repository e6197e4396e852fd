"""What every camera does once a photo exists somewhere: check it is a photo, put it at the
caller's ``dest``, and leave nothing half-written behind.

The phone cameras write into a staging file first (the camera app cannot write into the
app's private folders directly, and a cancelled capture may leave an empty file): only a
complete photo is moved to ``dest``, and the staging file never outlives the capture.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Leading bytes of the formats a phone camera or a desktop picker hands us.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (8, b"WEBP", "image/webp"),  # after b"RIFF" and the size
    (4, b"ftypheic", "image/heic"),
    (4, b"ftypheix", "image/heic"),
    (4, b"ftypmif1", "image/heif"),
)


def photo_mime(path: Path) -> str | None:
    """The photo's MIME type from its first bytes, or ``None`` if it is not a photo we take
    (JPEG, PNG, WebP, HEIC/HEIF): the extension is not trusted."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    for offset, magic, mime in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return mime
    return None


def _replace_into(source: Path, dest: Path, *, move: bool) -> Path:
    """Write ``source`` to ``dest`` through a temporary sibling, so that ``dest`` is either
    absent or the whole photo, even if the app is killed midway."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial")
    if move:
        shutil.move(source, partial)
    else:
        shutil.copyfile(source, partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(dest)
    return dest


def settle_capture(staging: Path, dest: Path, *, taken: bool) -> Path | None:
    """Finish a capture: when the camera reported a photo (``taken``) and ``staging`` holds
    one, move it to ``dest`` and return ``dest``; otherwise (cancelled, or the camera app
    said OK but wrote nothing, which some do) return ``None``. ``staging`` is gone either way."""
    try:
        if taken and staging.is_file() and staging.stat().st_size and photo_mime(staging):
            return _replace_into(staging, dest, move=True)
        return None
    finally:
        staging.unlink(missing_ok=True)


def copy_photo(source: Path, dest: Path) -> Path:
    """Copy a photo the user picked to ``dest`` (the picked file is theirs: left in place).
    ``ValueError`` when ``source`` is not a photo."""
    if not source.is_file():
        raise ValueError(f"{source} is not a file")
    if photo_mime(source) is None:
        raise ValueError(f"{source.name} is not a photo (JPEG, PNG, WebP or HEIC)")
    return _replace_into(source, dest, move=False)
