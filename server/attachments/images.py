"""What the bytes are (never what the client says), and the images made from them.

Everything here is synchronous and CPU-bound: callers run it in a worker thread.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps

try:  # HEIC/HEIF (iPhone photos); the wheel bundles libheif
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    HEIC_SUPPORTED = False

JPEG, PNG, WEBP, HEIC, PDF = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
)
IMAGE_TYPES = frozenset({JPEG, PNG, WEBP, HEIC})
STORABLE = IMAGE_TYPES | {PDF}
SNIFF_BYTES = 32  # enough for every signature below
THUMBNAIL_PX = 320
CUSTOMER_COPY_PX = 2048

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


class ImageRefused(ValueError):
    """The bytes are not an image we accept (``too_large`` for a pixel bomb)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def sniff(head: bytes) -> str | None:
    """The MIME type the leading bytes prove, or None for anything we do not store."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head[4:8] == b"ftyp" and HEIC_SUPPORTED:
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(len(head), 32), 4)}
        if b"avif" not in brands and brands & _HEIF_BRANDS:
            return HEIC
    return None


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int


def inspect(reader: BinaryIO, *, mime: str, max_pixels: int) -> ImageInfo:
    """Read an image's header and refuse a pixel bomb before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(reader) as img:
                width, height = img.size
                found = img.format
    # Pillow's own words are not the caller's business: they name our temporary file's path
    # ("cannot identify image file <_io.BufferedReader name='/var/...'>") or its internals.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(
            f"the image claims more pixels than its size can hold (a decompression bomb); "
            f"at most {max_pixels} are accepted",
            too_large=True,
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused(
            f"the bytes start like {mime} but the image cannot be read (damaged or truncated)"
        ) from None
    if width * height > max_pixels:
        raise ImageRefused(
            f"{width}x{height} is {width * height} pixels; at most {max_pixels} are accepted",
            too_large=True,
        )
    if found is None or _FORMATS.get(found) != mime:
        raise ImageRefused(f"the bytes start like {mime} but do not decode as one")
    return ImageInfo(width=width, height=height)


# "MPO": a JPEG carrying further pictures after the first (MPF; phones' portrait and depth
# modes). It is a JPEG to every viewer, and the derived copies are made from its first one.
_FORMATS = {"JPEG": JPEG, "MPO": JPEG, "PNG": PNG, "WEBP": WEBP, "HEIF": HEIC}


@dataclass(frozen=True)
class Derived:
    thumbnail: bytes  # JPEG, at most THUMBNAIL_PX on the long side
    customer_copy: bytes  # PNG stays PNG (signatures keep transparency), others JPEG


def derive(data: bytes, *, max_pixels: int) -> Derived:
    """The thumbnail and the customer-safe copy of an image.

    Deterministic (same bytes in, same bytes out), so a re-run of the job stores nothing new.
    The customer copy is re-encoded from the pixels: EXIF (GPS, device serials), XMP, and
    comments are gone; the orientation EXIF carried is applied to the pixels first, and the
    colour profile is kept. A multi-picture JPEG (MPO) gives its first picture only."""
    inspect(io.BytesIO(data), mime=_mime_of(data), max_pixels=max_pixels)
    try:
        return _derive(data)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageRefused("the image cannot be decoded (damaged or truncated)") from None


def _derive(data: bytes) -> Derived:
    with warnings.catch_warnings():
        # Checked just above against our own cap, which may exceed Pillow's default.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as img:
            img.seek(0)  # the first picture of a multi-picture file (MPO)
            img.load()
            source_format = img.format
            icc = img.info.get("icc_profile")
            upright = ImageOps.exif_transpose(img)
    keep_png = source_format == "PNG"
    copy = _fit(upright, CUSTOMER_COPY_PX)
    customer = _encode(copy, png=keep_png, icc=icc)
    thumb = _flatten(_fit(upright, THUMBNAIL_PX))
    thumbnail = _encode(thumb, png=False, icc=None, quality=80)
    return Derived(thumbnail=thumbnail, customer_copy=customer)


def _mime_of(data: bytes) -> str:
    mime = sniff(data[:SNIFF_BYTES])
    if mime not in IMAGE_TYPES:
        raise ImageRefused("not an image")
    return mime


def _fit(img: Image.Image, longest: int) -> Image.Image:
    out = img.copy()
    out.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return out


def _flatten(img: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent areas become white (a signature on white paper)."""
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _encode(img: Image.Image, *, png: bool, icc: bytes | None, quality: int = 88) -> bytes:
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    if png:
        clean = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
    else:
        clean = _flatten(img)
    # Pillow's writers read some metadata from ``info`` as well as from the save arguments
    # (the JPEG writer copies ``info["comment"]``, a COM segment; the PNG writer the colour
    # profile and transparency): nothing of the source's rides along but what is passed here.
    clean.info = {}
    if png:
        clean.save(out, format="PNG", optimize=False, **extra)
    else:
        clean.save(out, format="JPEG", quality=quality, optimize=False, **extra)
    return out.getvalue()
