"""Distance on the Earth's surface, for "how far is the next job"."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def distance_to(here: Any, site: Mapping[str, Any] | None) -> float | None:
    """Metres from a fix (``lat``/``lon`` attributes) to a site row; None when either
    position is unknown."""
    if here is None or not site:
        return None
    lat, lon = site.get("lat"), site.get("lon")
    if lat is None or lon is None:
        return None
    return haversine_m(float(here.lat), float(here.lon), float(lat), float(lon))
