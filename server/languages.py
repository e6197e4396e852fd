"""The languages people read Fixflow in (``en``, ``zh_CN``) and how a request picks one.

One rule for every answer written in words (the service report, dispatch's reasons, the
customer pages): the language asked for (``lang``), else the caller's own (a user's
``locale``), else English; integration keys have no language of their own.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "zh_CN"]
LANGUAGES: tuple[Language, ...] = ("en", "zh_CN")
DEFAULT: Language = "en"


def language(value: str | None) -> Language | None:
    """A supported language for ``value`` (``zh-CN``, ``zh_cn``, ``zh-Hans`` and ``zh``
    count as ``zh_CN``, and so do the other places that write Simplified Chinese:
    ``zh-SG``, ``zh-MY``, ``zh-Hans-SG``; ``en-GB`` as ``en``), or None."""
    if not value:
        return None
    normal = value.strip().replace("-", "_").lower()
    if normal in ("zh_cn", "zh", "zh_hans", "zh_sg", "zh_my") or normal.startswith("zh_hans_"):
        return "zh_CN"
    if normal == "en" or normal.startswith("en_"):
        return "en"
    return None


def choose(requested: str | None, own: str | None) -> Language:
    """The language asked for, else the caller's own, else ``DEFAULT``."""
    return language(requested) or language(own) or DEFAULT


def from_accept_language(header: str | None) -> Language | None:
    """The supported language a browser prefers most (``Accept-Language``, RFC 9110 q-values;
    a malformed entry is skipped), or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, Language]] = []
    for position, entry in enumerate(header[:1000].split(",")[:32]):
        tag, _, params = entry.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
            if not 0 < weight <= 1:
                continue
        found = language(tag)
        if found is not None:
            ranked.append((-weight, position, found))
    return min(ranked)[2] if ranked else None
