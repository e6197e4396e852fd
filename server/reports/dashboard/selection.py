"""What a dashboard page shows: the period and the filters of its GET form, read leniently.

A page is a bookmark: its address carries everything (``?preset=3m&period=week&team=North``),
so links between pages keep the selection by rebuilding it (``Selection.href``). A value
that cannot be read (a date that is no date, an id that is no id, an unknown priority) is
left out and named on the page, never answered with an error page: the manager sees what
the rest of the selection gives. Checks the KPI query makes on top (the range at most three
years, ``to`` not before ``from``) are applied here the same way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlencode

from shared import times

Preset = Literal["month", "3m", "12m", "custom"]
PRESETS: tuple[Preset, ...] = ("month", "3m", "12m", "custom")
Grouping = Literal["day", "week", "month"]
GROUPINGS: tuple[Grouping, ...] = ("day", "week", "month")
# The filters, in the form's order; the ids are checked to be UUIDs.
FILTERS = (
    "engineer_id",
    "team",
    "territory",
    "customer_id",
    "product_model",
    "priority",
    "channel",
    "type",
    "fault_code",
)
_IDS = frozenset({"engineer_id", "customer_id"})
CHOICES: dict[str, tuple[str, ...]] = {
    "priority": ("P1", "P2", "P3", "P4"),
    "channel": ("phone", "web", "email", "im", "qr", "iot", "api"),
    "type": ("repair", "installation", "maintenance", "inspection", "complaint"),
}
TEXT_MAX = 120  # the longest product model the facts hold
# The longest each text filter can match (a longer one is left out and named).
TEXT_MAXES = {"fault_code": 40}
MAX_DAYS = 3 * 365 + 1


@dataclass(frozen=True)
class Selection:
    preset: Preset
    start: dt.date
    end: dt.date
    period: Grouping
    filters: Mapping[str, str] = field(default_factory=dict)
    lang: str | None = None  # the language asked for in the address (kept in links)
    invalid: tuple[str, ...] = ()  # the parameters left out

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def params(self, **changes: str | None) -> dict[str, str]:
        """The address's parameters, with ``changes`` (None removes one)."""
        out: dict[str, str] = {"preset": self.preset, "period": self.period}
        if self.preset == "custom":
            out.update({"from": self.start.isoformat(), "to": self.end.isoformat()})
        out.update(self.filters)
        if self.lang:
            out["lang"] = self.lang
        for key, value in changes.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
        return out

    def href(self, path: str, **changes: str | None) -> str:
        return f"{path}?{urlencode(self.params(**changes))}"

    def uuid(self, name: str) -> uuid.UUID | None:
        value = self.filters.get(name)
        return uuid.UUID(value) if value else None


def _month_start(day: dt.date, back: int) -> dt.date:
    month = day.year * 12 + day.month - 1 - back
    return dt.date(month // 12, month % 12 + 1, 1)


def preset_range(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """This month; the last 3 or 12 months counting this one (from the first of the
    month), each up to today."""
    back = {"month": 0, "3m": 2, "12m": 11}.get(preset, 11)
    return _month_start(today, back), today


def _date(value: str | None) -> dt.date | None:
    """A date the API would take too (ISO 8601, 1970 to 2199): year 1 or 9999 is left out
    and named, where it used to reach the KPI query and overflow on the range's instants."""
    try:
        return times.parse_day(value) if value else None
    except ValueError:
        return None


def _filter(name: str, value: str) -> str | None:
    value = value.strip()
    if not value or len(value) > TEXT_MAXES.get(name, TEXT_MAX) or not value.isprintable():
        return None
    if name in _IDS:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return None
    if name in CHOICES and value not in CHOICES[name]:
        return None
    return value


def _range(
    query: Mapping[str, str], today: dt.date, invalid: list[str]
) -> tuple[Preset, dt.date, dt.date]:
    preset = query.get("preset") or ("custom" if query.get("from") or query.get("to") else "12m")
    if preset not in PRESETS:
        invalid.append("preset")
        preset = "12m"
    if preset != "custom":
        first, last = preset_range(preset, today)
        return preset, first, last  # type: ignore[return-value]
    start, end = _date(query.get("from")), _date(query.get("to"))
    if query.get("from") and start is None:
        invalid.append("from")
    if query.get("to") and end is None:
        invalid.append("to")
    end = end or today
    start = start or _month_start(end, 11)
    if end < start or (end - start).days + 1 > MAX_DAYS:
        invalid.append("to")
        return ("12m", *preset_range("12m", today))
    return "custom", start, end


def read(query: Mapping[str, str], today: dt.date) -> Selection:
    """The selection a page's address asks for (``today``: the organisation's date)."""
    invalid: list[str] = []
    preset, start, end = _range(query, today, invalid)
    period = query.get("period") or ("day" if preset == "month" else "month")
    if period not in GROUPINGS:
        invalid.append("period")
        period = "month"
    filters = {}
    for name in FILTERS:
        raw = query.get(name)
        if raw:
            value = _filter(name, raw)
            if value is None:
                invalid.append(name)
            else:
                filters[name] = value
    lang = query.get("lang") if query.get("lang") in ("en", "zh_CN", "zh-CN", "zh") else None
    return Selection(
        preset=preset,
        start=start,
        end=end,
        period=period,  # type: ignore[arg-type]
        filters=filters,
        lang=lang,
        invalid=tuple(invalid),
    )


def with_engineer(selection: Selection, engineer_id: uuid.UUID | None) -> Selection:
    """The selection forced to one engineer (an engineer sees their own work only)."""
    if engineer_id is None:
        return selection
    return replace(selection, filters={**selection.filters, "engineer_id": str(engineer_id)})
