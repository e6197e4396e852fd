"""The engineer app: one window, the sync bar on top, one screen per job of the engineer.

Runs on asyncio (``App.async_run``): the sync engine, GPS and camera waits share the loop
with the UI, so nothing blocks a frame. Every tap goes to ``mobile.core.Work`` (the local
database and the outbox, in one transaction) and shows at once; syncing happens behind.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.base import ExceptionManager
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from mobile import i18n
from mobile.core import Session, Work
from mobile.core.attention import announcement
from mobile.core.clock import local_zone
from mobile.core.refusals import explain
from mobile.device import Device, for_platform
from mobile.i18n import _
from mobile.store import ActionRefused, Store
from mobile.ui import fonts, theme
from mobile.ui.guards import DOUBLE_TAP_DP, DOUBLE_TAP_S, KeepRunning, TapGuard
from mobile.ui.screens import FieldScreen
from mobile.ui.widgets import SyncBarView

log = logging.getLogger(__name__)
__all__ = ["DOUBLE_TAP_DP", "DOUBLE_TAP_S", "FixflowApp", "main"]
HERE = Path(__file__).parent
SCREENS = (
    "login",
    "today",
    "pool",
    "claim",
    "job",
    "checklist",
    "parts",
    "labour",
    "signature",
    "resolve",
    "sync",
    "settings",
)
ROOT_KV = """
#:import theme mobile.ui.theme
<Root>:
    orientation: "vertical"
    canvas.before:
        Color:
            rgba: theme.PAPER
        Rectangle:
            pos: self.pos
            size: self.size
    SyncBarView:
        id: bar
        on_release: app.go("sync")
    ScreenManager:
        id: screens
    Label:
        id: toast
        text: root.toast
        size_hint_y: None
        height: (self.texture_size[1] + dp(16)) if root.toast else 0
        opacity: 1 if root.toast else 0
        color: 1, 1, 1, 1
        font_size: sp(theme.BODY_SP)
        text_size: self.width - dp(24), None
        halign: "center"
        canvas.before:
            Color:
                rgba: root.toast_colour
            Rectangle:
                pos: self.pos
                size: self.size
