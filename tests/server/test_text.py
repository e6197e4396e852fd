"""Derived text fits by construction: ``fit`` cuts to a length with an ellipsis and never
leaves half a character sequence at the cut."""

from __future__ import annotations

import pytest

from server.parts.models import StockLocation
from server.text import ELLIPSIS, column_length, fit, fit_column, printable, quote, visible


def test_text_that_fits_is_unchanged() -> None:
    assert fit("Site: 上海", 200) == "Site: 上海"
    assert fit("x" * 200, 200) == "x" * 200


@pytest.mark.parametrize("text", ["W" * 300, "维" * 300, "😀" * 300, "a b " * 100])
def test_longer_text_is_cut_to_the_limit_with_an_ellipsis(text: str) -> None:
    cut = fit(text, 200)
    assert len(cut) <= 200 and cut.endswith(ELLIPSIS)
    assert text.startswith(cut[:-1].rstrip())
    assert not cut[:-1].endswith(" ")


def test_a_cut_never_ends_on_a_joiner_or_a_combining_mark() -> None:
    family = "👩\u200d👩\u200d👧"
    for n in range(2, 12):
        cut = fit(("e\u0301" + family) * 10, n)
        assert cut[-2] not in "\u200d\u0301\ufe0f", (n, cut)


def test_the_column_length_comes_from_the_model() -> None:
    assert column_length(StockLocation.name) == 200
    assert len(fit_column(StockLocation.name, "Site: " + "S" * 200)) == 200


def test_a_quoted_value_is_short() -> None:
    long = quote("x" * 10_000)
    assert len(long) == 80 and long.startswith("'xxx") and long.endswith(ELLIPSIS)
    assert len(quote(["a"] * 10_000)) == 80
    assert quote("ok") == "'ok'"


def test_a_limit_below_one_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        fit("x", 0)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("", False),
        ("  \n\t", False),
        ("\u200b\u200e\u200f\u2060\ufeff\u202e", False),
        ("\x00\x1b", False),
        ("a", True),
        ("\u200bok", True),
        ("修", True),
        ("👍", True),
    ],
)
def test_visible(text: str, shown: bool) -> None:
    assert visible(text) is shown


def test_printable_drops_direction_overrides_and_controls_keeps_emoji() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert printable("\u202eSN-123\u202c\u2066x\u2069\x00\u200b") == "SN-123x"
    assert printable(f"Lift {family} 修") == f"Lift {family} 修"
