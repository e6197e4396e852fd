"""The field theme reads in sunlight: body text and button labels reach WCAG AAA contrast
(7:1) against what they sit on; secondary text at least AA (4.5:1)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mobile.ui import theme

WHITE = (1.0, 1.0, 1.0, 1.0)


def luminance(colour: Sequence[float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Sequence[float], b: Sequence[float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("ink", "paper", "floor"),
    [
        (theme.INK, theme.PAPER, 7.0),
        (theme.MUTED, theme.PAPER, 7.0),
        (WHITE, theme.PRIMARY, 7.0),
        (WHITE, theme.DANGER, 7.0),
        (WHITE, theme.OK, 7.0),
        (theme.WARN_INK, theme.WARN_BG, 7.0),
        (WHITE, theme.BAR_OFFLINE, 7.0),
        (theme.PRIMARY, theme.TINT, 7.0),  # secondary buttons
        (theme.PRIMARY, theme.TINT_DOWN, 4.5),  # a secondary button held down
        *[(colour, theme.PAPER, 4.5) for colour in theme.PRIORITY.values()],
        *[(colour, theme.PAPER, 4.5) for colour in theme.SLA_LEVEL.values()],
    ],
)
def test_text_contrast_is_high_enough_for_sunlight(
    ink: Sequence[float], paper: Sequence[float], floor: float
) -> None:
    assert contrast(ink, paper) >= floor


def test_the_contrast_check_can_fail() -> None:
    assert contrast((0.6, 0.6, 0.6, 1), WHITE) < 4.5


def test_touch_targets_are_at_least_the_guideline() -> None:
    assert theme.TOUCH_DP >= theme.MIN_TOUCH_DP >= 48
