"""Server text as a screen shows it: a row's field may be missing, null, a number, or an
object where text belongs, and free text may be far longer than a phone can draw.

A label is drawn as one texture: a 5,000-line description is a texture 135,000 pixels
tall, past every GPU's limit (4,096 on older phones) and hundreds of megabytes; the phone
shows nothing or runs out of memory. Long text is cut, with a mark that says so.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mobile.i18n import _

# What a label shows at most: some 40 lines of a phone-wide paragraph.
MAX_CHARS = 2_000
MAX_LINES = 40


def shown(value: Any) -> str:
    """``value`` as text on a screen: "" for nothing (None) and for what is not text (an
    object, a list, true/false: printing them would show Python's spelling)."""
    if value is None or isinstance(value, bool | dict | list | tuple | set):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    return ""


def clip(value: Any, *, chars: int = MAX_CHARS, lines: int = MAX_LINES) -> str:
    """``shown(value)`` cut to ``chars`` characters and ``lines`` lines, with a mark
    saying how much was left out."""
    text = shown(value)
    kept = text[:chars]
    cut = kept.split("\n")
    if len(cut) > lines:
        kept = "\n".join(cut[:lines])
    if len(kept) == len(text):
        return text
    left = len(text) - len(kept)
    return kept.rstrip() + "\n" + _("… {n} more characters not shown").format(n=left)


def line(value: Any, chars: int = 200) -> str:
    """``shown(value)`` on one line (for a row that shows one line of it): whitespace runs,
    newlines included, become one space; cut at ``chars`` with an ellipsis."""
    text = " ".join(shown(value).split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def one_line(*parts: Any, sep: str = "  ") -> str:
    """The parts that say something, joined (no "None", no doubled separators)."""
    return sep.join(text for part in parts if (text := shown(part).strip()))
