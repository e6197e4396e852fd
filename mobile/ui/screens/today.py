"""The day's jobs in order, with the tabs Today / Upcoming / Done; pull down to sync."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kivy.properties import NumericProperty, StringProperty

from mobile.core import today_items
from mobile.ui.screens import FieldScreen, load_kv

load_kv("today")
# How far past the top (as a fraction of the list) a pull must go to trigger a sync.
PULL_TO_REFRESH = 0.06


class TodayScreen(FieldScreen):
    view = StringProperty("today")
    count = NumericProperty(0)
    greeting = StringProperty("")

    def show(self, **kwargs: Any) -> None:
        if "view" in kwargs:
            self.view = kwargs["view"]
        self.refresh()
        if self.app.work.fix_is_stale(self.app.now()):
            # Distances need a position: ask for one, and redraw when it comes.
            self.app.spawn(self.app.work.position(), then=lambda fix: self.refresh())

    def on_view(self, *args: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        if not self.app or not hasattr(self.app, "work"):
            return
        items = today_items(
            self.app.store,
            self.view,
            now=self.app.now(),
            tz=self.app.tz,
            here=self.app.work.last_fix,
        )
        self.count = len(items)
        self.ids.jobs.data = [
            {
                **{k: v for k, v in asdict(item).items() if k != "id"},
                "id_": item.id,
                "on_open": self.open,
            }
            for item in items
        ]
        user = self.app.store.user() or {}
        self.greeting = str(user.get("full_name") or self.app.session.username or "")

    def open(self, work_order_id: str) -> None:
        self.app.go("job", work_order_id=work_order_id)

    def pulled(self, scroll: Any) -> None:
        """Released while pulled down past the top: sync now."""
        if scroll.scroll_y > 1 + PULL_TO_REFRESH or self.count == 0:
            self.sync()

    def sync(self) -> None:
        self.app.spawn(self.app.session.sync_now())


SCREEN = TodayScreen
