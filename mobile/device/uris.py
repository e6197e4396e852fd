"""The addresses handed to other apps (dialler, maps) and the phone's language tag: pure
functions, the same on every platform, so the platform modules only open what these build."""

from __future__ import annotations

import math
import re
from urllib.parse import quote, quote_plus

# E.164 numbers have at most 15 digits; "00" instead of "+" adds two. Three digits is the
# shortest emergency or service number (112, 999, 110).
_MIN_DIGITS, _MAX_DIGITS = 3, 17
_SEPARATORS = " -()"


def normalise_number(number: str) -> str:
    """The dialable form of a phone number as people write it: digits and an optional leading
    ``+``; spaces, dashes and (balanced) parentheses are dropped. Anything else is a
    ``ValueError`` that names the problem, so a customer's "ext. 12" or a letter typed by the
    office never reaches the dialler."""
    text = number.strip()
    if not text:
        raise ValueError("the phone number is empty")
    depth = 0
    for position, char in enumerate(text, start=1):
        if char == "+" and position > 1:
            raise ValueError(f"'+' may only start the number (found at position {position})")
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"')' at position {position} closes nothing")
        elif not (char.isascii() and char.isdigit()) and char not in "+" + _SEPARATORS:
            raise ValueError(f"{char!r} (position {position}) is not allowed in a phone number")
    if depth:
        raise ValueError("a '(' in the phone number is never closed")
    digits = [char for char in text if char.isdigit()]
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        raise ValueError(
            f"a phone number has {_MIN_DIGITS} to {_MAX_DIGITS} digits, this one {len(digits)}"
        )
    return ("+" if text.startswith("+") else "") + "".join(digits)


def tel_uri(number: str) -> str:
    """``tel:`` URI (RFC 3966) for the dialler."""
    return "tel:" + normalise_number(number)


def _coordinates(lat: float | None, lon: float | None) -> tuple[str, str] | None:
    """Both coordinates formatted (6 decimals, about 0.1 m), or ``None`` when either is
    unknown: half a position is no position, and the address still finds the site."""
    if lat is None or lon is None:
        return None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise ValueError(f"latitude must be between -90 and 90, not {lat!r}")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise ValueError(f"longitude must be between -180 and 180, not {lon!r}")
    return f"{lat:.6f}", f"{lon:.6f}"


def _address(address: str) -> str:
    text = " ".join(address.split())
    if not text:
        raise ValueError("no coordinates and no address: nowhere to navigate to")
    return text


def geo_uri(*, lat: float | None, lon: float | None, address: str) -> str:
    """Android's ``geo:`` URI: a pin at the coordinates labelled with the address when the
    coordinates are known (``geo:lat,lon?q=lat,lon(label)``), else a search for the address
    (``geo:0,0?q=address``). Every maps app on Android understands both."""
    coordinates = _coordinates(lat, lon)
    if coordinates is None:
        return "geo:0,0?q=" + quote(_address(address), safe="")
    pair = ",".join(coordinates)
    label = " ".join(address.split())
    return f"geo:{pair}?q={pair}" + (f"({quote(label, safe='')})" if label else "")


def apple_maps_url(*, lat: float | None, lon: float | None, address: str) -> str:
    """Apple Maps directions to the site (iOS has no ``geo:`` scheme)."""
    coordinates = _coordinates(lat, lon)
    if coordinates is None:
        return "https://maps.apple.com/?daddr=" + quote_plus(_address(address))
    return "https://maps.apple.com/?daddr=" + ",".join(coordinates)


def osm_url(*, lat: float | None, lon: float | None, address: str) -> str:
    """OpenStreetMap in the browser (the desktop has no maps app): a marker at the
    coordinates at street zoom, else a search for the address."""
    coordinates = _coordinates(lat, lon)
    if coordinates is None:
        return "https://www.openstreetmap.org/search?query=" + quote_plus(_address(address))
    la, lo = coordinates
    return f"https://www.openstreetmap.org/?mlat={la}&mlon={lo}#map=17/{la}/{lo}"


_POSIX_LOCALE = re.compile(r"^(?P<lang>[A-Za-z]{2,3})(?:[_-](?P<rest>[A-Za-z0-9_-]+))?$")


def language_tag(value: str) -> str | None:
    """A BCP 47 tag from a locale as the platforms spell it: POSIX ``zh_CN.UTF-8`` or
    ``sr_RS@latin``, Java/ICU ``zh_Hans_CN``, BCP 47 ``en-GB`` already. ``None`` for the
    C/POSIX locale and for anything that is not a language (so the caller falls back)."""
    text = value.split(".", 1)[0].split("@", 1)[0].strip()
    found = _POSIX_LOCALE.match(text)
    if found is None or text.upper() in ("C", "POSIX"):
        return None
    parts = [found["lang"].lower()]
    for part in (found["rest"] or "").replace("_", "-").split("-"):
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())  # script: Hans, Latn
        elif part:
            parts.append(part.upper() if len(part) == 2 else part)
    return "-".join(parts)
