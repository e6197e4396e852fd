"""The phone's notification of new work: plyer's on Android (after asking once for the
permission), a log line on the desktop; never an exception (the attention list has it)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from mobile.device import for_platform
from mobile.device.fakes import FakeNotifier, fake_device
from mobile.device.notify import APP_NAME, LogNotifier, PlyerNotifier


class Facade:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    def notify(self, **kwargs: Any) -> None:
        if self.fail:
            raise NotImplementedError("no notification service")
        self.calls.append(kwargs)


def test_plyer_is_asked_with_the_title_message_and_app_name() -> None:
    facade, asked = Facade(), []
    notifier = PlyerNotifier(lambda: facade, before=lambda: asked.append(1))
    notifier.notify("New job WO-000123: Chiller alarm", "It is on your list in Fixflow.")

    [call] = facade.calls
    assert call["title"] == "New job WO-000123: Chiller alarm"
    assert call["message"] == "It is on your list in Fixflow."
    assert call["app_name"] == APP_NAME
    assert asked == [1] and notifier.shown == 1


def test_a_notification_that_cannot_be_shown_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refused() -> None:
        raise PermissionError("POST_NOTIFICATIONS refused")

    with caplog.at_level(logging.WARNING, logger="mobile.device.notify"):
        PlyerNotifier(lambda: Facade(fail=True)).notify("New job", "")
        PlyerNotifier(lambda: Facade(), before=refused).notify("New job", "")
    assert len([r for r in caplog.records if "could not show" in r.getMessage()]) == 2


def test_the_desktop_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mobile.device.notify"):
        LogNotifier().notify("新工单 WO-000123：冷水机报警", "已在 Fixflow 的工单列表中。")
    assert "新工单 WO-000123" in caplog.text


def test_each_platform_has_a_notifier_and_the_fake_records(tmp_path: Path) -> None:
    assert isinstance(for_platform("desktop").notifier, LogNotifier)
    assert isinstance(for_platform("android", model="Pixel").notifier, PlyerNotifier)
    assert isinstance(
        for_platform("ios", model="iPhone").notifier, LogNotifier
    )  # plyer has no iOS one
    device = fake_device(tmp_path)
    assert isinstance(device.notifier, FakeNotifier)
    device.notifier.notify("New job", "WO-000123")
    assert device.notifier.shown == [("New job", "WO-000123")]
