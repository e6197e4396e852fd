"""The Today list: the engineer's jobs in the order they will do them (the dispatch plan's
order when there is one), each with what decides the order of the day at a glance
(window, the plan's ETA, priority, SLA countdown, distance)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from mobile.core.geo import distance_to
from mobile.core.text import line, shown
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
    eta: str = ""  # "ETA 10:30" when a dispatch plan gives the start


def _instant(value: Any) -> dt.datetime | None:
    """An instant the phone can read (shared.times' rule: an offset, 1970 to 2200), or None
    for no value or an unreadable one (``readable`` tells the two apart)."""
    try:
        return parse_instant(value)
    except InstantError:
        return None


def readable(value: Any) -> bool:
    """Whether a time field is absent or readable: a value that is there but cannot be
    read (no offset, year 9999, garbage) is said so, never shown as "none"."""
    return value in (None, "") or _instant(value) is not None


def window_text(work_order: Mapping[str, Any], now: dt.datetime, tz: ZoneInfo) -> str:
    """The appointment window as the Today row shows it. An end that is missing,
    unreadable or before the start is left out (the start alone is what is known)."""
    raw = work_order.get("window_start")
    start = _instant(raw)
    if start is None:
        return _("No appointment") if readable(raw) else _("Appointment time unreadable")
    end = _instant(work_order.get("window_end"))
    return format_window(start, end if end is not None and end >= start else None, tz, now=now)


def eta_text(work_order: Mapping[str, Any], now: dt.datetime, tz: ZoneInfo) -> str:
    """When the plan expects the engineer to start (``planned_start``), local time: "ETA
    10:30" today, with the day otherwise; nothing without a plan (or a readable time)."""
    start = _instant(work_order.get("planned_start"))
    if start is None:
        return ""
    return _("ETA {time}").format(time=format_window(start, None, tz, now=now))


def sla_of(work_order: Mapping[str, Any], now: dt.datetime) -> tuple[str, str]:
    """The countdown to the deadline that matters now (response until the first response,
    then resolution) and its level."""
    if work_order.get("status") in ("resolved", "closed", "cancelled"):
        return "", ""
    if work_order.get("on_hold_since") and work_order.get("status") == "on_hold":
        return _("SLA paused"), "paused"
    # The response deadline until the first response, then (or when there is none) the
    # resolution deadline; a deadline that is there but unreadable is said so.
    raw = None if work_order.get("first_response_at") else work_order.get("response_due_at")
    if raw in (None, ""):
        raw = work_order.get("resolution_due_at")
    due = _instant(raw)
    if due is None:
        return ("", "") if readable(raw) else (_("SLA deadline unreadable"), "")
    left = due - now
    level = "breached" if left.total_seconds() < 0 else "at_risk" if left < AT_RISK else "ok"
    return format_countdown(left.total_seconds()), level


def _item(
    store: Store, wo: Mapping[str, Any], now: dt.datetime, tz: ZoneInfo, here: Any
) -> TodayItem:
    customer = store.get("customer", str(wo.get("customer_id"))) if wo.get("customer_id") else None
    site = store.get("site", str(wo.get("site_id"))) if wo.get("site_id") else None
    sla, level = sla_of(wo, now)
    return TodayItem(
        id=str(wo["id"]),
        number=line(wo.get("number")),
        title=line(wo.get("title")),
        priority=line(wo.get("priority")),
        status=shown(wo.get("status")),
        window=window_text(wo, now, tz),
        sla=sla,
        sla_level=level,
        customer=line((customer or {}).get("name")),
        site=line(shown((site or {}).get("address")) or (site or {}).get("name")),
        distance=format_distance(distance_to(here, site)),
        unsynced=store.is_local("work_order", str(wo["id"])),
        eta=eta_text(wo, now, tz),
    )


def today_items(
    store: Store, view: str, *, now: dt.datetime, tz: ZoneInfo, here: Any = None
) -> list[TodayItem]:
    """The rows of one tab (``today``, ``upcoming`` or ``done``) in the order of the day;
    ``here`` is the last GPS fix (or None: distances are then unknown)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}")
    return [_item(store, wo, now, tz, here) for wo in store.my_work_orders(view, now=now, tz=tz)]
