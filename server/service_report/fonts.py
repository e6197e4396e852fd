"""Fonts for text in any of the report's languages, without shipping a font file.

Latin text is set in Helvetica (a PDF base font: every viewer has it). Text Helvetica cannot
encode (Chinese above all: customer names like 上海申通电梯) is set in ``STSong-Light``,
one of the Adobe CID fonts every PDF viewer substitutes with a system font of the same
character collection (Adobe-GB1); reportlab writes it with the UniGB-UCS2-H encoding, so
the text stays searchable and copyable. It is not embedded: PyPI has no maintained CJK font
package, and an embedded subset of a CJK TrueType would be the only way to produce PDF/A
(docs/service-report.md says more).

``markup`` turns plain text into reportlab paragraph markup: escaped, with each run of
characters Helvetica lacks wrapped in ``<font face="STSong-Light">``.
"""

from __future__ import annotations

import functools
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
CJK = "STSong-Light"


@functools.cache
def register() -> None:
    """Register the CID font once per process (reportlab keeps a global registry), and
    write binary streams as they are: reportlab's default ASCII85 wrapping makes every
    image a quarter larger, for 7-bit channels no PDF travels through any more."""
    rl_config.useA85 = 0
    pdfmetrics.registerFont(UnicodeCIDFont(CJK))


@functools.lru_cache(maxsize=4096)
def _latin(char: str) -> bool:
    """Whether Helvetica (WinAnsi encoding) has the character."""
    if char in "\n\t":
        return True
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def has_cjk(text: str) -> bool:
    return any(not _latin(c) for c in text)


def runs(text: str) -> list[tuple[bool, str]]:
    """``text`` cut into runs of (is_latin, characters)."""
    out: list[tuple[bool, str]] = []
    for char in text:
        latin = _latin(char)
        if out and out[-1][0] == latin:
            out[-1] = (latin, out[-1][1] + char)
        else:
            out.append((latin, char))
    return out


def clean(text: str) -> str:
    """Drop control characters a PDF cannot show (keep line breaks)."""
    return "".join(c for c in text if c == "\n" or (c >= " " and c != "\x7f"))


def markup(text: str, *, bold: bool = False) -> str:
    """Paragraph markup for plain ``text``: escaped, CJK runs in the CID font (which has no
    bold face: bold applies to the Latin runs), line breaks kept."""
    parts = []
    for latin, chunk in runs(clean(text)):
        escaped = escape(chunk).replace("\n", "<br/>")
        face = (LATIN_BOLD if bold else None) if latin else CJK
        parts.append(f'<font face="{face}">{escaped}</font>' if face else escaped)
    return "".join(parts)
