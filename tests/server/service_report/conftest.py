from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.attachments.storage import LocalBlobStore


@pytest.fixture
def store(app: Any, tmp_path: Path) -> Iterator[LocalBlobStore]:
    """A blob store of this test's own (the app reads photos and signatures from it)."""
    original = app.state.blob_store
    app.state.blob_store = LocalBlobStore(tmp_path / "blobs")
    try:
        yield app.state.blob_store
    finally:
        app.state.blob_store = original
