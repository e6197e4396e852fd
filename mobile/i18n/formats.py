"""Numbers, times and distances as the engineer reads them, in the current language.

Each pattern is a catalogue string with ``{name}`` placeholders, so word order is the
translator's (``{days} d {hours} h left`` is ``剩余 {days} 天 {hours} 小时``); the phone's C
library locale is never used (Android's Python has no locales, and ``strftime``'s month names
would not follow the in-app language switch). Each function takes an optional ``translator``
(tests pass their own); by default the app's, read at call time.
"""

from __future__ import annotations

import math
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation

from mobile.i18n import translation
from mobile.i18n.translation import Translator

UNKNOWN = "—"  # a distance with no position to measure from


def _tr(translator: Translator | None) -> Translator:
    return translation.translator if translator is None else translator


def format_countdown(seconds: float, *, translator: Translator | None = None) -> str:
    """An SLA countdown: ``2 h 15 min left``, negative when overdue: ``overdue by 40 min``.

    Minutes are rounded up, so 30 seconds left reads ``1 min left``, never ``0 min``; from a
    day on, minutes are left out (``1 d 3 h left``).
    """
    t = _tr(translator)
    total = math.ceil(abs(seconds) / 60)
    if total == 0:
        return t.gettext("due now")
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if seconds < 0:
        if days:
            return t.gettext("overdue by {days} d {hours} h").format(days=days, hours=hours)
        if hours:
            pattern = t.gettext("overdue by {hours} h {minutes} min")
            return pattern.format(hours=hours, minutes=minutes)
        return t.gettext("overdue by {minutes} min").format(minutes=minutes)
    if days:
        return t.gettext("{days} d {hours} h left").format(days=days, hours=hours)
    if hours:
        return t.gettext("{hours} h {minutes} min left").format(hours=hours, minutes=minutes)
    return t.gettext("{minutes} min left").format(minutes=minutes)


def format_duration(seconds: float) -> str:
    """A running timer, ``1:05:09`` (hours not capped at 24, whole seconds, a minus sign for a
    negative correction); the same in every language."""
    whole = int(abs(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    sign = "−" if seconds <= -1 else ""
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}"


def format_distance(metres: float | None, *, translator: Translator | None = None) -> str:
    """``850 m``, ``12.3 km``, ``125 km``; ``—`` when unknown (no position, no site
    coordinates) or not a distance."""
    if metres is None or not math.isfinite(metres) or metres < 0:
        return UNKNOWN
    t = _tr(translator)
    if metres < 999.5:
        return t.gettext("{metres} m").format(metres=round(metres))
    km = metres / 1000
    shown = f"{km:.1f}" if km < 99.95 else f"{round(km):,}"
    return t.gettext("{km} km").format(km=shown)


def _day_label(day: date, t: Translator) -> str:
    weekdays = (
        t.pgettext("weekday", "Mon"),
        t.pgettext("weekday", "Tue"),
        t.pgettext("weekday", "Wed"),
        t.pgettext("weekday", "Thu"),
        t.pgettext("weekday", "Fri"),
        t.pgettext("weekday", "Sat"),
        t.pgettext("weekday", "Sun"),
    )
    months = (
        t.pgettext("month", "Jan"),
        t.pgettext("month", "Feb"),
        t.pgettext("month", "Mar"),
        t.pgettext("month", "Apr"),
        t.pgettext("month", "May"),
        t.pgettext("month", "Jun"),
        t.pgettext("month", "Jul"),
        t.pgettext("month", "Aug"),
        t.pgettext("month", "Sep"),
        t.pgettext("month", "Oct"),
        t.pgettext("month", "Nov"),
        t.pgettext("month", "Dec"),
    )
    pattern = t.pgettext("date", "{weekday} {day} {month}")
    return pattern.format(weekday=weekdays[day.weekday()], day=day.day, month=months[day.month - 1])


def format_window(
    start: datetime,
    end: datetime | None,
    tz: tzinfo,
    *,
    now: datetime | None = None,
    translator: Translator | None = None,
) -> str:
    """An appointment window in the engineer's time zone: ``09:00–11:00`` today, with the day
    otherwise (``Tue 8 Dec 09:00–11:00``, ``12月8日 周二 09:00–11:00``); a window over midnight
    names both days; a window with no end (``None``) shows its start only (``09:00``).
    Naive datetimes are refused: their zone would be a guess."""
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise ValueError("format_window needs timezone-aware datetimes")
    t = _tr(translator)
    first = start.astimezone(tz)
    today = (now or datetime.now(tz)).astimezone(tz).date()
    if end is None:
        at = f"{first:%H:%M}"
        return at if first.date() == today else f"{_day_label(first.date(), t)} {at}"
    last = end.astimezone(tz)
    if first.date() != last.date():
        since, until = _day_label(first.date(), t), _day_label(last.date(), t)
        return f"{since} {first:%H:%M} – {until} {last:%H:%M}"
    times = f"{first:%H:%M}–{last:%H:%M}"
    return times if first.date() == today else f"{_day_label(first.date(), t)} {times}"


def format_ago(
    instant: datetime | None, now: datetime, *, translator: Translator | None = None
) -> str:
    """How long ago something happened (the last sync): ``just now``, ``3 min ago``,
    ``5 h ago``, ``2 days ago``; ``Never`` for ``None``. A moment in the future (a clock
    set wrong) reads ``just now``."""
    t = _tr(translator)
    if instant is None:
        return t.gettext("Never")
    minutes = int((now - instant).total_seconds() // 60)
    if minutes < 1:
        return t.gettext("just now")
    if minutes < 60:
        return t.gettext("{n} min ago").format(n=minutes)
    hours = minutes // 60
    if hours < 24:
        return t.gettext("{n} h ago").format(n=hours)
    days = hours // 24
    return t.ngettext("{n} day ago", "{n} days ago", days).format(n=days)


def format_quantity(value: str | Decimal | int) -> str:
    """A stock quantity as the store keeps it (a decimal string) without trailing zeros or an
    exponent: ``2.500`` -> ``2.5``, ``1E+2`` -> ``100``, ``12000`` -> ``12,000`` (Chinese groups
    digits the same way)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a quantity: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a quantity: {value!r}")
    number = number.normalize()
    if number.is_zero():
        number = Decimal(0)  # not "-0"
    return f"{number:,f}"
