"""The phone's network switched off and on (every request fails before the server)."""

from __future__ import annotations

from tests.mobile.e2e.faults import Faults

METHODS = ("GET", "POST", "HEAD", "PATCH", "PUT", "DELETE")


def offline(faults: Faults) -> None:
    for method in METHODS:
        faults.add(method, "/", "drop_request", times=10**9)


def online(faults: Faults) -> None:
    faults.rules.clear()
