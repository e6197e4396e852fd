"""The server address as an engineer types it (or pastes it from a message): whatever it is,
the log-in screen gets a LoginFailed that says what to fix, never an exception from the
URL parser (which ended the log-in task with no word on the screen)."""

from __future__ import annotations

import pytest

from mobile.core.session import LoginFailed, normalise_url


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "ftp://x",
        "javascript:alert(1)",
        "http://",
        "https://",
        "http://[::1",
        "https://a b.com",
        "https://a.b:99999",
        "https://user:secret@a.b",  # a password in the address would be kept and shown
        "https://a.b/?next=1",
        "https://a.b/#top",
        "https://a.b/\x00",
        "https://" + "a" * 2000 + ".com",  # not a host name: at most 63 per label
        "https://" + ".".join(["abc"] * 70),  # at most 253 in all
        "//a.b",
    ],
    ids=lambda typed: repr(typed[:40]),
)
def test_an_address_that_is_no_server_is_refused_with_a_reason(typed: str) -> None:
    with pytest.raises(LoginFailed) as failed:
        normalise_url(typed)
    assert failed.value.kind == "address" and failed.value.message


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (" https://a.b ", "https://a.b"),
        ("https://a.b/", "https://a.b"),
        ("HTTPS://A.B", "https://a.b"),
        ("fixflow.example.com", "https://fixflow.example.com"),
        ("localhost:8000", "https://localhost:8000"),
        ("http://192.168.1.20:8000", "http://192.168.1.20:8000"),
        ("https://例子.测试", "https://例子.测试"),
        ("https://a.b/fixflow", "https://a.b/fixflow"),
    ],
)
def test_an_address_people_type_is_kept_in_its_plain_form(typed: str, kept: str) -> None:
    assert normalise_url(typed) == kept
