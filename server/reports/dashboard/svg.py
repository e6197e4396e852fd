"""The dashboard's charts as inline SVG: pure functions from numbers to markup.

The pages carry no JavaScript and load nothing (a strict CSP), so a chart is drawn on the
server and placed in the page. Every text in a chart (a period, an engineer's name, a
fault code, a product model) is someone's input: it is escaped for XML, stripped of
characters XML cannot hold and of bidirectional overrides (an U+202E would flip the rest
of the label), and cut with an ellipsis to the room it has, counting East Asian wide
characters twice, so no label can break the drawing or the page. A chart with nothing to
draw says so (``empty``) in the same box. The text inherits the page's fonts (the base
template's stack names Noto Sans CJK, which Chinese labels need). Each chart is an image
with a ``<title>`` and an ``aria-label``; the page puts the numbers in a table beside it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from server.text import fit

Format = Callable[[float], str]
# Characters XML 1.0 cannot hold, and the bidirectional embeddings, overrides and isolates
# (a label's own direction still applies: each label is an isolated run, ``_text``).
_UNWANTED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)
_AXIS = "#5b6570"
_GRID = "#dde2e7"
_LINE = "#0b6bcb"
_AREA = "#0b6bcb22"
_BAR = "#4a90d9"
_NEGATIVE = "#c62828"


@dataclass(frozen=True)
class Point:
    """One value of a series or a breakdown; ``href`` makes it a link (the drill-down)."""

    label: str
    value: float | None
    href: str | None = None


def plain(value: float) -> str:
    """A number as the charts print it when the caller gives no format."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.1f}"


def width_of(text: str) -> int:
    """The room a text takes, in half-em units: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def label(text: str, room: int) -> str:
    """A label cleaned of what XML or the layout cannot take, cut to ``room`` half-ems."""
    cleaned = _UNWANTED.sub("", text).replace("\n", " ").replace("\r", " ").replace("\t", " ")
    if width_of(cleaned) <= room:
        return cleaned
    used, count = 1, 0  # the ellipsis takes one
    for char in cleaned:
        used += width_of(char)
        if used > room:
            break
        count += 1
    return fit(cleaned, max(count + 1, 1))


def _attr(text: str) -> str:
    return escape(_UNWANTED.sub("", text), quote=True)


def _text(x: float, y: float, content: str, *, anchor: str = "start", **style: str) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{_attr(v)}"' for key, v in style.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" unicode-bidi="isolate"'
        f"{extra}>{escape(content, quote=False)}</text>"
    )


def _open(width: int, height: int, title: str, kind: str) -> str:
    name = _attr(label(title, 200))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" '
        f'aria-label="{name}" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" font-size="12"><title>{name}</title>'
    )


def _done(parts: list[str]) -> Markup:
    """The drawing, closed, as markup the templates place unescaped: every text in it went
    through ``_text`` or ``_attr`` (escaped), the rest is numbers and constants."""
    return Markup("".join([*parts, "</svg>"]))  # noqa: S704


def _empty(width: int, height: int, title: str, empty: str, kind: str) -> Markup:
    return _done(
        [
            _open(width, height, title, kind),
            f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" '
            f'stroke="{_GRID}" rx="6"/>',
            _text(width / 2, height / 2 + 5, label(empty, 80), anchor="middle", fill=_AXIS),
        ]
    )


def ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round steps (1, 2 or 5 × 10ⁿ) from at or below ``low`` to at or above ``high``;
    zero is always one of them when the range crosses it (NPS runs from -100 to 100)."""
    if high < low:
        low, high = high, low
    if high == low:
        high = low + (abs(low) or 1)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    first = math.floor(low / step) * step
    values = [round(first, 10)]
    while values[-1] < high - step * 1e-9:  # the last step at or above ``high``
        values.append(round(values[-1] + step, 10))
    return values


def _segments(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive drawn points: a period without a value leaves a gap."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _y_axis(
    scale: Callable[[float], float], steps: list[float], left: int, right: int, fmt: Format
) -> str:
    out = []
    for step in steps:
        y = scale(step)
        colour = _AXIS if step == 0 else _GRID
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{colour}"/>')
        out.append(_text(left - 6, y + 4, label(fmt(step), 14), anchor="end", fill=_AXIS))
    return "".join(out)


