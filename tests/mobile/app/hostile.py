"""A phone that has been used before (someone logged in, rows pulled), opened without a
server: for the hostile tests, which put odd rows in the store and tap through the real
screens. Nothing here talks to the network; the rows are applied as a pull page would be."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mobile.device import Device
from mobile.store import Store
from shared.sync import Change
from tests.mobile.app import kivyenv  # noqa: F401  (before kivy)
from tests.mobile.helpers import page

ME = "0193a000-0000-7000-8000-000000000001"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai
# Nothing listens there: a sync attempt fails at once, as with no network.
NOWHERE = "http://127.0.0.1:9"


def used_phone(
    folder: Path, *changes: Change, username: str = "eng1@example.com", language: str | None = "en"
) -> Path:
    """The phone's data folder after a log-in as ``username`` and a pull of ``changes``;
    ``language`` is the one chosen in the settings (None: none chosen)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "fixflow.sqlite3", clock=lambda: NOW)
    try:
        store.set_meta(
            base_url=NOWHERE,
            username=username,
            engineer_id=ME,
            user_id="0193a000-0000-7000-8000-0000000000a1",
            full_name="Li Wei",
            refresh_token="r",
            language=language,
        )
        store.apply_page(page(*changes))
    finally:
        store.close()
    return folder


def app_options(**extra: Any) -> dict[str, Any]:
    """What the hostile tests start the app with: a fixed clock and zone, no background
    sync."""
    now: Callable[[], dt.datetime] = lambda: NOW  # noqa: E731
    return {"tz": SHANGHAI, "now": now, "autosync": False, **extra}


@pytest.fixture
async def phone(tmp_path: Path, device: Device) -> AsyncIterator[Callable[..., Any]]:
    """``await phone(*changes)``: the app opened on a used phone holding ``changes``."""
    from mobile.ui.app import FixflowApp
    from tests.mobile.app.harness import Ui

    started: list[Ui] = []

    async def start(
        *changes: Change,
        device_parts: dict[str, Any] | None = None,
        language: str | None = "en",
        **options: Any,
    ) -> Ui:
        """``device_parts`` replace parts of the phone (a maps app that is missing, ...)."""
        folder = used_phone(tmp_path / "phone", *changes, language=language)
        phone_device = dataclasses.replace(device, **(device_parts or {}))
        app = FixflowApp(data_dir=folder, device=phone_device, **app_options(**options))
        driver = await Ui(app).start()
        started.append(driver)
        return driver

    yield start
    for driver in started:
        if driver.app.root is not None and not driver.stopped:
            await driver.stop()
