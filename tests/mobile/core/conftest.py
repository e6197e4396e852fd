from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mobile.core import Work
from mobile.device import Device
from mobile.device.fakes import FakeLocation, fake_device, fix_at
from mobile.store import Store
from tests.mobile.helpers import NOW

ME = "0193a000-0000-7000-8000-000000000001"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "phone.sqlite3", clock=lambda: NOW)
    s.set_meta(engineer_id=ME)
    yield s
    s.close()


@pytest.fixture
def device(tmp_path: Path) -> Device:
    return fake_device(
        tmp_path / "device",
        location=FakeLocation(fix_at(lat=31.2304, lon=121.4737, accuracy_m=6.0)),
    )


@pytest.fixture
def work(store: Store, device: Device) -> Work:
    woken: list[int] = []
    w = Work(store, device, wake=lambda: woken.append(1))
    w.woken = woken  # type: ignore[attr-defined]
    return w


def mine(**fields: Any) -> dict[str, Any]:
    from tests.mobile.helpers import work_order

    return work_order(**{"assignee_id": ME, **fields})
