"""The phone reads the server's Retry-After as delta-seconds in ASCII digits or an HTTP
date; anything else is ignored (the backoff decides), never a crash of the sync loop."""

from __future__ import annotations

import httpx
import pytest

from mobile.sync.api import RETRY_AFTER_CAP, retry_after


def _response(value: bytes) -> httpx.Response:
    return httpx.Response(503, headers=[(b"Retry-After", value)])


@pytest.mark.parametrize(("value", "seconds"), [(b"7", 7.0), (b" 30 ", 30.0), (b"0", 0.0)])
def test_delta_seconds_are_read(value: bytes, seconds: float) -> None:
    assert retry_after(_response(value)) == seconds


def test_an_enormous_delay_is_capped_not_a_crash() -> None:
    assert retry_after(_response(b"9" * 5000)) == RETRY_AFTER_CAP


def test_an_http_date_in_the_past_is_no_wait() -> None:
    assert retry_after(_response(b"Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0


@pytest.mark.parametrize(
    "value", ["²".encode("latin-1"), "٣".encode(), b"+5", b"1_0", b"-1", b"soon", b"Mon, 99 Foo"]
)
def test_anything_else_is_ignored(value: bytes) -> None:
    assert retry_after(_response(value)) is None
