"""Text Fixflow derives from other text must fit where it goes, by construction.

"Van: " + an engineer's 200-character name does not fit the 200 characters of a stock
location's name; a caller's 100,000-character CSV header quoted back in a problem is
100,000 characters of problem. Every such derivation goes through one of these:

- ``fit(text, limit)``: at most ``limit`` characters, an ellipsis marking a cut;
- ``fit_column(Model.attribute, text)``: ``fit`` to the column's own length, so the limit
  has one home (the model) and a longer column needs no second edit;
- ``quote(value)``: a value echoed in an error message, shown as ``repr`` and cut;
- ``location(loc)`` / ``path(loc)``: where a validation error is (``body.items.0.label``),
  each part cut: the parts are the caller's own keys, and a megabyte-long key was a
  megabyte of problem, three times over.

Lengths are in characters, as PostgreSQL's ``varchar(n)`` counts them: a CJK character or
an emoji is one, however many bytes it takes. A cut never leaves a combining mark, a
zero-width joiner or a variation selector dangling at the end.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

ELLIPSIS = "…"
QUOTE_LIMIT = 80
LOCATION_PART_LIMIT = 64
# Characters that modify the one before them: cut after one, and the last visible character
# changes (a ZWJ family emoji loses members, an accent moves to the ellipsis).
_JOINERS = frozenset({"\u200d", "\ufe0e", "\ufe0f"})


def fit(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and an ellipsis."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    while head and (unicodedata.combining(head[-1]) or head[-1] in _JOINERS):
        head = head[:-1]
    return head.rstrip() + ELLIPSIS


def visible(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces, line breaks, control and format
    characters (a zero-width space, a right-to-left mark pass ``str.strip()``, so a
    required text of them alone would count as given)."""
    return any(unicodedata.category(ch)[0] not in "CZ" for ch in text)


def printable(text: str) -> str:
    """``text`` for print, where nothing can be fixed later: without control and format
    characters (a right-to-left override prints the rest of a serial number backwards)
    except the zero-width joiner that holds an emoji together."""
    return "".join(ch for ch in text if ch in _JOINERS or unicodedata.category(ch)[0] != "C")


def column_length(attribute: Any) -> int:
    """The declared length of a ``String(n)`` model attribute (``StockLocation.name``)."""
    length = getattr(attribute.property.columns[0].type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{attribute} is not a column of bounded length")
    return length


def fit_column(attribute: Any, text: str) -> str:
    """``text`` cut to fit the column ``attribute`` stores it in."""
    return fit(text, column_length(attribute))


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A caller's value for an error message: its ``repr``, at most ``limit`` characters."""
    return fit(repr(value), limit)


def location(loc: Iterable[object]) -> list[str | int]:
    """A validation error's ``loc`` with every key cut to ``LOCATION_PART_LIMIT``."""
    return [part if isinstance(part, int) else fit(str(part), LOCATION_PART_LIMIT) for part in loc]


def path(loc: Iterable[object]) -> str:
    """``location(loc)`` as one dotted path (``items.0.label``)."""
    return ".".join(str(part) for part in location(loc))


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def engineer_name_for_customers(display_name: str) -> str:
    """What a customer is told of the engineer's name, on every page and in every message:
    a name written with spaces, its first word ("Wei Zhang" -> "Wei", "José Ruiz" ->
    "José"); a name in Chinese characters (no spaces, family name first), the family name
    with 师傅, the usual polite form ("张伟" -> "张师傅"); any other single word as it is."""
    name = display_name.strip()
    if not name:
        return ""
    if " " not in name and all(_is_cjk(ch) for ch in name):
        return f"{name[0]}师傅"
    return name.split()[0]


# Spreadsheet safety (CSV exports): a cell a spreadsheet would run as a formula (starting
# with = + - @, a tab or a carriage return) gets a leading apostrophe; an import removes it
# again, so an export imports back unchanged.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(value: str) -> bool:
    """A cell a spreadsheet would evaluate, or one that would look quoted after import."""
    if value.startswith(_FORMULA_START):
        return True
    return value.startswith("'") and _needs_quote(value[1:])


def spreadsheet_safe(value: str) -> str:
    return f"'{value}" if _needs_quote(value) else value


def spreadsheet_restore(value: str) -> str:
    return value[1:] if value.startswith("'") and _needs_quote(value[1:]) else value