def _x_labels(points: Sequence[Point], xs: list[float], bottom: int, room: int, every: int) -> str:
    out = []
    for i, point in enumerate(points):
        if i % every == 0:
            text = label(point.label, room)
            out.append(_text(xs[i], bottom + 16, text, anchor="middle", fill=_AXIS))
    return "".join(out)


def _marker(x: float, y: float, point: Point, fmt: Format, colour: str = _LINE) -> str:
    value = "" if point.value is None else fmt(point.value)
    tip = escape(f"{label(point.label, 120)}: {value}", quote=False)
    dot = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{tip}</title></circle>'
    if point.href:
        return f'<a href="{_attr(point.href)}">{dot}</a>'
    return dot


@dataclass(frozen=True)
class Series:
    """One line of a chart with several (``lines_chart``): its name in the legend."""

    name: str
    points: Sequence[Point]


# The lines of a chart with several: colours told apart also without colour (the second
# line is dashed, the third dotted).
_STYLES = ((_LINE, ""), ("#d4640b", "6 4"), ("#2e7d32", "2 3"), ("#8e24aa", "8 3 2 3"))


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _legend(series: Sequence[Series], left: int, right: int) -> str:
    """The lines' names in a row above the plot, each after a sample of its stroke."""
    out, x = [], float(left)
    # Whole names when they fit in the row; else each cut to an equal share of it.
    whole = sum(46 + width_of(s.name) * 6.5 for s in series)
    share = max(8, int((right - left) / max(len(series), 1) / 6.5) - 7)
    room = 200 if whole <= right - left else share
    for i, line in enumerate(series):
        colour, dash = _STYLES[i % len(_STYLES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{x:.1f}" y1="11" x2="{x + 22:.1f}" y2="11" stroke="{colour}" '
            f'stroke-width="2.5"{dashed}/>'
        )
        name = label(line.name, room)
        out.append(_text(x + 28, 15, name))
        x += 28 + width_of(name) * 6.5 + 18
    return "".join(out)


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    empty: str,
    fmt: Format = plain,
    area: bool = True,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """A time series: a line (and the area under it) over labelled periods, a y axis of
    round steps that includes zero, a dot per value (linked when ``href``). A single
    value is a dot; periods without a value leave a gap; none at all draws ``empty``."""
    return lines_chart(
        [Series("", points)],
        title=title,
        empty=empty,
        fmt=fmt,
        area=area,
        width=width,
        height=height,
        legend=False,
    )


def lines_chart(
    series: Sequence[Series],
    *,
    title: str,
    empty: str,
    fmt: Format = plain,
    area: bool = False,
    width: int = 640,
    height: int = 240,
    legend: bool = True,
) -> Markup:
    """Several time series over the same periods (the first's labels), in one plot with
    a legend above it: a mean beside its median, two SLAs. Each line as ``line_chart``
    draws one (gaps, a dot per value, linked dots); the area only under a single line."""
    values = [p.value for s in series for p in s.points if p.value is not None and _finite(p.value)]
    if not values:
        return _empty(width, height, title, empty, "line")
    left, right, top, bottom = 56, width - 12, 30 if legend else 12, height - 28
    steps = ticks(min(0.0, *values), max(0.0, *values))
    low, high = steps[0], steps[-1]

    def scale(v: float) -> float:
        return bottom - (v - low) / (high - low) * (bottom - top)

    points = series[0].points
    n = len(points)
    gap = (right - left) / max(n - 1, 1)
    xs = [left + gap * i if n > 1 else (left + right) / 2 for i in range(n)]
    parts = [_open(width, height, title, "line"), _y_axis(scale, steps, left, right, fmt)]
    if legend:
        parts.append(_legend(series, left, right))
    for i, line in enumerate(series):
        colour, dash = _STYLES[i % len(_STYLES)]
        drawn = [
            (xs[j], scale(p.value)) if p.value is not None and _finite(p.value) else None
            for j, p in enumerate(line.points[:n])
        ]
        parts += _line(drawn, scale(max(low, 0.0)), colour, dash, area and len(series) == 1)
        for point, spot in zip(line.points[:n], drawn, strict=True):
            if spot is not None:
                parts.append(_marker(spot[0], spot[1], point, fmt, colour))
    # At most one label per 64 units; each gets the room up to the next one shown.
    every = max(1, math.ceil(n / max(1, (right - left) // 64)))
    room = max(6, int(gap * every / 6.5)) if n > 1 else 40
    parts.append(_x_labels(points, xs, bottom, room, every))
    return _done(parts)


def _line(
    drawn: Sequence[tuple[float, float] | None], base: float, colour: str, dash: str, area: bool
) -> list[str]:
    """A line's paths, one per run of values (and the area under each run)."""
    out = []
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    for run in _segments(drawn):
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(run))
        if area and len(run) > 1:
            out.append(
                f'<path d="{path} L{run[-1][0]:.1f},{base:.1f} L{run[0][0]:.1f},{base:.1f} Z" '
                f'fill="{_AREA}" stroke="none"/>'
            )
        out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashed}/>')
    return out


def bar_chart(
    bars: Sequence[Point],
    *,
    title: str,
    empty: str,
    fmt: Format = plain,
    width: int = 640,
    label_room: int = 28,
) -> Markup:
    """A breakdown: one horizontal bar per row, its name on the left (cut to
    ``label_room`` half-ems), its value at the end; negative values extend left of a zero
    line in red. A row with a ``href`` links to its drill-down."""
    rows = [b for b in bars if b.value is not None and math.isfinite(b.value)]
    if not rows:
        return _empty(width, 80, title, empty, "bars")
    row_h, top = 26, 8
    height = top * 2 + row_h * len(rows)
    left, right = 12 + label_room * 7, width - 72
    low = min(0.0, *(b.value or 0.0 for b in rows))
    high = max(0.0, *(b.value or 0.0 for b in rows))
    span = (high - low) or 1.0

    def scale(v: float) -> float:
        return left + (v - low) / span * (right - left)

    zero = scale(0.0)
    parts = [_open(width, height, title, "bars")]
    for i, bar in enumerate(rows):
        value = bar.value or 0.0
        y = top + i * row_h
        x0, x1 = sorted((zero, scale(value)))
        colour = _NEGATIVE if value < 0 else _BAR
        name = label(bar.label, label_room)
        tip = escape(f"{label(bar.label, 120)}: {fmt(value)}", quote=False)
        row = (
            _text(left - 8, y + 17, name, anchor="end")
            + f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 8}" '
            f'fill="{colour}" rx="2"><title>{tip}</title></rect>'
            + _text(max(x1, zero) + 6, y + 17, label(fmt(value), 12), fill=_AXIS)
        )
        parts.append(f'<a href="{_attr(bar.href)}">{row}</a>' if bar.href else row)
    parts.append(f'<line x1="{zero:.1f}" y1="{top}" x2="{zero:.1f}" y2="{height - top}" ')
    parts.append(f'stroke="{_AXIS}"/>')
    return _done(parts)


def sparkline(
    values: Sequence[float | None], *, title: str, width: int = 120, height: int = 28
) -> Markup:
    """A small trend line without axes (a fault's months); a flat dash when there is
    nothing or only one value to compare."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    parts = [_open(width, height, title, "spark")]
    if len(finite) < 2:
        mid = height / 2
        parts.append(f'<line x1="2" y1="{mid}" x2="{width - 2}" y2="{mid}" stroke="{_GRID}"/>')
        return _done(parts)
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    gap = (width - 4) / (len(values) - 1)
    spots: list[tuple[float, float] | None] = [
        (2 + gap * i, height - 3 - (v - low) / span * (height - 6))
        if v is not None and math.isfinite(v)
        else None
        for i, v in enumerate(values)
    ]
    for run in _segments(spots):
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(run))
        parts.append(f'<path d="{path}" fill="none" stroke="{_LINE}" stroke-width="1.5"/>')
    last = next(s for s in reversed(spots) if s is not None)
    parts.append(f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2" fill="{_LINE}"/>')
    return _done(parts)
