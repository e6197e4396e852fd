"""Protocol numbers are ASCII digits only: everything else str.isdigit() or int() takes is
refused, and a thousand digits are "too large", not a crash."""

from __future__ import annotations

import pytest

from shared.digits import NumberTooLarge, ascii_uint, plain_number_text


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("7", 7), ("007", 7), (b"42", 42), ("1048576", 1_048_576), ("0" * 5000, 0)],
)
def test_ascii_digits_are_read(text: str | bytes, value: int) -> None:
    assert ascii_uint(text, maximum=2**63 - 1) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "²",
        "¹²",
        "٣",
        "３",
        "߁",
        " 7",
        "7 ",
        "+7",
        "-7",
        "1_000",
        "1e3",
        "7.0",
        "0x10",
        b"\xb2",
        b"7\x00",
        "7\n",
        "NaN",
        "∞",
    ],
)
def test_anything_else_is_not_a_number(text: str | bytes) -> None:
    with pytest.raises(ValueError) as raised:
        ascii_uint(text, maximum=2**63 - 1)
    assert not isinstance(raised.value, NumberTooLarge)


@pytest.mark.parametrize("text", ["11", "9" * 5000, b"1" + b"0" * 100_000])
def test_a_number_past_the_maximum_is_too_large_however_long(text: str | bytes) -> None:
    with pytest.raises(NumberTooLarge):
        ascii_uint(text, maximum=10)


def test_the_maximum_itself_is_allowed() -> None:
    assert ascii_uint("10", maximum=10) == 10
    assert ascii_uint("0010", maximum=10) == 10


@pytest.mark.parametrize("text", ["2", "1.5", "-3", ".5", "7.", "0.000001", "1" * 40])
def test_plain_number_text_is_ascii_digits_a_point_and_a_minus(text: str) -> None:
    assert plain_number_text(text)


@pytest.mark.parametrize(
    "text",
    ["", "1e3", "1E3", "NaN", "Infinity", " 7", "7 ", "+7", "1_000", "١٢", "1.2.3", "-", "."],
)
def test_anything_else_is_not_plain_number_text(text: str) -> None:
    assert not plain_number_text(text)