"""


class Root(BoxLayout):
    toast = StringProperty("")
    toast_level = StringProperty("error")
    toast_colour = ListProperty([0, 0, 0, 0])

    def on_toast(self, *args: Any) -> None:
        colour = theme.DANGER if self.toast_level == "error" else theme.OK
        self.toast_colour = list(colour) if self.toast else [0, 0, 0, 0]


class FixflowApp(App):
    """``data_dir``, ``device``, ``transport`` and ``now`` are for tests and the desktop
    build; on the phone everything comes from the device layer."""

    title = "Fixflow"
    work = ObjectProperty(None)

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        device: Device | None = None,
        transport: Any = None,
        tz: ZoneInfo | None = None,
        now: Callable[[], dt.datetime] | None = None,
        sync_interval: float = 30.0,
        engine_options: dict[str, Any] | None = None,
        login_as: tuple[str, str, str] | None = None,
        autosync: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.device = device or _default_device()
        self.data_dir = data_dir or self.device.storage.data_dir()
        self.tz = tz or local_zone()
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self._transport = transport
        self._sync_interval = sync_interval
        self._engine_options = engine_options or {}
        self._autosync = autosync
        self.tasks: set[asyncio.Task[Any]] = set()
        self.running: dict[str, asyncio.Task[Any]] = {}  # spawn(key=...): one at a time
        self.taps = TapGuard()
        self._errors = KeepRunning(self.failed)
        self.history: list[tuple[str, dict[str, Any]]] = []
        self._toast_event: Any = None
        self.prefill = login_as  # (server, e-mail, password): `make mobile` logs in by itself
        self._asked_password = False

    # --- building -----------------------------------------------------------------------

    def build(self) -> Root:
        fonts.install_default_font()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "fixflow.sqlite3")
        # What the settings chose, else the phone's locale; either way a language the app
        # has (a value an older version kept, "zh-CN", is read like a locale tag).
        chosen = self.store.get_meta("language") or self.device.locale()
        self.set_language(i18n.language_for(chosen))
        self.session = Session(
            self.store,
            device_name=self.device.model,
            transport=self._transport,
            interval=self._sync_interval,
            on_change=self.changed,
            engine_options=self._engine_options,
            autosync=self._autosync,
            on_arrivals=self.arrived,
        )
        self.work = Work(self.store, self.device, wake=self.session.wake, clock=self.now)
        _load_rules()
        root = Root()
        manager: ScreenManager = root.ids.screens
        manager.transition = NoTransition()  # screens are built when first shown (faster start)
        Window.bind(
            on_keyboard=self._key,
            on_touch_down=self.taps.on_touch_down,
            on_touch_up=self.taps.on_touch_up,
        )
        ExceptionManager.add_handler(self._errors)
        return root

    def on_start(self) -> None:
        self.device.location.start()
        if self.session.ready():
            self.go("today", remember=False)
            self.session.start()
        else:
            self.go("login", remember=False)
            if self.prefill:
                self.screen("login").submit()  # type: ignore[attr-defined]
        self.update_bar()
        self._ticker = Clock.schedule_interval(lambda dt_: self.tick(), 1.0)

    def on_pause(self) -> bool:
        return True  # keep running while the camera app or the dialler is in front (Android)

    def on_stop(self) -> None:
        Window.unbind(
            on_keyboard=self._key,
            on_touch_down=self.taps.on_touch_down,
            on_touch_up=self.taps.on_touch_up,
        )
        if self._errors in ExceptionManager.handlers:
            ExceptionManager.remove_handler(self._errors)
        self.device.location.stop()
        if getattr(self, "_ticker", None) is not None:
            self._ticker.cancel()

    async def shutdown(self) -> None:
        """Stop syncing and close the database (the app is leaving)."""
        await self.session.close()
        self.store.close()

    # --- navigation ---------------------------------------------------------------------

    @property
    def screens(self) -> ScreenManager:
        return self.root.ids.screens  # type: ignore[no-any-return]

    def screen(self, name: str) -> FieldScreen:
        """The screen ``name``, built the first time it is needed."""
        if not self.screens.has_screen(name):
            if name not in SCREENS:
                raise ValueError(f"no screen {name!r}")
            self.screens.add_widget(_screen(name))
        return self.screens.get_screen(name)  # type: ignore[no-any-return]

    def go(self, name: str, *, remember: bool = True, **kwargs: Any) -> None:
        current = self.screens.current
        if remember and current and current != name:
            self.history.append((current, dict(getattr(self.screen(current), "shown_with", {}))))
        screen = self.screen(name)
        screen.shown_with = kwargs  # type: ignore[attr-defined]
        screen.show(**kwargs)
        self.screens.current = name

    def back(self) -> bool:
        if not self.history:
            return False
        name, kwargs = self.history.pop()
        self.go(name, remember=False, **kwargs)
        return True

    def _key(self, window: Any, key: int, *args: Any) -> bool:
        return key == 27 and self.back()  # Android's back button (Escape on the desktop)

    # --- what happens ---------------------------------------------------------------------

    def changed(self, what: str) -> None:
        """The data under the screens changed (a sync brought rows, a log-in)."""
        self.update_bar()
        if what == "status" and self._log_in_expired():
            return
        if self.screens.current:
            self.screen(self.screens.current).refresh()

    def arrived(self, arrivals: list[dict[str, Any]]) -> None:
        """A sync brought new work: the phone's notification says so (Today's banner and
        the attention list follow the data, through ``changed``)."""
        text = announcement(arrivals)
        if text is not None:
            self.device.notifier.notify(*text)

    def _log_in_expired(self) -> bool:
        """The server says the log-in has expired (a refresh token unused too long): ask
        for the password once, on the log-in screen; the queue waits, nothing is lost.
        The engineer can go back and keep working offline."""
        engine = self.session.engine
        if not (engine and engine.status.auth_required) or self._asked_password:
            return False
        self._asked_password = True
        self.go("login")
        self.screen("login").error = _(  # type: ignore[attr-defined]
            "Your log-in has expired: log in again. Nothing on the phone is lost."
        )
        return True

    def tick(self) -> None:
        """Every second: what changes with the clock alone (the counts, the attention list
        and the rest are read again when the data changes: ``changed``)."""
        self.root.ids.bar.last_sync = self.session.last_sync_text(self.now())
        if self.screens.current:
            self.screen(self.screens.current).tick()

    def update_bar(self) -> None:
        bar: SyncBarView = self.root.ids.bar
        state = self.session.bar(self.now())
        bar.online = state.online
        bar.pending = state.pending
        bar.last_sync = state.last_sync
        bar.uploading = state.uploading
        bar.attention = state.attention
        bar.auth_required = state.auth_required

    def act(
        self,
        action: Callable[[], Any],
        *,
        then: Callable[[Any], None] | None = None,
        refused: Callable[[str], None] | None = None,
    ) -> Any:
        """Run one tap's action: its result (True when it returns nothing), or None when it
        was refused, the reason told to the engineer (by ``refused``, else in a toast).
        Anything else that goes wrong is told too; the app carries on (what was recorded
        before is in the database, an action's own writes are one transaction)."""
        try:
            result = action()
        except ActionRefused as exc:
            (refused or self.toast)(explain(exc))
            return None
        except Exception as exc:
            self.failed(exc)
            return None
        self.changed("action")
        if then is not None:
            then(result)
        return True if result is None else result

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        then: Callable[[Any], None] | None = None,
        key: str | None = None,
    ) -> asyncio.Task[Any] | None:
        """Run a coroutine on the app's loop (GPS, camera, sync); tests await ``self.tasks``.
        With ``key``, while one with that key runs another is not started (a second tap on
        Check in while the GPS looks, Sync now during a sync): None."""
        if key is not None and key in self.running:
            coro.close()
            self.toast(_("Please wait: this is still being done"), "ok")
            return None

        async def wrapped() -> None:
            try:
                result = await coro
            except ActionRefused as exc:
                self.toast(explain(exc))
                return
            except Exception as exc:
                self.failed(exc)
                return
            self.changed("action")
            if then is not None:
                then(result)

        task = asyncio.ensure_future(wrapped())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        if key is not None:
            self.running[key] = task
            task.add_done_callback(lambda _t: self.running.pop(key, None))
        return task

    def failed(self, exc: BaseException) -> None:
        """Something no screen expected: logged, and told to the engineer."""
        log.error("unexpected error in the app", exc_info=exc)
        message = _("Something went wrong ({error}). What was saved before is kept.")
        self.toast(message.format(error=type(exc).__name__))

    def toast(self, message: str, level: str = "error") -> None:
        root: Root = self.root
        root.toast, root.toast_level = message, level
        if self._toast_event is not None:
            self._toast_event.cancel()
        self._toast_event = Clock.schedule_once(lambda dt_: setattr(root, "toast", ""), 5)

    def set_language(self, code: str) -> None:
        i18n.set_language(code)  # kv rules with _() follow (mobile.ui.lang listens)
        self.store.set_meta(language=code)
        if self.root is not None:  # text set from Python is redrawn in the new language
            self.changed("language")


