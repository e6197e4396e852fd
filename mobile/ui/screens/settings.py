"""Settings: the language (the phone's by default), who is logged in, log out."""

from __future__ import annotations

from kivy.properties import StringProperty

from mobile.i18n import _
from mobile.ui.screens import FieldScreen, load_kv

load_kv("settings")


class SettingsScreen(FieldScreen):
    user = StringProperty("")
    server = StringProperty("")
    language = StringProperty("")
    message = StringProperty("")

    def refresh(self) -> None:
        session = self.app.session
        self.user = session.username or ""
        self.server = session.server_url or ""
        self.language = self.app.store.get_meta("language") or "en"

    def choose(self, code: str) -> None:
        self.app.set_language(code)
        self.refresh()
        self.app.changed("language")

    def logout(self) -> None:
        pending = self.app.store.pending_count()

        async def out() -> None:
            await self.app.session.logout()
            self.app.history.clear()
            self.app.go("login", remember=False)
            if pending:
                self.app.toast(
                    _(
                        "{n} changes wait on this phone; they are sent after you log in again."
                    ).format(n=pending),
                    "ok",
                )

        self.app.spawn(out(), key="session")


SCREEN = SettingsScreen
