"""Drive the real app headless: build it into Kivy's (offscreen) window, pump frames while
the test's asyncio loop runs the sync engine, and tap, type and draw with real touch events
at the widgets' positions on the window."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.metrics import dp
from kivy.tests.common import UnitTestTouch
from kivy.uix.widget import Widget

from mobile.i18n import _
from mobile.ui.app import DOUBLE_TAP_DP, DOUBLE_TAP_S, FixflowApp
from tests.mobile.app import kivyenv  # noqa: F401  (before kivy)


class Ui:
    def __init__(self, app: FixflowApp) -> None:
        self.app = app
        self.stopped = False
        self.last_touch: tuple[float, tuple[float, float]] | None = None

    # --- life -----------------------------------------------------------------------------

    async def start(self) -> Ui:
        EventLoop.ensure_window()
        self.app._run_prepare()
        await self.frames(3)
        return self

    async def stop(self) -> None:
        await self.settle()
        self.app.dispatch("on_stop")
        for child in list(Window.children):
            Window.remove_widget(child)
        App._running_app = None
        await self.app.shutdown()
        self.stopped = True

    async def frames(self, n: int = 2) -> None:
        for _frame in range(n):
            EventLoop.idle()
            await asyncio.sleep(0)

    async def settle(self, rounds: int = 200) -> None:
        """Let every task the app spawned (GPS, camera, sync) finish, drawing meanwhile."""
        for _round in range(rounds):
            await self.frames(1)
            if not self.app.tasks:
                break
            await asyncio.wait(list(self.app.tasks), timeout=0.05)
        await self.frames(2)

    async def until(self, ready: Callable[[], bool], frames: int = 240) -> bool:
        """Draw frames until `ready()` holds (or `frames` have passed; the caller asserts):
        a list the app fills after a sync lays its rows out over several frames, more of
        them on a busy machine."""
        for _frame in range(frames):
            if ready():
                return True
            await self.frames(1)
        return ready()

    # --- finding --------------------------------------------------------------------------

    @property
    def screen(self) -> Any:
        return self.app.screen(self.app.screens.current)

    def walk(self, root: Widget | None = None) -> Iterator[Widget]:
        stack = [root or self.screen]
        while stack:
            widget = stack.pop()
            yield widget
            stack.extend(widget.children)

    def button(self, text: str, root: Widget | None = None) -> Widget:
        """The visible, enabled button whose text is ``text`` (the English source; the
        translation in the app's current language is looked for too), or starts or ends
        with it."""
        shown_as = _(text)
        found = [
            w
            for w in self.walk(root)
            if hasattr(w, "on_release")
            and isinstance(getattr(w, "text", None), str)
            and any(
                w.text == t or w.text.startswith(t) or w.text.endswith(t) for t in (text, shown_as)
            )
            and not w.disabled
            and w.opacity > 0
            and w.height > 0
        ]
        if not found:
            shown = sorted(
                {getattr(w, "text", "") for w in self.walk(root) if hasattr(w, "on_release")}
            )
            raise AssertionError(f"no button {text!r} on {self.app.screens.current}: {shown}")
        return found[0]

    def texts(self, root: Widget | None = None) -> list[str]:
        return [
            w.text for w in self.walk(root) if isinstance(getattr(w, "text", None), str) and w.text
        ]

    # --- touching -------------------------------------------------------------------------

    async def touch(self, x: float, y: float, *moves: tuple[float, float]) -> None:
        """A deliberate tap: if the last one was close by, just now, wait until this one
        cannot be taken for the second tap of a double tap (the app drops those)."""
        last = self.last_touch
        if last is not None and math.dist(last[1], (x, y)) < 2 * dp(DOUBLE_TAP_DP):
            await asyncio.sleep(max(0.0, last[0] + DOUBLE_TAP_S - time.time()))
        await self._touch(x, y, *moves)

    async def double_tap(self, widget: Widget) -> None:
        """Two taps on ``widget``'s spot as a hurried thumb does: the second one lands on
        whatever the first one put there."""
        await self.scroll_to(widget)
        x, y = widget.to_window(*widget.center)
        await self._touch(x, y)
        await self._touch(x, y)
        await self.settle()

    async def _touch(self, x: float, y: float, *moves: tuple[float, float]) -> None:
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await self.frames(1)
        for mx, my in moves:
            touch.touch_move(mx, my)
        await self.frames(1)
        touch.touch_up()
        self.last_touch = (time.time(), (x, y))
        await self.frames(2)

    async def drag(self, x: float, y: float, dx: float, dy: float, steps: int = 15) -> None:
        """A finger put down at (x, y) and moved by (dx, dy) at a finger's pace (the
        scroll views decide between a tap and a scroll by distance over time)."""
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await self.frames(1)
        for i in range(1, steps + 1):
            touch.touch_move(x + dx * i / steps, y + dy * i / steps)
            await self.frames(1)
            await asyncio.sleep(0.01)
        touch.touch_up()
        await self.frames(2)

    async def tap(self, widget: Widget) -> None:
        await self.frames(2)  # a screen just shown lays itself out first
        await self.scroll_to(widget)
        # A screen the app switched to on its own (the log-in screen when a log-in expired)
        # may still be laying itself out: a scroll made before its content had its height
        # leaves the widget off the window (more often on a busy machine). Scroll again
        # once the layout has moved on, as a finger would, until the widget is in view.
        for _frame in range(120):
            x, y = widget.to_window(*widget.center)
            if 0 <= x < Window.width and 0 <= y < Window.height:
                break
            await self.frames(1)
            await self.scroll_to(widget)
        assert 0 <= x < Window.width and 0 <= y < Window.height, (
            f"{widget} is off the window at {x},{y}: {self._whereabouts(widget)}"
        )
        await self.touch(x, y)
        await self.settle()

    def _whereabouts(self, widget: Widget) -> str:
        """The widget's ancestors' positions and sizes, and the window's (a failure's
        account)."""
        out = [f"window {Window.size}"]
        node = widget
        while node is not None and node is not Window:
            extra = f" scroll_y={node.scroll_y:.3f}" if hasattr(node, "scroll_y") else ""
            out.append(
                f"{node.__class__.__name__} pos={tuple(node.pos)} size={tuple(node.size)}{extra}"
            )
            node = node.parent
        return "; ".join(out)

    async def press(self, text: str) -> None:
        await self.tap(self.button(text))

    async def scroll_to(self, widget: Widget) -> None:
        parent = widget.parent
        while parent is not None and parent is not Window:
            if parent.__class__.__name__ == "RecycleView":
                return  # a recycled row exists only while it is on screen
            if parent.__class__.__name__ == "ScrollView":
                parent.scroll_to(widget, padding=10, animate=False)
                await self.frames(2)
                return
            parent = parent.parent

    async def type(self, widget: Any, text: str) -> None:
        widget.focus = True
        widget.text = text
        await self.frames(1)
        widget.focus = False
        await self.frames(1)

    async def draw(self, widget: Widget, points: list[tuple[float, float]]) -> None:
        """One stroke through ``points`` given in the widget's own 0..1 coordinates."""

        def at(p: tuple[float, float]) -> tuple[float, float]:
            return widget.to_window(widget.x + p[0] * widget.width, widget.y + p[1] * widget.height)

        first, *rest = [at(p) for p in points]
        touch = UnitTestTouch(*first)
        touch.touch_down()
        for x, y in rest:
            touch.touch_move(x, y)
            await self.frames(1)
        touch.touch_up()
        await self.frames(2)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        Window.canvas.ask_update()
        EventLoop.idle()
        made = Window.screenshot(name=str(path))
        produced = Path(made)
        produced.replace(path)
        return path
