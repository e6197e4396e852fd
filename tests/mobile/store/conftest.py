from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mobile.store import Store
from tests.mobile.helpers import NOW, page, put, work_order


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "phone.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(db_path, clock=lambda: NOW)
    yield s
    s.close()


@pytest.fixture
def wo(store: Store) -> dict[str, Any]:
    row = work_order("accepted")
    store.apply_page(page(put("work_order", row)))
    return row
