"""The phone's time zone (the Today list's "today" is the engineer's local day)."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_zone(name: str | None = None) -> ZoneInfo:
    """The zone named (or $TZ, or the system's /etc/localtime link; Android sets
    persist.sys.timezone, read by the device layer), UTC when none is known."""
    for candidate in (name, os.environ.get("TZ"), _system_zone_name()):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def _system_zone_name() -> str | None:
    link = Path("/etc/localtime")
    try:
        target = str(link.resolve())
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None
