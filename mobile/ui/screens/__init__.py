"""One screen per job of the engineer: a ``.py`` (what it shows, what a tap does) and a
``.kv`` (layout and bindings only) of the same name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

HERE = Path(__file__).parent


def load_kv(name: str) -> None:
    """Load ``<name>.kv`` beside the screen's module, once."""
    path = str(HERE / f"{name}.kv")
    if path not in Builder.files:
        Builder.load_file(path)


class FieldScreen(Screen):
    """A screen of the app: ``show(**kwargs)`` when navigated to, ``refresh()`` when the
    data under it changed (a sync, an action), ``tick()`` every second while shown."""

    @property
    def app(self) -> Any:
        """The running ``mobile.ui.app.FixflowApp`` (not imported: the app imports us)."""
        return App.get_running_app()

    def show(self, **kwargs: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        pass

    def tick(self) -> None:
        pass
