"""What keeps the app usable under a hurried thumb and an unexpected error.

One tap is one action: the second tap of a double tap is dropped (TapGuard).

A tap that changes the screen puts the next step's button under the thumb ("Accept"
becomes "Start travel", "Resolve" goes back to a job whose bottom bar now says "Check
out", a dialog's OK closes over the job screen). A hurried double tap would press that
button too. The app has no double-tap gesture of its own, so a second touch close to the
previous one, quickly after it, is swallowed before any widget sees it; text fields (a
double tap selects a word) and the signature pad (a dot on an "i") still get it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from kivy.base import ExceptionHandler, ExceptionManager
from kivy.metrics import dp
from kivy.uix.textinput import TextInput

from mobile.ui.widgets import SignaturePad

# Android's double-tap timeout is 300 ms; a little more covers a slow second tap.
DOUBLE_TAP_S = 0.4
DOUBLE_TAP_DP = 24
WANTS_DOUBLE_TAPS = (TextInput, SignaturePad)


class TapGuard:
    """Bound to the window's ``on_touch_down`` (before any widget sees the touch) and
    ``on_touch_up``. Only a tap (a touch that ended about where it began) can be the first
    of a double tap: a drag (a scroll, pull to refresh) is not, and a touch right after
    one is let through."""

    def __init__(self) -> None:
        self.last_tap: tuple[float, tuple[float, float]] | None = None  # when it ended, where
        self.dropped = 0

    def on_touch_down(self, window: Any, touch: Any) -> bool:
        """True (the touch stops here) for the second tap of a double tap."""
        last = self.last_tap
        if last is None or getattr(touch, "is_mouse_scrolling", False):
            return False
        if touch.time_start - last[0] >= DOUBLE_TAP_S:
            return False
        if math.dist(last[1], touch.pos) >= dp(DOUBLE_TAP_DP) or _wants(window, touch):
            return False
        self.dropped += 1
        touch.ud["dropped_tap"] = True
        return True

    def on_touch_up(self, window: Any, touch: Any) -> bool:
        moved = math.dist(touch.opos, touch.pos) >= dp(DOUBLE_TAP_DP)
        if touch.ud.get("dropped_tap"):
            return True  # its down never reached a widget: neither does its up
        self.last_tap = None if moved else (time.time(), tuple(touch.pos))
        return False


def _wants(window: Any, touch: Any) -> bool:
    """Whether a widget that uses double taps is under the touch."""
    for top in window.children:
        for widget in top.walk(restrict=True):
            if (
                isinstance(widget, WANTS_DOUBLE_TAPS)
                and widget.height > 0
                and widget.opacity > 0
                and widget.collide_point(*widget.to_widget(*touch.pos))
            ):
                return True
    return False


class KeepRunning(ExceptionHandler):  # type: ignore[misc]
    """Kivy's loop ends the app on an exception in a callback unless a handler says PASS:
    the engineer is told (``failed``) and goes on (the data is safe in the database, each
    action one transaction). Added when the app is built, removed when it stops."""

    def __init__(self, failed: Callable[[BaseException], None]) -> None:
        super().__init__()
        self.failed = failed

    def handle_exception(self, exception: BaseException) -> int:
        if not isinstance(exception, Exception):  # KeyboardInterrupt, SystemExit: stop
            return int(ExceptionManager.RAISE)
        self.failed(exception)
        return int(ExceptionManager.PASS)
