from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from mobile.device.capture import copy_photo, photo_mime, settle_capture


def photo(path: Path, fmt: str = "JPEG") -> Path:
    Image.new("RGB", (8, 6), (200, 30, 30)).save(path, format=fmt)
    return path


@pytest.mark.parametrize(
    ("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_the_photo_type_comes_from_the_bytes_not_the_name(
    tmp_path: Path, fmt: str, mime: str
) -> None:
    assert photo_mime(photo(tmp_path / "picture.txt", fmt)) == mime


def test_heic_is_recognised_by_its_brand(tmp_path: Path) -> None:
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    assert photo_mime(heic) == "image/heic"


def test_what_is_not_a_photo_has_no_type(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not a photo")
    (tmp_path / "riff.jpg").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert photo_mime(tmp_path / "notes.jpg") is None
    assert photo_mime(tmp_path / "riff.jpg") is None
    assert photo_mime(tmp_path / "missing.jpg") is None


def test_a_taken_photo_moves_to_dest_and_the_staging_file_goes(tmp_path: Path) -> None:
    (tmp_path / "capture").mkdir()
    staging = photo(tmp_path / "capture" / "x.jpg")
    taken_bytes = staging.read_bytes()
    dest = tmp_path / "photos" / "job-1" / "p1.jpg"
    assert settle_capture(staging, dest, taken=True) == dest
    assert dest.read_bytes() == taken_bytes
    assert not staging.exists()
    assert [p.name for p in dest.parent.iterdir()] == ["p1.jpg"]  # no partial file left


def test_a_cancelled_capture_leaves_nothing(tmp_path: Path) -> None:
    staging = photo(tmp_path / "x.jpg")
    dest = tmp_path / "photos" / "p1.jpg"
    assert settle_capture(staging, dest, taken=False) is None
    assert not staging.exists() and not dest.exists()


@pytest.mark.parametrize("content", [b"", b"half a file"])
def test_an_ok_without_a_photo_is_a_cancel(tmp_path: Path, content: bytes) -> None:
    """Some camera apps answer OK having written nothing (or garbage) to EXTRA_OUTPUT."""
    staging = tmp_path / "x.jpg"
    staging.write_bytes(content)
    assert settle_capture(staging, tmp_path / "p.jpg", taken=True) is None
    assert not staging.exists() and not (tmp_path / "p.jpg").exists()


def test_a_missing_staging_file_is_a_cancel(tmp_path: Path) -> None:
    assert settle_capture(tmp_path / "never.jpg", tmp_path / "p.jpg", taken=True) is None


def test_a_picked_photo_is_copied_and_left_in_place(tmp_path: Path) -> None:
    (tmp_path / "Pictures").mkdir()
    picked = photo(tmp_path / "Pictures" / "boiler.png", "PNG")
    dest = tmp_path / "photos" / "a.png"
    assert copy_photo(picked, dest) == dest
    assert dest.read_bytes() == picked.read_bytes() and picked.exists()


def test_only_photos_can_be_picked(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7")
    with pytest.raises(ValueError, match=r"report\.pdf is not a photo"):
        copy_photo(tmp_path / "report.pdf", tmp_path / "dest.jpg")
    with pytest.raises(ValueError, match="is not a file"):
        copy_photo(tmp_path, tmp_path / "dest.jpg")
    assert not (tmp_path / "dest.jpg").exists()
