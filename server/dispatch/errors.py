"""Dispatch's refusals that more than one of its parts gives."""

from __future__ import annotations

from server.errors import Conflict


class NotDispatchable(Conflict):
    code, title = "not_dispatchable", "The work order is past dispatch"


class NoWindow(Conflict):
    code, title = "no_window", "The work order has no appointment window"


class WindowPassed(Conflict):
    code, title = "window_passed", "The appointment window has ended"
