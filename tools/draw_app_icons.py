"""Draw the phone app's icon and presplash (mobile/assets/icon.png, presplash.png).

    .venv/bin/python tools/draw_app_icons.py

A wrench with a check mark over it (the job fixed) and the word "Fixflow", amber and white on
deep blue: high contrast, readable at launcher size. Drawn at 4x and scaled down, so edges are
smooth. The font is Roboto Bold from Kivy's own data (the app's default font), found without
importing Kivy.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "mobile" / "assets"
BACKGROUND = (13, 43, 77)  # deep blue; buildozer.spec android.presplash_color = #0D2B4D
AMBER = (255, 179, 0)
WHITE = (255, 255, 255)
SUPERSAMPLE = 4


def _font(size: int) -> ImageFont.FreeTypeFont:
    spec = importlib.util.find_spec("kivy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("Kivy is not installed: run `make install` first")
    path = Path(next(iter(spec.submodule_search_locations))) / "data/fonts/Roboto-Bold.ttf"
    return ImageFont.truetype(str(path), size)


def _wrench(size: int) -> Image.Image:
    """A wrench lying flat (open jaw on the right), on a transparent square of ``size``."""
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    mid, thick = size // 2, size // 8
    draw.rounded_rectangle(
        (size * 0.12, mid - thick // 2, size * 0.72, mid + thick // 2),
        radius=thick // 2,
        fill=AMBER,
    )
    head_r = size // 6
    head = (size * 0.74, mid)
    draw.ellipse(
        (head[0] - head_r, head[1] - head_r, head[0] + head_r, head[1] + head_r), fill=AMBER
    )
    jaw = head_r * 0.45  # the open end: a slot cut into the head
    draw.rectangle((head[0], head[1] - jaw, head[0] + head_r + 2, head[1] + jaw), fill=(0, 0, 0, 0))
    tail_r = thick * 0.85
    draw.ellipse(
        (size * 0.12 - tail_r, mid - tail_r, size * 0.12 + tail_r, mid + tail_r), fill=AMBER
    )
    return layer.rotate(45, resample=Image.Resampling.BICUBIC)


def _check(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float]) -> None:
    """A bold check mark inside ``box``, in white with a blue outline so it reads over
    the wrench."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    points = [
        (left + width * 0.05, top + height * 0.55),
        (left + width * 0.38, top + height * 0.88),
        (left + width * 0.95, top + height * 0.12),
    ]
    stroke = int(min(width, height) * 0.2)
    draw.line(points, fill=BACKGROUND, width=stroke + stroke // 2, joint="curve")
    draw.line(points, fill=WHITE, width=stroke, joint="curve")
    for x, y in (points[0], points[-1]):
        r = stroke / 2
        draw.ellipse((x - r, y - r, x + r, y + r), fill=WHITE)


def draw_mark(size: int, *, wordmark: bool, rounded: bool) -> Image.Image:
    """The square picture at ``size`` pixels."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if rounded:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=int(big * 0.2), fill=BACKGROUND)
    else:
        draw.rectangle((0, 0, big, big), fill=BACKGROUND)
    glyph = int(big * (0.62 if wordmark else 0.8))
    top = int(big * (0.06 if wordmark else 0.1))
    image.alpha_composite(_wrench(glyph), ((big - glyph) // 2, top))
    check = glyph * 0.46
    cx, cy = big / 2 + glyph * 0.12, top + glyph * 0.62
    _check(draw, (cx - check / 2, cy - check / 2, cx + check / 2, cy + check / 2))
    if wordmark:
        font = _font(int(big * 0.17))
        text = "Fixflow"
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        draw.text(((big - (right - left)) / 2, big * 0.7), text, font=font, fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> int:
    ASSETS.mkdir(parents=True, exist_ok=True)
    draw_mark(512, wordmark=True, rounded=True).save(ASSETS / "icon.png", optimize=True)
    draw_mark(1024, wordmark=True, rounded=False).convert("RGB").save(
        ASSETS / "presplash.png", optimize=True
    )
    print(f"wrote {ASSETS / 'icon.png'} and {ASSETS / 'presplash.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
