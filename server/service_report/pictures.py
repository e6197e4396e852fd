"""Images made fit to print: decoded, turned upright, reduced, re-encoded.

Whatever bytes come in (the thumbnail, the customer-safe copy, or the original while the
worker has not made those yet), what goes into the PDF is a fresh encoding of the pixels:
no EXIF (the photo's GPS position), XMP or comments can ride along, because reportlab
would embed a JPEG file as it is. CPU-bound: callers run it in a worker thread.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from server.attachments import images  # noqa: F401  (registers the HEIC opener)
from server.service_report.data import Picture

PHOTO_PX = 640  # about 290 dpi across a photo's 56 mm box
SIGNATURE_PX = 800


def prepare(data: bytes, *, longest: int, png: bool, max_pixels: int) -> Picture | None:
    """The image as a Picture, or None when the bytes are not an image we can read (the
    report then goes without it rather than failing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > max_pixels:
                    return None
                img.draft("RGB", (longest, longest))  # JPEG: decode at a reduced scale
                img.load()
                upright = ImageOps.exif_transpose(img)
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None
    upright.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    flat = _on_white(upright)
    # Pillow's JPEG writer copies ``info["comment"]`` (a COM segment) into what it saves,
    # and reportlab embeds that file as it is: nothing of the source's metadata goes on.
    flat.info = {}
    out = io.BytesIO()
    if png:
        flat.save(out, format="PNG")
    else:
        flat.save(out, format="JPEG", quality=85)
    return Picture(data=out.getvalue(), width=flat.width, height=flat.height)


def _on_white(img: Image.Image) -> Image.Image:
    """RGB, transparent areas white (a signature on paper)."""
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")
