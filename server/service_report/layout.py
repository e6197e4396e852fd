"""The report's building blocks: page geometry, styles, paragraphs that set Chinese in the
CJK font, tables, pictures and a signature drawn from its strokes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reportlab.graphics.shapes import Drawing, PolyLine
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, Table, TableStyle

from server.service_report import fonts
from server.service_report.data import Picture

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
WIDTH = PAGE_W - 2 * MARGIN
PHOTO_COLUMNS = 3
PHOTO_BOX = (56 * mm, 42 * mm)
SIGNATURE_BOX = (80 * mm, 32 * mm)
# Table cells cannot break across pages: their text is cut to what fits on one.
CELL_CHARS = 1000
MAX_SERIALS = 20
GREY = colors.HexColor("#666666")
LINE = colors.HexColor("#BBBBBB")
SHADE = colors.HexColor("#EEEEEE")

_BASE = ParagraphStyle("base", fontName=fonts.LATIN, fontSize=9, leading=12)
STYLES = {
    "base": _BASE,
    "small": ParagraphStyle("small", parent=_BASE, fontSize=7.5, leading=9.5, textColor=GREY),
    "org": ParagraphStyle("org", parent=_BASE, fontSize=15, leading=19),
    "title": ParagraphStyle("title", parent=_BASE, fontSize=11, leading=14, textColor=GREY),
    "number": ParagraphStyle("number", parent=_BASE, fontSize=15, leading=19, alignment=TA_RIGHT),
    "right": ParagraphStyle("right", parent=_BASE, alignment=TA_RIGHT),
    "h2": ParagraphStyle(
        "h2",
        parent=_BASE,
        fontSize=10.5,
        leading=14,
        spaceBefore=9,
        spaceAfter=4,
        backColor=SHADE,
        borderPadding=(2, 3, 2, 3),
        keepWithNext=1,
    ),
}


def para(text: str | None, style: str = "base", *, bold: bool = False) -> Paragraph:
    """A paragraph of plain text (escaped; Chinese in the CID font; wraps per character
    when it holds Chinese, which has no spaces to break at)."""
    value = text or ""
    base = STYLES[style]
    if fonts.has_cjk(value):
        base = ParagraphStyle(f"{base.name}-cjk", parent=base, wordWrap="CJK")
    return Paragraph(fonts.markup(value, bold=bold), base)


def cell(text: str | None, style: str = "base", *, bold: bool = False) -> Paragraph:
    value = text or ""
    if len(value) > CELL_CHARS:
        value = value[: CELL_CHARS - 1] + "…"
    return para(value, style, bold=bold)


def number(value: Decimal) -> str:
    """A quantity without trailing zeros: 2.000 -> 2, 1.500 -> 1.5."""
    text = format(value.normalize(), "f")
    return text


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def grid(rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = True) -> Table:
    table = Table(list(rows), colWidths=list(widths), repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, LINE),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    table.setStyle(TableStyle(commands))
    return table


def fit(picture: Picture, box: tuple[float, float]) -> tuple[float, float]:
    scale = min(box[0] / max(picture.width, 1), box[1] / max(picture.height, 1))
    return picture.width * scale, picture.height * scale


def image(picture: Picture, box: tuple[float, float]) -> Image:
    width, height = fit(picture, box)
    return Image(io.BytesIO(picture.data), width=width, height=height)


def strokes_drawing(strokes: list[list[list[float]]], box: tuple[float, float]) -> Drawing:
    """The signature drawn from its strokes (screen coordinates: y grows downwards)."""
    drawing = Drawing(*box)
    points = [p for stroke in strokes for p in stroke]
    if not points:
        return drawing
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span_x, span_y = max(max(xs) - min(xs), 1.0), max(max(ys) - min(ys), 1.0)
    pad = 3.0
    scale = min((box[0] - 2 * pad) / span_x, (box[1] - 2 * pad) / span_y)
    for stroke in strokes:
        flat: list[float] = []
        for p in stroke:
            flat += [pad + (p[0] - min(xs)) * scale, box[1] - pad - (p[1] - min(ys)) * scale]
        if len(flat) == 2:  # a dot
            flat += [flat[0] + 0.5, flat[1]]
        drawing.add(PolyLine(flat, strokeColor=colors.black, strokeWidth=1.2))
    return drawing
