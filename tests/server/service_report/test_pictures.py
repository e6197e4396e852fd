"""The images a report prints are fresh encodings of the pixels: nothing of a photo's
metadata goes into the PDF (reportlab embeds a JPEG file as it is)."""

from __future__ import annotations

import io

from PIL import Image

from server.service_report import pictures

MAX_PIXELS = 50_000_000
SECRET = b"J. Smith's house, 31.2304N 121.4737E"


def test_a_photo_prepared_for_the_report_drops_its_jpeg_comment() -> None:
    """Pillow's JPEG writer copies the source's comment (a COM segment) unless told not to."""
    source = io.BytesIO()
    Image.effect_noise((900, 600), 64).convert("RGB").save(source, "JPEG", comment=SECRET)
    assert SECRET in source.getvalue()
    made = pictures.prepare(
        source.getvalue(), longest=pictures.PHOTO_PX, png=False, max_pixels=MAX_PIXELS
    )
    assert made is not None
    assert SECRET not in made.data
    with Image.open(io.BytesIO(made.data)) as img:
        assert img.format == "JPEG" and "comment" not in img.info and "exif" not in img.info


def test_a_multi_picture_jpeg_prints_its_first_picture() -> None:
    first = Image.effect_noise((900, 600), 64).convert("RGB")
    source = io.BytesIO()
    first.save(source, "MPO", save_all=True, append_images=[first.resize((200, 400))])
    made = pictures.prepare(
        source.getvalue(), longest=pictures.PHOTO_PX, png=False, max_pixels=MAX_PIXELS
    )
    assert made is not None
    assert (made.width, made.height) == (pictures.PHOTO_PX, 427)
    with Image.open(io.BytesIO(made.data)) as img:
        assert (img.format, getattr(img, "n_frames", 1)) == ("JPEG", 1)
