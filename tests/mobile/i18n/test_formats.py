"""What the screens show for times, distances and quantities, in English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from mobile import i18n
from mobile.i18n import (
    Translator,
    format_ago,
    format_countdown,
    format_distance,
    format_duration,
    format_quantity,
    format_window,
)

EN, ZH = Translator("en"), Translator("zh_CN")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 8, 8, 30, tzinfo=SHANGHAI)  # a Tuesday
HOUR, MINUTE = 3600, 60


@pytest.mark.parametrize(
    ("seconds", "english", "chinese"),
    [
        (2 * HOUR + 15 * MINUTE, "2 h 15 min left", "剩余 2 小时 15 分"),
        (40 * MINUTE, "40 min left", "剩余 40 分钟"),
        (30, "1 min left", "剩余 1 分钟"),  # rounded up: never "0 min left"
        (59 * MINUTE + 1, "1 h 0 min left", "剩余 1 小时 0 分"),
        (27 * HOUR + 10 * MINUTE, "1 d 3 h left", "剩余 1 天 3 小时"),
        (0, "due now", "已到期"),
        (-40 * MINUTE, "overdue by 40 min", "已超时 40 分钟"),
        (-(HOUR + 5 * MINUTE), "overdue by 1 h 5 min", "已超时 1 小时 5 分"),
        (-50 * HOUR, "overdue by 2 d 2 h", "已超时 2 天 2 小时"),
        (-1.5, "overdue by 1 min", "已超时 1 分钟"),
    ],
)
def test_sla_countdown(seconds: float, english: str, chinese: str) -> None:
    assert format_countdown(seconds, translator=EN) == english
    assert format_countdown(seconds, translator=ZH) == chinese


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00:00"),
        (59.9, "0:00:59"),
        (3909, "1:05:09"),
        (30 * HOUR, "30:00:00"),
        (-300, "−0:05:00"),
    ],
)
def test_the_labour_timer_is_the_same_in_both(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


@pytest.mark.parametrize(
    ("metres", "english", "chinese"),
    [
        (850, "850 m", "850 米"),
        (0, "0 m", "0 米"),
        (999.4, "999 m", "999 米"),
        (999.6, "1.0 km", "1.0 公里"),
        (12_345, "12.3 km", "12.3 公里"),
        (125_400, "125 km", "125 公里"),
        (1_234_567, "1,235 km", "1,235 公里"),
        (None, "—", "—"),
        (float("nan"), "—", "—"),
        (-5, "—", "—"),
    ],
)
def test_distance(metres: float | None, english: str, chinese: str) -> None:
    assert format_distance(metres, translator=EN) == english
    assert format_distance(metres, translator=ZH) == chinese


def window(start: datetime, hours: float) -> tuple[str, str]:
    end = start + timedelta(hours=hours)
    return (
        format_window(start, end, SHANGHAI, now=NOW, translator=EN),
        format_window(start, end, SHANGHAI, now=NOW, translator=ZH),
    )


def test_a_window_today_is_its_hours_only() -> None:
    assert window(NOW.replace(hour=9, minute=0), 2) == ("09:00–11:00", "09:00–11:00")


def test_a_window_on_another_day_names_the_day() -> None:
    assert window(datetime(2026, 12, 9, 9, tzinfo=SHANGHAI), 2) == (
        "Wed 9 Dec 09:00–11:00",
        "12月9日 周三 09:00–11:00",
    )
    assert window(datetime(2027, 5, 2, 14, tzinfo=SHANGHAI), 1.5) == (
        "Sun 2 May 14:00–15:30",
        "5月2日 周日 14:00–15:30",
    )


def test_a_window_is_shown_in_the_engineers_zone() -> None:
    utc = datetime(2026, 12, 8, 1, tzinfo=UTC)  # 09:00 in Shanghai: today
    assert window(utc, 2) == ("09:00–11:00", "09:00–11:00")


def test_a_window_over_midnight_names_both_days() -> None:
    assert window(NOW.replace(hour=22, minute=0), 4) == (
        "Tue 8 Dec 22:00 – Wed 9 Dec 02:00",
        "12月8日 周二 22:00 – 12月9日 周三 02:00",
    )


def test_a_naive_window_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_window(datetime(2026, 12, 8, 9), datetime(2026, 12, 8, 11), SHANGHAI)


@pytest.mark.parametrize(
    ("ago", "english", "chinese"),
    [
        (timedelta(seconds=20), "just now", "刚刚"),
        (timedelta(seconds=-90), "just now", "刚刚"),  # a clock set wrong
        (timedelta(minutes=3), "3 min ago", "3 分钟前"),
        (timedelta(minutes=59, seconds=59), "59 min ago", "59 分钟前"),
        (timedelta(hours=5, minutes=1), "5 h ago", "5 小时前"),
        (timedelta(days=1, hours=2), "1 day ago", "1 天前"),
        (timedelta(days=6), "6 days ago", "6 天前"),
    ],
)
def test_how_long_ago(ago: timedelta, english: str, chinese: str) -> None:
    assert format_ago(NOW - ago, NOW, translator=EN) == english
    assert format_ago(NOW - ago, NOW, translator=ZH) == chinese


def test_never_synced() -> None:
    assert (format_ago(None, NOW, translator=EN), format_ago(None, NOW, translator=ZH)) == (
        "Never",
        "从未",
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2.500", "2.5"),
        ("3.000", "3"),
        ("0.25", "0.25"),
        ("1E+2", "100"),
        ("12000", "12,000"),
        ("-0.0", "0"),
        (Decimal("1.10"), "1.1"),
        (7, "7"),
    ],
)
def test_quantity(value: str | Decimal | int, shown: str) -> None:
    assert format_quantity(value) == shown


@pytest.mark.parametrize("value", ["", "two", "NaN", "Infinity", "1,5"])
def test_a_quantity_that_is_not_one_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        format_quantity(value)


@pytest.fixture
def chinese_app() -> Iterator[None]:
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


@pytest.mark.usefixtures("chinese_app")
def test_without_a_translator_the_apps_current_language_is_used() -> None:
    assert format_countdown(-40 * MINUTE) == "已超时 40 分钟"
    assert format_distance(850) == "850 米"
    assert format_ago(NOW - timedelta(minutes=3), NOW) == "3 分钟前"
    assert (
        format_window(
            datetime(2026, 12, 9, 9, tzinfo=SHANGHAI),
            datetime(2026, 12, 9, 11, tzinfo=SHANGHAI),
            SHANGHAI,
            now=NOW,
        )
        == "12月9日 周三 09:00–11:00"
    )
