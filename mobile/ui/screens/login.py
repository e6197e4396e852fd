"""Log in once, online; the server address is remembered."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty

from mobile.core import LoginFailed
from mobile.i18n import _
from mobile.sync import OrganisationRequired
from mobile.ui.screens import FieldScreen, load_kv

load_kv("login")


class LoginScreen(FieldScreen):
    server = StringProperty("")
    email = StringProperty("")
    error = StringProperty("")
    busy = BooleanProperty(False)
    organisations = ListProperty()  # [(slug, name)] when the e-mail opens several
    organisation = StringProperty("")

    def show(self, **kwargs: Any) -> None:
        session = self.app.session
        self.server = session.server_url or self.server
        self.email = session.username or self.email
        prefill = getattr(self.app, "prefill", None)
        if prefill and not self.ids.password.text:
            self.server, self.email, self.ids.password.text = prefill
        self.error = ""

    def submit(self) -> None:
        if self.busy:
            return
        self.busy, self.error = True, ""
        password = self.ids.password.text
        started = self.app.spawn(self._login(self.server, self.email, password), key="session")
        if started is None:
            self.busy = False

    async def _login(self, server: str, email: str, password: str) -> None:
        try:
            await self.app.session.login(server, email, password, self.organisation or None)
        except LoginFailed as exc:
            self.error = exc.message
            return
        except OrganisationRequired as exc:
            self.organisations = [
                (str(o.get("slug") or o.get("id")), str(o.get("name") or o.get("slug")))
                for o in exc.organisations
            ]
            self.error = _(
                "This e-mail opens several organisations: choose one, then log in again."
            )
            return
        finally:
            self.busy = False
        self.ids.password.text = ""
        self.app._asked_password = False  # a later expiry asks again
        self.app.session.start()
        self.app.history.clear()
        self.app.go("today", remember=False)
        self.app.session.wake()


SCREEN = LoginScreen
