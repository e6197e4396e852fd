"""Numbers and times the engineer types: a quantity of a part, a checklist reading, a clock
time. Phones type digits in their own script (Arabic-Indic "١٢", full-width "１２" from a
Chinese keyboard) and a decimal comma; ``Decimal()`` and ``float()`` also accept what no
person means by a count ("NaN", "Infinity", "1e9", "1_000"). Each parser here accepts the
first kind, refuses the second with a message in the engineer's language
(``InputRefused``), and returns what the protocol sends.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from mobile.core.refusals import InputRefused
from mobile.i18n import _

# The server's part quantities: Numeric(14, 3), at most 1,000,000,000 (server/field/parts_used.py).
MAX_QUANTITY = Decimal(1_000_000_000)
QUANTITY_PLACES = 3
# A checklist number the server accepts (server/field/checklists/service.py).
MAX_READING = 1e12
_PLAIN = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_DECIMAL_POINTS = ",\u066b\uff0e\u3002"  # comma, Arabic decimal separator, full-width stops


def plain_digits(text: str) -> str:
    """``text`` with every decimal digit in ASCII, a decimal comma as a point, full-width
    forms folded (NFKC) and spaces removed."""
    folded = unicodedata.normalize("NFKC", text)
    out = []
    for char in folded:
        if char.isspace():
            continue
        digit = unicodedata.decimal(char, None)
        out.append(str(digit) if digit is not None else "." if char in _DECIMAL_POINTS else char)
    return "".join(out)


def number_keys(substring: str, from_undo: bool = False) -> str:
    """A TextInput ``input_filter``: keeps what a number is typed with (digits of any
    script, shown as ASCII, a point or comma, a minus), drops the rest."""
    return "".join(c for c in plain_digits(substring) if c.isdigit() or c in ".-")


def _decimal(text: str) -> Decimal | None:
    plain = plain_digits(text)
    if not _PLAIN.fullmatch(plain):
        return None
    try:
        return Decimal(plain)
    except InvalidOperation:  # pragma: no cover (the pattern admits only decimals)
        return None


def parse_quantity(text: str) -> Decimal:
    """A quantity of a part: positive, at most 3 decimals and 1,000,000,000."""
    number = _decimal(text)
    if number is None:
        raise InputRefused(_("Enter the quantity as a number, e.g. 2 or 1.5"), "quantity")
    if number <= 0:
        raise InputRefused(_("Enter a quantity greater than zero"), "quantity")
    if number > MAX_QUANTITY:
        raise InputRefused(_("A quantity can be at most 1,000,000,000"), "quantity")
    if number != round(number, QUANTITY_PLACES):
        raise InputRefused(_("A quantity has at most 3 decimals"), "quantity")
    return number


def quantity_text(number: Decimal) -> str:
    """How a quantity travels: a plain decimal string ("2", "1.5"), never "1E+1"."""
    text = f"{number.normalize():f}"
    return text


def finite(value: Any) -> float | None:
    """A number as the server sends it (a number, or a number as text); None for anything
    else (true/false, NaN, infinity, "abc", null)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_reading(text: str, item: dict[str, Any]) -> float:
    """A checklist number within the item's ``min_value`` / ``max_value`` (the server's
    rule); limits that cannot be read are no limits."""
    label = str(item.get("label") or "")
    number = _decimal(text)
    if number is None or abs(number) > Decimal(MAX_READING):
        raise InputRefused(_("{label}: enter a number").format(label=label), "value")
    value = float(number)
    low, high = finite(item.get("min_value")), finite(item.get("max_value"))
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{'' if low is None else f'{low:g}'} – {'' if high is None else f'{high:g}'}"
        unit = str(item.get("unit") or "")
        raise InputRefused(
            _("{label} must be within {bounds} {unit}")
            .format(label=label, bounds=bounds, unit=unit)
            .strip(),
            "value",
        )
    return value


def parse_clock(text: str) -> dt.time:
    """A time of day as "HH:MM" or "H:MM" (any digits, a full-width colon too)."""
    found = _CLOCK.fullmatch(plain_digits(text))
    hour, minute = (int(found[1]), int(found[2])) if found else (99, 99)
    if hour > 23 or minute > 59:
        raise InputRefused(_("Enter the times as HH:MM (00:00 to 23:59), e.g. 09:30"), "time")
    return dt.time(hour, minute)
