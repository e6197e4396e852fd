"""Numbers written in protocol text (HTTP headers, ids in the change feed): ASCII digits only.

Python's own tests accept far more than a protocol does: ``"²".isdigit()`` is true and
``int("²")`` raises; ``int("٣")`` is 3; ``int(" 7 ")``, ``int("+7")`` and ``int("1_000")``
succeed; ``int()`` of more than 4,300 digits raises. A header is none of those. Every place
that reads a number from protocol text, on the server and on the phone, goes through
``ascii_uint``.
"""

from __future__ import annotations

import re

_DIGITS = frozenset(b"0123456789")
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def plain_number_text(text: str) -> bool:
    """Whether a number written as text (a quantity "1.5", a price) is ASCII digits with
    at most a point and a leading minus: what a protocol writes. ``Decimal()`` alone also
    reads "١٢" as 12, "1_000" as 1000, "1e3" as 1000 and " 7 ", "NaN" or "Infinity"."""
    return _DECIMAL.fullmatch(text) is not None


class NumberTooLarge(ValueError):
    """The text is a number, but larger than the caller's maximum."""


def ascii_uint(text: str | bytes, *, maximum: int) -> int:
    """The non-negative integer ``text`` spells with the ASCII digits 0-9 and nothing else
    (no sign, space, underscore or other script's digits; leading zeros allowed).

    Raises ``NumberTooLarge`` when it is above ``maximum`` (however many digits it has), and
    ``ValueError`` when it is not such a number at all."""
    raw = text.encode("latin-1", "replace") if isinstance(text, str) else text
    if not raw or not _DIGITS.issuperset(raw):
        raise ValueError("not a number of ASCII digits")
    significant = raw.lstrip(b"0")
    if len(significant) > len(str(maximum)):  # before int(): a megabyte of digits costs
        raise NumberTooLarge(f"larger than {maximum}")
    value = int(significant or b"0")
    if value > maximum:
        raise NumberTooLarge(f"larger than {maximum}")
    return value
