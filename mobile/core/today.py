"""The Today list: the engineer's jobs in the order they will do them, each with what decides
the order of the day at a glance (window, priority, SLA countdown, distance)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from mobile.core.geo import distance_to
from mobile.i18n import _, format_countdown, format_distance, format_window
from mobile.store import Store
from shared.times import InstantError, parse_instant

VIEWS = ("today", "upcoming", "done")
# Within this much of its deadline a job is shown as at risk (amber), past it as breached.
AT_RISK = dt.timedelta(hours=2)


@dataclass(frozen=True)
class TodayItem:
    id: str
    number: str
    title: str
    priority: str
    status: str
    window: str
    sla: str
    sla_level: str  # "ok", "at_risk", "breached", "paused" or "" (no SLA)
    customer: str
    site: str
    distance: str
    unsynced: bool


def _instant(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_instant(str(value))
    except InstantError:
        return None


def sla_of(work_order: Mapping[str, Any], now: dt.datetime) -> tuple[str, str]:
    """The countdown to the deadline that matters now (response until the first response,
    then resolution) and its level."""
    if work_order.get("status") in ("resolved", "closed", "cancelled"):
        return "", ""
    if work_order.get("on_hold_since") and work_order.get("status") == "on_hold":
        return _("SLA paused"), "paused"
    due = None
    if not work_order.get("first_response_at"):
        due = _instant(work_order.get("response_due_at"))
    due = due or _instant(work_order.get("resolution_due_at"))
    if due is None:
        return "", ""
    left = due - now
    level = "breached" if left.total_seconds() < 0 else "at_risk" if left < AT_RISK else "ok"
    return format_countdown(left.total_seconds()), level


def _item(
    store: Store, wo: Mapping[str, Any], now: dt.datetime, tz: ZoneInfo, here: Any
) -> TodayItem:
    customer = store.get("customer", str(wo.get("customer_id"))) if wo.get("customer_id") else None
    site = store.get("site", str(wo.get("site_id"))) if wo.get("site_id") else None
    sla, level = sla_of(wo, now)
    start, end = _instant(wo.get("window_start")), _instant(wo.get("window_end"))
    window = format_window(start, end or start, tz, now=now) if start else ""
    return TodayItem(
        id=str(wo["id"]),
        number=str(wo.get("number") or ""),
        title=str(wo.get("title") or ""),
        priority=str(wo.get("priority") or ""),
        status=str(wo.get("status") or ""),
        window=window or _("No appointment"),
        sla=sla,
        sla_level=level,
        customer=str((customer or {}).get("name") or ""),
        site=str((site or {}).get("address") or (site or {}).get("name") or ""),
        distance=format_distance(distance_to(here, site)),
        unsynced=store.is_local("work_order", str(wo["id"])),
    )


def today_items(
    store: Store, view: str, *, now: dt.datetime, tz: ZoneInfo, here: Any = None
) -> list[TodayItem]:
    """The rows of one tab (``today``, ``upcoming`` or ``done``) in the order of the day;
    ``here`` is the last GPS fix (or None: distances are then unknown)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}")
    return [_item(store, wo, now, tz, here) for wo in store.my_work_orders(view, now=now, tz=tz)]
