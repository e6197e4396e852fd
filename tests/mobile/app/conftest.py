"""The app driven headless against the real API (in-process, on the test's database)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from mobile.device import Device
from mobile.device.fakes import FakeLocation, fake_device, fix_at
from tests.mobile.app import kivyenv  # noqa: F401  (Kivy's environment, before Kivy)
from tests.mobile.app.hostile import phone  # noqa: F401  (the used phone, no server)
from tests.mobile.e2e.conftest import faults, tenant, ticket  # noqa: F401  (fixtures)

SHANGHAI = (31.2304, 121.4737)


@pytest.fixture
def device(tmp_path: Path) -> Device:
    return fake_device(
        tmp_path / "device",
        location=FakeLocation(fix_at(lat=SHANGHAI[0], lon=SHANGHAI[1], accuracy_m=7.0)),
    )


@pytest.fixture
async def ui(
    tmp_path: Path,
    device: Device,
    faults: Any,  # noqa: F811 (the imported fixture)
) -> AsyncIterator[Callable[..., Any]]:
    """``await ui()``: the app started on a phone's data folder (the same folder again
    after a restart), syncing through the in-process API."""
    from mobile.ui.app import FixflowApp
    from tests.mobile.app.harness import Ui

    started: list[Ui] = []

    async def start(data: Path | None = None, **options: Any) -> Ui:
        options.setdefault("autosync", False)  # syncs happen when the test asks
        app = FixflowApp(
            data_dir=data or tmp_path / "phone", device=device, transport=faults, **options
        )
        driver = await Ui(app).start()
        started.append(driver)
        return driver

    yield start
    for driver in started:
        if driver.app.root is not None and not driver.stopped:
            await driver.stop()