def _default_device() -> Device:
    """This machine's device layer; on the desktop, the camera is a file picker popup
    (unless FIXFLOW_DEVICE_PHOTO names a file, as scripted runs do)."""
    device = for_platform()
    if device.platform == "desktop" and not os.environ.get("FIXFLOW_DEVICE_PHOTO"):
        from mobile.device.desktop import DesktopCamera
        from mobile.ui.picker import pick_photo

        device = dataclasses.replace(device, camera=DesktopCamera(pick_photo))
    return device


def _load_rules() -> None:
    """The widgets' and the root's kv rules, once per process (an app built twice in one
    process, as the tests do, must not add every rule twice)."""
    widgets = str(HERE / "widgets.kv")
    if widgets not in Builder.files:
        Builder.load_file(widgets)
    if "fixflow-root.kv" not in Builder.files:
        Builder.load_string(ROOT_KV, filename="fixflow-root.kv")


def _screen(name: str) -> FieldScreen:
    import importlib

    module = importlib.import_module(f"mobile.ui.screens.{name}")
    screen: FieldScreen = module.SCREEN(name=name)
    return screen


def main(argv: list[str] | None = None) -> None:
    """``python -m mobile`` (the desktop build) and main.py (the phone)."""
    parser = argparse.ArgumentParser(prog="fixflow-mobile")
    parser.add_argument("--data", type=Path, default=None, help="where the phone's data lives")
    parser.add_argument("--server", default=os.environ.get("FIXFLOW_SERVER"))
    parser.add_argument("--email", default=os.environ.get("FIXFLOW_EMAIL"))
    parser.add_argument("--password", default=os.environ.get("FIXFLOW_PASSWORD"))
    args = parser.parse_args(argv)
    for noisy in ("httpcore", "httpx", "asyncio"):  # Kivy logs everything at DEBUG otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    given = (args.server, args.email, args.password)
    login_as = given if all(given) else None
    app = FixflowApp(data_dir=args.data, login_as=login_as)  # type: ignore[arg-type]
    asyncio.run(_run(app))


async def _run(app: FixflowApp) -> None:
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        await app.shutdown()
