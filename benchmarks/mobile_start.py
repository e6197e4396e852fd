"""One cold start, in a process of its own: ``python -m benchmarks.mobile_start app|bare [DIR]``.

``app``: the engineer app as ``python -m mobile`` starts it (``FixflowApp`` on the data folder
DIR, run on asyncio), until the Today screen's RecycleView holds every job of the day and a
frame showing its rows has been drawn. ``bare``: a Kivy ``App`` whose root is one ``Label``,
until its first frame: what Kivy itself charges for a start (the baseline).

"Drawn" is taken on the ``on_flip`` after the frame's ``on_draw``, after ``glFinish()`` (the
renderer, Mesa llvmpipe here, has then rasterised the frame). The process prints one JSON
line of ``time.monotonic()`` instants (one clock for every process of the machine, so the
parent adds the time before this module ran: interpreter start-up and imports):

    {"first_line": .., "kivy_imported": .., "app_imported": .., "built": ..,
     "first_flip": .., "drawn": .., "rows": 200, "visible_rows": 5}

(``app_imported``: ``mobile.ui.app`` imported, app only; ``built``: ``build()`` done, as
``on_start`` is dispatched; ``first_flip``: the first frame, whatever it shows.)

Kivy's environment (no argv parsing, no log files, its home) comes from the parent's
environment; the window is phone-sized, as in the app's tests.
"""

from __future__ import annotations

import time

FIRST_LINE = time.monotonic()

import asyncio  # noqa: E402  (after the first instant)
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from kivy.config import Config  # noqa: E402

Config.set("graphics", "width", "420")
Config.set("graphics", "height", "820")

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.graphics.opengl import glFinish  # noqa: E402
from kivy.uix.label import Label  # noqa: E402

KIVY_IMPORTED = time.monotonic()
GIVE_UP_S = 60.0
marks: dict[str, Any] = {"first_line": FIRST_LINE, "kivy_imported": KIVY_IMPORTED}


class BareApp(App):
    def build(self) -> Label:
        return Label(text="Fixflow")


def _today_drawn(app: Any) -> bool:
    """The Today screen is current, its list holds the day's jobs, rows are laid out."""
    if app.root is None or app.screens.current != "today":
        return False
    jobs = app.screen("today").ids.jobs
    visible = len(jobs.layout_manager.children) if jobs.layout_manager else 0
    marks.update(rows=len(jobs.data), visible_rows=visible)
    return bool(jobs.data) and visible > 0


def _bare_drawn(app: Any) -> bool:
    return app.root is not None and app.root.parent is Window


def _on_flip(app: App, drawn: Any) -> None:
    def started(*_: Any) -> None:  # returns None: a true value would stop on_start itself
        marks["built"] = time.monotonic()

    app.bind(on_start=started)

    def flipped(*_: Any) -> None:
        marks.setdefault("first_flip", time.monotonic())
        if "drawn" in marks or not drawn(app):
            return
        glFinish()
        marks["drawn"] = time.monotonic()
        app.stop()

    Window.bind(on_flip=flipped)
    # A start that never shows its list must fail, not hang the benchmark.
    Clock.schedule_once(lambda _: app.stop(), GIVE_UP_S)


async def _run(kind: str, data: Path | None) -> None:
    if kind == "app":
        from mobile.ui.app import FixflowApp

        marks["app_imported"] = time.monotonic()
        app: Any = FixflowApp(data_dir=data)
        _on_flip(app, _today_drawn)
        try:
            await app.async_run(async_lib="asyncio")
        finally:
            await app.shutdown()
    else:
        bare = BareApp()
        _on_flip(bare, _bare_drawn)
        await bare.async_run(async_lib="asyncio")


def main(argv: list[str]) -> int:
    kind = argv[0]
    data = Path(argv[1]) if len(argv) > 1 else None
    asyncio.run(_run(kind, data))
    if "drawn" not in marks:
        print(json.dumps({"error": "the app stopped before its first frame", **marks}))
        return 1
    print(json.dumps(marks), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
