"""Distance on the Earth's surface, for "how far is the next job"."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mobile.core.numbers import finite

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _degrees(value: Any, limit: float) -> float | None:
    """A coordinate within ``-limit..limit``; None for anything else (91, NaN, "abc")."""
    number = finite(value)
    return number if number is not None and -limit <= number <= limit else None


def site_position(site: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """The site's (lat, lon), or None when the row holds no usable position: half a
    position, or an impossible one, is no position (the address still finds the site)."""
    if not site:
        return None
    lat, lon = _degrees(site.get("lat"), 90), _degrees(site.get("lon"), 180)
    return None if lat is None or lon is None else (lat, lon)


def distance_to(here: Any, site: Mapping[str, Any] | None) -> float | None:
    """Metres from a fix (``lat``/``lon`` attributes) to a site row; None when either
    position is unknown."""
    there = site_position(site)
    if here is None or there is None:
        return None
    return haversine_m(float(here.lat), float(here.lon), *there)
