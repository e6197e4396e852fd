"""The claim pool (抢单): open jobs the engineer may claim, most urgent first, each with its
priority colour, window, distance from a fresh fix, customer and skills; a tap opens the
job's preview (the ``claim`` screen)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kivy.properties import NumericProperty

from mobile.core import pool_items
from mobile.ui.screens import FieldScreen, load_kv

load_kv("pool")


class PoolScreen(FieldScreen):
    count = NumericProperty(0)

    def show(self, **kwargs: Any) -> None:
        self.refresh()
        if self.app.work.fix_is_stale(self.app.now()):
            # Distances need a fresh position: ask for one, and redraw when it comes.
            self.app.spawn(self.app.work.position(), then=lambda fix: self.refresh())

    def refresh(self) -> None:
        if not self.app or not hasattr(self.app, "work"):
            return
        items = pool_items(
            self.app.store, now=self.app.now(), tz=self.app.tz, here=self.app.work.last_fix
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

    def open(self, work_order_id: str) -> None:
        self.app.go("claim", work_order_id=work_order_id)

    def sync(self) -> None:
        self.app.spawn(self.app.session.sync_now(), key="sync")


SCREEN = PoolScreen
