"""QR labels: one PNG per asset, or an A4 sheet of many as PDF.

The QR code (segno, error correction M) encodes the asset's ``/q/{token}`` address; under
it (beside it on the sheet) the asset's name, model and serial number are printed so a
technician can match label and machine. PNG text is drawn with the first font found in
``FONT_FILES`` (Noto Sans CJK, Debian's ``fonts-noto-cjk``, covers Chinese names), else
Pillow's built-in font, which has Latin letters only. The PDF uses the service report's
fonts (Helvetica, and the STSong-Light CID font for Chinese: no font file needed)."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from server.service_report import fonts
from server.text import printable

MAX_LABELS = 200
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
# The sheet: 3 x 7 labels of 70 x 42.3 mm (the common A4 label stock).
_COLUMNS, _ROWS = 3, 7
_LABEL_W, _LABEL_H = 70 * mm, 297 * mm / 7


@dataclass(frozen=True)
class Label:
    url: str
    lines: Sequence[str]  # name, model, serial


def label_lines(name: str | None, model: str, serial: str) -> list[str]:
    """What the label prints under the code; an override of the writing direction or
    another invisible control in a name would print it reordered, for good."""
    lines = [printable(name)] if name else []
    return [*lines, printable(model), f"S/N {printable(serial)}"]


def _qr_image(url: str, scale: int) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=scale, border=2)
    buffer.seek(0)
    with Image.open(buffer) as img:
        return img.convert("RGB")


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _fit_line(draw: ImageDraw.ImageDraw, text: str, width: int, size: int) -> str:
    font = _font(size)
    while text and draw.textlength(text, font=font) > width:
        text = text[:-2] + "…"
    return text


def png(label: Label) -> bytes:
    """One label as a PNG: the QR code, the lines centred under it."""
    qr = _qr_image(label.url, scale=10)
    size = 26
    width = max(qr.width, 480)
    height = qr.height + len(label.lines) * (size + 8) + 24
    img = Image.new("RGB", (width, height), "white")
    img.paste(qr, ((width - qr.width) // 2, 0))
    draw = ImageDraw.Draw(img)
    y = qr.height + 4
    for line in label.lines:
        text = _fit_line(draw, line, width - 24, size)
        draw.text((width // 2, y), text, fill="black", font=_font(size), anchor="ma")
        y += size + 8
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _draw_text(canvas: Canvas, x: float, y: float, text: str, size: float, room: float) -> None:
    """Mixed Latin and Chinese text on one line, cut to ``room`` points."""
    for latin, run in fonts.runs(text):
        face = fonts.LATIN if latin else fonts.CJK
        for char in run:
            advance = canvas.stringWidth(char, face, size)
            if advance > room:
                return
            canvas.setFont(face, size)
            canvas.drawString(x, y, char)
            x, room = x + advance, room - advance


def pdf(labels: Sequence[Label]) -> bytes:
    """An A4 sheet (or several) of labels: QR code on the left, the lines beside it."""
    fonts.register()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    canvas.setTitle("Fixflow QR labels")
    per_page = _COLUMNS * _ROWS
    for index, label in enumerate(labels):
        if index and index % per_page == 0:
            canvas.showPage()
        slot = index % per_page
        x = (slot % _COLUMNS) * _LABEL_W
        y = A4[1] - (slot // _COLUMNS + 1) * _LABEL_H
        side = _LABEL_H - 6 * mm
        image = ImageReader(_qr_image(label.url, scale=4))
        canvas.drawImage(image, x + 3 * mm, y + 3 * mm, width=side, height=side)
        text_x, room = x + side + 5 * mm, _LABEL_W - side - 7 * mm
        for n, line in enumerate(label.lines[:4]):
            _draw_text(canvas, text_x, y + _LABEL_H - 10 * mm - n * 5 * mm, line, 8, room)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
