"""The dashboard's charts: well-formed SVG whatever the labels hold, and a clear picture
for the awkward series (none, one point, gaps, negative values)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from server.reports.dashboard import svg
from server.reports.dashboard.svg import Point

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = [
    "<script>alert(1)</script>",
    "\u202eevil\u202c name",
    "A & B \"quoted\" 'single'",
    "x" * 300,
    "张" * 300,
    "bell\x07 and nul\x00",
    "]]><!-- -->",
]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def months(values: list[float | None]) -> list[Point]:
    return [Point(f"2026-{i + 1:02d}", v) for i, v in enumerate(values)]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_label_stays_text_and_cut_to_its_room(name: str) -> None:
    for chart in (
        svg.line_chart([Point(name, 3), Point("b", 4)], title=name, empty="none"),
        svg.bar_chart([Point(name, 3, href=f"/dashboard/x?q={name}")], title=name, empty="none"),
        svg.sparkline([1, 2], title=name),
    ):
        root = parse(chart)  # well-formed, whatever the name held
        assert root.find(f"{NS}script") is None
        assert not list(root.iter("script"))
        for shown in texts(root):
            assert "\u202e" not in shown and "\x00" not in shown and "\x07" not in shown
            assert svg.width_of(shown) <= 200
        assert "<script>" not in str(chart)


def test_a_long_name_is_cut_with_an_ellipsis_to_the_bar_labels_room() -> None:
    chart = svg.bar_chart([Point("张" * 300, 1), Point("Wei", 2)], title="t", empty="-")
    shown = texts(parse(chart))
    long = next(s for s in shown if s.startswith("张"))
    assert long.endswith("…") and svg.width_of(long) <= 28
    assert "Wei" in shown  # a short name is whole


def test_the_label_keeps_what_fits() -> None:
    assert svg.label("Chiller", 28) == "Chiller"
    assert svg.label("abcdefghij", 6) == "abcde…"
    assert svg.label("冷水机组压缩机", 6) == "冷水…"
    assert svg.label("a\u202eb\nc", 10) == "ab c"


def test_an_empty_series_says_there_is_no_data() -> None:
    for chart in (
        svg.line_chart([], title="Work orders", empty="No data for this period"),
        svg.line_chart(months([None, None]), title="T", empty="No data for this period"),
        svg.bar_chart([], title="By territory", empty="No data for this period"),
    ):
        root = parse(chart)
        assert texts(root) == ["No data for this period"]
        assert root.find(f"{NS}path") is None


def test_a_single_point_is_a_dot_without_a_line() -> None:
    root = parse(svg.line_chart(months([42]), title="T", empty="-"))
    assert len(list(root.iter(f"{NS}circle"))) == 1
    assert [p for p in root.iter(f"{NS}path") if "L" in p.get("d", "")] == []
    assert "2026-01" in texts(root)


def test_a_gap_in_the_series_splits_the_line() -> None:
    root = parse(svg.line_chart(months([1, 2, None, 4, 5]), title="T", empty="-", area=False))
    lines = [p.get("d", "") for p in root.iter(f"{NS}path")]
    assert len(lines) == 2 and all(d.count("L") == 1 for d in lines)
    assert len(list(root.iter(f"{NS}circle"))) == 4


def test_every_point_lies_inside_the_plot() -> None:
    root = parse(svg.line_chart(months([3.9, 4.25, 4.3]), title="CSAT", empty="-"))
    assert all(float(c.get("cy", -1)) >= 0 for c in root.iter(f"{NS}circle"))


def test_negative_values_get_an_axis_through_zero() -> None:
    root = parse(svg.line_chart(months([-40, 10, 35]), title="NPS", empty="-", fmt=str))
    shown = texts(root)
    assert "0" in shown and any(s.startswith("-") for s in shown)
    bars = parse(svg.bar_chart([Point("a", -20), Point("b", 30)], title="NPS", empty="-"))
    rects = list(bars.iter(f"{NS}rect"))
    assert rects[0].get("fill") != rects[1].get("fill")  # the negative one in red
    assert float(rects[0].get("x", 0)) < float(rects[1].get("x", 0))


def test_a_chart_names_itself_for_screen_readers() -> None:
    root = parse(svg.line_chart(months([1, 2]), title="SLA 合规率", empty="-"))
    assert root.get("role") == "img" and root.get("aria-label") == "SLA 合规率"
    assert root.findtext(f"{NS}title") == "SLA 合规率"


def test_linked_points_and_bars_carry_their_drill_down() -> None:
    href = "/dashboard/work-orders?metric=work_orders&from=2026-01-01&to=2026-01-31"
    root = parse(
        svg.line_chart([Point("2026-01", 5, href), Point("2026-02", 6)], title="T", empty="-")
    )
    links = [a.get("href") for a in root.iter(f"{NS}a")]
    assert links == [href]
    bars = parse(svg.bar_chart([Point("East", 5, href)], title="T", empty="-"))
    assert [a.get("href") for a in bars.iter(f"{NS}a")] == [href]


def test_many_periods_label_only_some_of_them() -> None:
    points = [Point(f"2026-W{i:02d}", i) for i in range(52)]
    shown = [s for s in texts(parse(svg.line_chart(points, title="T", empty="-"))) if "W" in s]
    assert 4 <= len(shown) <= 12


def test_steps_are_round_and_cover_the_range() -> None:
    assert svg.ticks(0, 95) == [0, 20, 40, 60, 80, 100]
    steps = svg.ticks(-100, 100)
    assert steps[0] <= -100 and steps[-1] >= 100 and 0 in steps
    assert svg.ticks(5, 5)[0] <= 5 <= svg.ticks(5, 5)[-1]
    assert svg.ticks(0, 4.25)[-1] >= 4.25  # a CSAT of 4.2 is not drawn above the axis
    for high in (0.3, 1, 7.5, 42, 99.9, 100, 1234):
        steps = svg.ticks(0, high)
        assert steps[-1] >= high and steps[-2] < high and 3 <= len(steps) <= 8, (high, steps)


def test_a_sparkline_with_one_value_is_a_flat_dash() -> None:
    root = parse(svg.sparkline([3], title="E31"))
    assert root.find(f"{NS}path") is None and root.find(f"{NS}line") is not None
    trend = parse(svg.sparkline([1, 5, None, 2], title="E31"))
    assert len(list(trend.iter(f"{NS}path"))) == 2


def test_several_lines_share_a_plot_with_a_legend() -> None:
    mean = svg.Series("Time to resolve", months([10, 12, None]))
    median = svg.Series("Time to resolve (median)", months([8, 9, 7]))
    root = parse(svg.lines_chart([mean, median], title="T", empty="-"))
    shown = texts(root)
    assert "Time to resolve" in shown and "Time to resolve (median)" in shown  # not cut
    strokes = [p for p in root.iter(f"{NS}path") if p.get("fill") == "none"]
    assert len(strokes) == 2 and strokes[0].get("stroke") != strokes[1].get("stroke")
    assert strokes[1].get("stroke-dasharray")  # told apart without colour too
    assert len(list(root.iter(f"{NS}circle"))) == 5  # the gap draws no dot
    nothing = parse(svg.lines_chart([svg.Series("a", months([None]))], title="T", empty="none"))
    assert texts(nothing) == ["none"]
