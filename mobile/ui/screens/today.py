"""The day's jobs in order (the dispatch plan's, with its ETA), with the tabs Today /
Upcoming / Done and the way to the claim pool; pull down to sync. A banner says when new
work arrived (new jobs of the engineer's, new jobs in the pool: the "needs attention"
notices not put away yet) and opens the list that has them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kivy.metrics import dp
from kivy.properties import NumericProperty, StringProperty

from mobile.core import today_items
from mobile.core.attention import new_work
from mobile.i18n import _, ngettext
from mobile.ui.screens import FieldScreen, load_kv

load_kv("today")
# How far the finger must pull the list down from its top to ask for a sync.
PULL_TO_REFRESH_DP = 90


class TodayScreen(FieldScreen):
    view = StringProperty("today")
    count = NumericProperty(0)
    pool = NumericProperty(0)  # jobs the engineer may claim (the Pool button)
    greeting = StringProperty("")
    news = StringProperty("")  # the new-work banner ("" hides it)

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
        self.pool = len(self.app.store.claimables())
        self.ids.jobs.data = [
            {
                **{k: v for k, v in asdict(item).items() if k != "id"},
                "id_": item.id,
                "on_open": self.open,
            }
            for item in items
        ]
        self.news = news_text(*new_work(self.app.store.attention()))
        user = self.app.store.user() or {}
        self.greeting = str(user.get("full_name") or self.app.session.username or "")

    def open(self, work_order_id: str) -> None:
        self.app.go("job", work_order_id=work_order_id)

    def pull_start(self, jobs: Any, touch: Any) -> None:
        """A finger down on the list while it shows its top may become a pull."""
        at_top = jobs.scroll_y >= 0.999 or jobs.children[0].height <= jobs.height
        if at_top and jobs.collide_point(*touch.pos):
            touch.ud["pull_from"] = touch.y

    def pulled(self, jobs: Any, touch: Any) -> None:
        """Released after pulling the list down from its top far enough: sync now. (By
        the finger's travel, not scroll_y: a list shorter than the screen scrolls the
        other way.)"""
        start = touch.ud.get("pull_from")
        if start is not None and start - touch.y >= dp(PULL_TO_REFRESH_DP):
            touch.ud["pull_from"] = None
            self.sync()

    def sync(self) -> None:
        self.app.spawn(self.app.session.sync_now(), key="sync")


def news_text(mine: int, pool: int) -> str:
    """The banner: how many new jobs are the engineer's and how many are in the pool."""
    parts = []
    if mine:
        parts.append(ngettext("{n} new job for you", "{n} new jobs for you", mine).format(n=mine))
    if pool:
        parts.append(
            ngettext("{n} new job in the pool", "{n} new jobs in the pool", pool).format(n=pool)
        )
    return "  ·  ".join(parts) + ("  ›  " + _("See") if parts else "")


SCREEN = TodayScreen
