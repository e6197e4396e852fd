"""The phone's own notifications: how the engineer hears of new work while the app is in
the background or the phone is in a pocket.

- ``PlyerNotifier`` (Android): plyer's ``notification``. On Android 13+ posting needs
  the ``POST_NOTIFICATIONS`` runtime permission: the Android build asks for it once, the
  first time there is something to tell (``before``); refused, Android drops the
  notifications silently and the "needs attention" list still has every one.
- ``LogNotifier`` (desktop, and iOS for now: plyer 2.1.0 has no iOS ``notification``): a
  log line.

Never raises: a notification that cannot be shown is logged (the attention list, written
with the pull that brought the work, is the record; the notification is only a nudge).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

APP_NAME = "Fixflow"
TIMEOUT_S = 10  # how long a desktop-style notification stays (ignored by phones)


class NotificationFacade(Protocol):
    def notify(self, **kwargs: Any) -> None: ...


def _plyer_notification() -> NotificationFacade:
    from plyer import notification

    facade: NotificationFacade = notification
    return facade


class PlyerNotifier:
    """plyer's ``notification``; ``before`` runs before each (the Android permission)."""

    def __init__(
        self,
        facade: Callable[[], NotificationFacade] = _plyer_notification,
        *,
        before: Callable[[], None] | None = None,
    ) -> None:
        self._facade = facade
        self._before = before
        self.shown = 0

    def notify(self, title: str, message: str) -> None:
        try:
            if self._before is not None:
                self._before()
            self._facade().notify(
                title=title, message=message, app_name=APP_NAME, timeout=TIMEOUT_S
            )
        except Exception:  # no notification service, a refused permission: not fatal
            log.warning("could not show the notification %r", title, exc_info=True)
            return
        self.shown += 1


class LogNotifier:
    """The desktop: the notification is a log line."""

    def notify(self, title: str, message: str) -> None:
        log.info("notification: %s — %s", title, message)
