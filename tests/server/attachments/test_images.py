"""What customers see of a photo (nothing of its metadata but the colour profile), and the
JPEG variants phones send."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image, ImageCms

from server.attachments import images
from server.attachments.storage import LocalBlobStore
from tests.fixtures.attachments import sha, upload
from tests.fixtures.factories import Tenant

MAX_PIXELS = 50_000_000
SECRET = b"J. Smith's house, 31.2304N 121.4737E"


def _jpeg(**save: Any) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((400, 300), 64).convert("RGB").save(out, "JPEG", **save)
    return out.getvalue()


def _mpo() -> bytes:
    """A multi-picture JPEG (MPF) as phones' portrait and depth modes write: a 400x300
    picture, then a second one of another size."""
    first = Image.effect_noise((400, 300), 64).convert("RGB")
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[first.resize((120, 200))])
    return out.getvalue()


def test_the_customer_copy_and_the_thumbnail_drop_a_jpeg_comment() -> None:
    """Pillow's JPEG writer copies the source's comment (a COM segment) into what it saves
    unless told otherwise."""
    source = _jpeg(comment=SECRET)
    assert SECRET in source
    derived = images.derive(source, max_pixels=MAX_PIXELS)
    assert SECRET not in derived.customer_copy
    assert SECRET not in derived.thumbnail
    for made in (derived.customer_copy, derived.thumbnail):
        with Image.open(io.BytesIO(made)) as img:
            assert "comment" not in img.info and "exif" not in img.info


def test_the_customer_copy_keeps_the_colour_profile_and_the_thumbnail_does_not() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    derived = images.derive(_jpeg(icc_profile=profile, comment=SECRET), max_pixels=MAX_PIXELS)
    with Image.open(io.BytesIO(derived.customer_copy)) as img:
        assert img.info.get("icc_profile") == profile
    with Image.open(io.BytesIO(derived.thumbnail)) as img:
        assert not img.info.get("icc_profile")


def test_a_multi_picture_jpeg_is_a_jpeg_and_its_copies_are_of_the_first_picture() -> None:
    data = _mpo()
    with Image.open(io.BytesIO(data)) as img:
        assert (img.format, getattr(img, "n_frames", 1)) == ("MPO", 2)
    info = images.inspect(io.BytesIO(data), mime=images.JPEG, max_pixels=MAX_PIXELS)
    assert (info.width, info.height) == (400, 300)
    derived = images.derive(data, max_pixels=MAX_PIXELS)
    for made, size in ((derived.customer_copy, (400, 300)), (derived.thumbnail, (320, 240))):
        with Image.open(io.BytesIO(made)) as img:
            assert (img.format, img.size, getattr(img, "n_frames", 1)) == ("JPEG", size, 1)


async def test_a_multi_picture_jpeg_from_a_phone_camera_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant, store: LocalBlobStore
) -> None:
    """Pillow opens these as format "MPO": they were refused as "the bytes start like
    image/jpeg but do not decode as one"."""
    data = _mpo()
    response = await upload(client, tenant.headers("engineer1"), data)
    assert response.status_code == 204, response.text
    head = await client.head(f"/api/v1/blobs/{sha(data)}", headers=tenant.headers("engineer1"))
    assert head.status_code == 200
