"""The dashboard's pure parts: the selection read from an address, the numbers and trends
as printed, the way back after logging in, and the words in both languages."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest

from server.reports.dashboard import http as web
from server.reports.dashboard import selection, views, words
from server.reports.metrics import CATALOGUE
from server.reports.schemas import Headline, KpiResult, KpiRow, Value

TODAY = dt.date(2026, 12, 7)


def t(key: str, **values: Any) -> str:
    return words.EN[key].format(**values)


def zh(key: str, **values: Any) -> str:
    return words.ZH[key].format(**values)


def test_every_word_is_in_both_languages_with_the_same_placeholders() -> None:
    assert words.EN.keys() == words.ZH.keys()
    for key, english in words.EN.items():
        found = set(re.findall(r"{(\w+)}", english))
        assert found == set(re.findall(r"{(\w+)}", words.ZH[key])), key


def test_the_presets_end_today_and_start_on_the_first_of_a_month() -> None:
    assert selection.preset_range("month", TODAY) == (dt.date(2026, 12, 1), TODAY)
    assert selection.preset_range("3m", TODAY) == (dt.date(2026, 10, 1), TODAY)
    assert selection.preset_range("12m", TODAY) == (dt.date(2026, 1, 1), TODAY)
    assert selection.preset_range("3m", dt.date(2026, 2, 10))[0] == dt.date(2025, 12, 1)


def test_the_default_is_the_last_twelve_months_by_month() -> None:
    chosen = selection.read({}, TODAY)
    assert (chosen.preset, chosen.start, chosen.end, chosen.period) == (
        "12m",
        dt.date(2026, 1, 1),
        TODAY,
        "month",
    )
    assert chosen.invalid == ()
    assert selection.read({"preset": "month"}, TODAY).period == "day"


def test_a_custom_range_and_filters_are_kept_in_links() -> None:
    engineer = uuid.uuid4()
    chosen = selection.read(
        {
            "from": "2026-03-01",
            "to": "2026-03-31",
            "period": "week",
            "team": "North <b>",
            "engineer_id": str(engineer),
            "priority": "P1",
            "lang": "zh_CN",
        },
        TODAY,
    )
    assert chosen.preset == "custom" and chosen.days == 31
    assert chosen.uuid("engineer_id") == engineer
    link = chosen.href("/dashboard/faults", priority=None)
    assert link.startswith("/dashboard/faults?preset=custom&period=week&from=2026-03-01")
    assert "team=North+%3Cb%3E" in link and "priority" not in link and "lang=zh_CN" in link


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-05-01", "to": "2026-04-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),  # over three years
        ({"preset": "forever"}, "preset"),
        ({"period": "hour"}, "period"),
        ({"engineer_id": "1; DROP TABLE"}, "engineer_id"),
        ({"priority": "P9"}, "priority"),
        ({"channel": "fax"}, "channel"),
        ({"team": "x" * 121}, "team"),
        ({"territory": "a\x00b"}, "territory"),
    ],
)
def test_an_unreadable_value_is_left_out_and_named(query: dict[str, str], named: str) -> None:
    chosen = selection.read(query, TODAY)
    assert named in chosen.invalid
    assert chosen.start <= chosen.end and chosen.days <= selection.MAX_DAYS
    assert named not in chosen.filters


@pytest.mark.parametrize(
    ("value", "unit", "english", "chinese"),
    [
        (None, "percent", "–", "–"),
        (87.456, "percent", "87.5%", "87.5%"),
        (3.21, "hours", "3.2 h", "3.2 小时"),
        (1204, "count", "1,204", "1,204"),
        (-12.0, "score", "-12.0", "-12.0"),
        (4.25, "days", "4.2 d", "4.2 天"),
    ],
)
def test_numbers_print_in_their_unit(
    value: float | None, unit: str, english: str, chinese: str
) -> None:
    assert views.number(value, unit, t) == english
    assert views.number(value, unit, zh) == chinese


def headline(metric: str, now: float | None, before: float | None) -> Headline:
    change = None if now is None or before is None else now - before
    return Headline(
        metric=metric,
        label=metric,
        unit=CATALOGUE[metric].unit,
        value=Value(now),
        previous=Value(before),
        change=change,
        previous_start=TODAY,
        previous_end=TODAY,
    )


def test_a_cards_arrow_says_whether_the_change_is_good_news() -> None:
    chosen = selection.read({"preset": "month"}, TODAY)
    better = views.card(headline("first_time_fix", 90.0, 85.0), chosen, t)
    assert (better.arrow, better.tone, better.change) == (
        "▲",
        "good",
        "+5.0 pts vs previous period",
    )
    slower = views.card(headline("resolve_hours", 12.0, 10.0), chosen, t)
    assert (slower.arrow, slower.tone) == ("▲", "bad")
    fewer_repeats = views.card(headline("repeat_rate", 4.0, 6.0), chosen, t)
    assert (fewer_repeats.arrow, fewer_repeats.tone) == ("▼", "good")
    busier = views.card(headline("work_orders", 120, 100), chosen, t)
    assert busier.tone == "neutral" and busier.change == "+20 vs previous period"
    same = views.card(headline("resolve_hours", 11.26, 11.3), chosen, t)
    assert (same.arrow, same.tone, same.change) == ("▶", "neutral", "±0.0 h vs previous period")
    unknown = views.card(headline("csat", None, 4.1), chosen, t)
    assert (unknown.value, unknown.arrow, unknown.change) == ("–", "", "no comparison")
    assert unknown.previous == "Previous 7 days: 4.1"
    assert better.href and "metric=first_time_fix" in better.href
    assert views.card(headline("utilisation", 50.0, 50.0), chosen, t).href is None


def test_a_series_links_each_period_to_its_own_days() -> None:
    chosen = selection.read({"preset": "3m"}, TODAY)
    rows = [
        KpiRow(
            period_start=dt.date(2026, m, 1),
            key=None,
            label=None,
            values={"work_orders": Value(float(m))},
        )
        for m in (10, 11, 12)
    ]
    result = KpiResult(
        start=chosen.start,
        end=chosen.end,
        period="month",
        group_by=None,
        time_zone="UTC",
        window_days=30,
        metrics=["work_orders"],
        rows=rows,
    )
    points = views.series(result, "work_orders", chosen)
    assert [p.label for p in points] == ["2026-10", "2026-11", "2026-12"]
    assert "from=2026-11-01&to=2026-11-30" in (points[1].href or "")
    assert "from=2026-12-01&to=2026-12-07" in (points[2].href or "")  # not past the range


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/dashboard/engineers?sort=csat", "/dashboard/engineers?sort=csat"),
        ("/dashboard", "/dashboard"),
        (None, "/dashboard"),
        ("https://evil.example/dashboard", "/dashboard"),
        ("//evil.example/dashboard", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("/dashboard/../api/v1/tickets", "/dashboard"),
        ("/dashboard/%2E%2e/api", "/dashboard"),
        ("/dashboardevil", "/dashboard"),
        ("/dashboard\n", "/dashboard"),
        ("/dashboard?" + "x" * 3000, "/dashboard"),
    ],
)
def test_only_the_dashboards_own_paths_are_a_way_back(asked: str | None, goes: str) -> None:
    assert web.safe_next(asked) == goes
