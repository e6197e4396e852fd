"""Reading a rendered report the way a person would: its text, and its pixels (pypdfium2,
the PDF engine of Chrome)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw

from server.service_report.data import Picture

SCALE = 2.0  # 144 dpi


@contextmanager
def opened(pdf: bytes) -> Iterator[pdfium.PdfDocument]:
    doc = pdfium.PdfDocument(pdf)
    try:
        yield doc
    finally:
        doc.close()


def text_of(pdf: bytes) -> str:
    """Every page's text, as extracted by the viewer (line breaks become spaces)."""
    with opened(pdf) as doc:
        pages = [page.get_textpage().get_text_range() for page in doc]
    return " ".join(p.replace("\r\n", " ").replace("\n", " ") for p in pages)


def page_count(pdf: bytes) -> int:
    with opened(pdf) as doc:
        return len(doc)


@dataclass(frozen=True)
class Placed:
    """An image drawn on a page: its page index, bounds in PDF points, and pixel size."""

    page: int
    bounds: tuple[float, float, float, float]  # left, bottom, right, top
    px: tuple[int, int]


def images_of(pdf: bytes) -> list[Placed]:
    out = []
    with opened(pdf) as doc:
        for index, page in enumerate(doc):
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=5):
                left, bottom, right, top = obj.get_bounds()
                out.append(Placed(index, (left, bottom, right, top), tuple(obj.get_px_size())))
    return out


def find_text(pdf: bytes, needle: str) -> tuple[int, tuple[float, float, float, float]]:
    """The page and the box (PDF points) of the first character of ``needle``."""
    with opened(pdf) as doc:
        for index, page in enumerate(doc):
            textpage = page.get_textpage()
            found = textpage.search(needle).get_next()
            if found:
                return index, textpage.get_charbox(found[0])
    raise AssertionError(f"{needle!r} is not in the PDF")


def ink(pdf: bytes, page: int, bounds: tuple[float, float, float, float]) -> float:
    """The share of dark pixels in ``bounds`` (PDF points) of the page as rendered."""
    with opened(pdf) as doc:
        rendered = doc[page]
        height = rendered.get_height()
        bitmap = rendered.render(scale=SCALE).to_pil().convert("L")
    left, bottom, right, top = bounds
    box = (
        int(left * SCALE),
        int((height - top) * SCALE),
        int(right * SCALE),
        int((height - bottom) * SCALE),
    )
    region = bitmap.crop(box)
    dark = sum(region.histogram()[:128])
    return dark / max(1, region.width * region.height)


def signature_png(width: int = 300, height: int = 120) -> bytes:
    """A signature as the phone sends it: black strokes on a transparent background."""
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.line(
        [(10, height - 20), (70, 15), (130, height - 25), (200, 30), (width - 10, 60)],
        fill=(0, 0, 0, 255),
        width=6,
    )
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def picture(png: bytes) -> Picture:
    with Image.open(io.BytesIO(png)) as img:
        return Picture(png, img.width, img.height)
