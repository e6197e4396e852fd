"""The iOS module's parts that run without pyobjus (the rest needs a phone)."""

from __future__ import annotations

from pathlib import Path

from mobile.device.ios import IosStorage


def test_the_store_is_kept_out_of_the_users_documents(tmp_path: Path) -> None:
    storage = IosStorage(home=tmp_path)
    assert storage.data_dir() == tmp_path / "Library" / "Application Support" / "fixflow"
    assert storage.photos_dir() == storage.data_dir() / "photos"
    assert storage.photos_dir().is_dir()
    assert not (tmp_path / "Documents").exists()
