"""A font with Chinese glyphs for every label: Kivy's default, Roboto, has none.

Without one, each ideograph renders as the same empty box (tofu). ``install_default_font``
puts a CJK font under Kivy's default font name, so every Label and TextInput, whatever its
screen, renders Chinese and English alike (the CJK fonts below have Latin letters too).

Where the font comes from: the phone's own system font (Android, iOS), so the app ships none;
on a desktop, a system font when there is one, else Noto Sans SC from the
``pylopdf_fonts_zh_cn`` package, which the dev extra installs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# A Simplified Chinese face first: a .ttc opens at its first face, and NotoSansCJK's first is
# the Japanese one (its ideographs differ in details a Chinese reader notices).
ANDROID = (
    "/system/fonts/NotoSansSC-Regular.otf",
    "/system/fonts/NotoSansCJK-Regular.ttc",
    "/system/fonts/DroidSansFallbackFull.ttf",
    "/system/fonts/DroidSansFallback.ttf",
)
IOS = (
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Core/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
)
LINUX = (
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
MACOS = (*IOS, "/Library/Fonts/Arial Unicode.ttf")
WINDOWS_FONTS = ("msyh.ttc", "msyh.ttf", "simhei.ttf", "simsun.ttc")
# What font files begin with: TrueType, OpenType (CFF), a collection, old Apple TrueType.
MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"ttcf", b"true")


def _windows() -> tuple[Path, ...]:
    folder = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
    return tuple(folder / name for name in WINDOWS_FONTS)


def packaged_font() -> Path | None:
    """Noto Sans SC from ``pylopdf_fonts_zh_cn``, when that package is installed."""
    try:
        from pylopdf_fonts_zh_cn import sans_path
    except ImportError:  # the phone's build does not ship it: its system font serves
        return None
    return Path(sans_path())


def candidates(platform: str | None = None) -> list[Path]:
    """Where to look, in order, on a platform named as ``kivy.utils.platform`` names it
    (``android``, ``ios``, ``macosx``, ``win``, ``linux``; None: this one)."""
    if platform is None:
        from kivy.utils import platform as current

        platform = str(current)
    if platform == "android":
        found = [Path(p) for p in ANDROID]
    elif platform == "ios":
        found = [Path(p) for p in IOS]
    else:  # a desktop: its own places first, then the others' (a font copied by hand)
        desktops = {"macosx": MACOS, "linux": LINUX}
        first = _windows() if platform == "win" else tuple(map(Path, desktops.get(platform, ())))
        others = [Path(p) for p in (*LINUX, *MACOS)] + list(_windows())
        found = list(first) + [p for p in others if p not in first]
    package = packaged_font()
    return found + ([package] if package else [])


def is_font(path: Path) -> bool:
    """A readable file that starts like a font (not a directory, an empty or a broken file:
    handing one to Kivy would break every label at its first draw)."""
    try:
        with path.open("rb") as fp:
            return fp.read(4) in MAGIC
    except OSError:
        return False


def cjk_font(platform: str | None = None, search: Sequence[Path] | None = None) -> Path | None:
    """The first font with CJK glyphs in ``search`` (default: ``candidates(platform)``)."""
    for path in candidates(platform) if search is None else search:
        if is_font(Path(path)):
            return Path(path)
    return None


def install_default_font(
    platform: str | None = None, search: Sequence[Path] | None = None
) -> Path | None:
    """Register ``cjk_font(platform, search)`` as Kivy's default font, the same file for
    all four styles (bold and italic text then shows in the regular face: Kivy's SDL2 text
    does not embolden, and the system's CJK font has one weight in one file). Returns the
    font, or None when none was found: Chinese then shows as boxes, which is logged."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    font = cjk_font(platform, search)
    if font is None:
        log.warning("no font with Chinese glyphs found; Chinese text will not render")
        return None
    name = str(font)
    LabelBase.register(DEFAULT_FONT, name, name, name, name)
    log.info("default font: %s", name)
    return font
