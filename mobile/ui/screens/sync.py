"""Sync status: online or not, what waits to be sent, photo uploads, and every change the
server refused or flagged, with its reason (nothing is dropped silently)."""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from mobile.core.attention import describe
from mobile.core.text import clip
from mobile.i18n import _
from mobile.ui.screens import FieldScreen, load_kv

load_kv("sync")


class SyncScreen(FieldScreen):
    state = StringProperty("")
    pending = NumericProperty(0)
    uploads = NumericProperty(0)
    last_sync = StringProperty("")
    uploading = StringProperty("")
    problem = StringProperty("")
    log_in_again = BooleanProperty(False)

    def refresh(self) -> None:
        bar = self.app.session.bar(self.app.now())
        self.state = _("Online") if bar.online else _("Offline")
        self.pending, self.uploads = bar.pending, bar.uploads
        self.last_sync, self.uploading = bar.last_sync, bar.uploading
        engine = self.app.session.engine
        self.log_in_again = bar.auth_required
        self.problem = (
            _("Your log-in has expired: log in again. Nothing on the phone is lost.")
            if bar.auth_required
            else _("The last sync failed: {reason}").format(reason=clip(engine.status.last_error))
            if engine and not bar.online and engine.status.last_error
            else ""
        )
        self.ids.attention.data = [
            {
                "key": str(item["key"]),
                "line1": text[0],
                "line2": text[1],
                "value": _("OK"),
                "on_pick": self.dismiss,
            }
            for item in self.app.store.attention()
            for text in [describe(item)]
        ]

    def tick(self) -> None:
        # Only the clock moves: rebuilding the list every second would also reset its scroll.
        self.last_sync = self.app.session.last_sync_text(self.app.now())

    def dismiss(self, key: str) -> None:
        self.app.store.dismiss_attention(key)
        self.refresh()

    def sync(self) -> None:
        self.app.spawn(self.app.session.sync_now(), key="sync")


SCREEN = SyncScreen
