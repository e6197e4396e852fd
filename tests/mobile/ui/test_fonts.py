"""Chinese renders as Chinese, checked on pixels, not by eye.

Text is drawn with Kivy's own text renderer (``kivy.core.text.Label``) and the bitmaps are
compared: with a CJK font two different ideographs draw differently, and neither draws like a
character the font lacks (its .notdef box, "tofu"). The same comparison with Kivy's bundled
Roboto finds every ideograph drawn as the one box: so the check does catch the failure it is
there for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kivy import kivy_data_dir
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.text import Label as CoreLabel
from kivy.uix.label import Label

from mobile.ui.fonts import (
    ANDROID,
    IOS,
    LINUX,
    candidates,
    cjk_font,
    install_default_font,
    is_font,
    packaged_font,
)

pytestmark = pytest.mark.usefixtures("window")

ROBOTO = Path(kivy_data_dir) / "fonts" / "Roboto-Regular.ttf"
WORK, SINGLE = "工", "单"  # the two halves of 工单, a work order
LACKED = ("\ue000", "\U0010fffd")  # private use: no font has a glyph there
Bitmap = tuple[tuple[int, int], bytes]


def bitmap(text: str, font: Path | None = None) -> Bitmap:
    """The RGBA pixels Kivy draws ``text`` with, in ``font`` or in the default font."""
    options = {"font_name": str(font)} if font else {}
    label = CoreLabel(text=text, font_size=48, **options)
    label.refresh()
    return tuple(label.texture.size), bytes(label.texture.pixels)


def inked(drawn: Bitmap) -> int:
    """How many pixels the text covers."""
    return sum(1 for alpha in drawn[1][3::4] if alpha)


def test_ideographs_render_as_themselves_with_the_cjk_font() -> None:
    font = cjk_font()
    assert font is not None, "no CJK font: is pylopdf-fonts-zh-cn installed (make install)?"
    work, single = bitmap(WORK, font), bitmap(SINGLE, font)
    assert inked(work) > 100 and inked(single) > 100
    assert work != single
    for lacked in LACKED:
        tofu = bitmap(lacked, font)
        assert work != tofu and single != tofu, f"an ideograph drew like {lacked!r}"


def test_the_check_has_teeth_roboto_draws_every_ideograph_as_one_box() -> None:
    work, single = bitmap(WORK, ROBOTO), bitmap(SINGLE, ROBOTO)
    assert inked(work) > 0  # a box, not nothing
    assert work == single == bitmap(LACKED[0], ROBOTO)
    assert bitmap("A", ROBOTO) != bitmap("B", ROBOTO)  # what Roboto has, it draws


@pytest.fixture
def default_font() -> Iterator[None]:
    """Start from Kivy's own default (Roboto: the app, built earlier in this process, may
    have installed the CJK font already) and put back what was there afterwards."""
    saved = LabelBase._fonts[DEFAULT_FONT]
    LabelBase.register(DEFAULT_FONT, str(ROBOTO))
    yield
    LabelBase.register(DEFAULT_FONT, *saved)


@pytest.mark.usefixtures("default_font")
def test_installing_the_default_font_makes_every_label_render_chinese() -> None:
    def widget(text: str) -> Bitmap:
        label = Label(text=text, font_size=48)
        label.texture_update()
        return tuple(label.texture.size), bytes(label.texture.pixels)

    assert widget(WORK) == widget(SINGLE)  # Roboto: tofu

    installed = install_default_font()

    assert installed == cjk_font()
    assert LabelBase._fonts[DEFAULT_FONT] == (str(installed),) * 4
    assert widget(WORK) != widget(SINGLE)
    assert bitmap(WORK) != bitmap(LACKED[1])
    assert inked(widget("Fixflow")) > 0  # and Latin still draws


@pytest.mark.usefixtures("default_font")
def test_no_font_found_installs_nothing(tmp_path: Path) -> None:
    before = LabelBase._fonts[DEFAULT_FONT]
    assert install_default_font(search=[tmp_path / "none.ttf"]) is None
    assert LabelBase._fonts[DEFAULT_FONT] == before


def fake_font(path: Path, magic: bytes) -> Path:
    path.write_bytes(magic + bytes(60))
    return path


def test_cjk_font_takes_the_first_real_font_in_search_order(tmp_path: Path) -> None:
    folder = tmp_path / "folder.ttf"
    folder.mkdir()
    empty = tmp_path / "empty.ttf"
    empty.touch()
    text = tmp_path / "notes.ttf"
    text.write_text("not a font")
    otf = fake_font(tmp_path / "a.otf", b"OTTO")
    ttc = fake_font(tmp_path / "b.ttc", b"ttcf")
    ttf = fake_font(tmp_path / "c.ttf", b"\x00\x01\x00\x00")

    skipped = [tmp_path / "missing.ttc", folder, empty, text]
    assert cjk_font(search=[*skipped, otf, ttc]) == otf
    assert cjk_font(search=[ttc, otf]) == ttc
    assert cjk_font(search=[*skipped, ttf]) == ttf
    assert cjk_font(search=skipped) is None
    assert cjk_font(search=[]) is None


def test_each_platform_looks_in_its_own_places_first_then_the_package() -> None:
    package = packaged_font()
    assert package is not None and is_font(package)
    android = candidates("android")
    assert android == [*map(Path, ANDROID), package]
    assert android.index(Path("/system/fonts/NotoSansCJK-Regular.ttc")) < android.index(
        Path("/system/fonts/DroidSansFallback.ttf")
    )
    assert candidates("ios") == [*map(Path, IOS), package]
    linux = candidates("linux")
    assert linux[: len(LINUX)] == list(map(Path, LINUX)) and linux[-1] == package
    assert Path("/System/Library/Fonts/PingFang.ttc") in linux  # a font copied by hand
    assert candidates("macosx")[0] == Path("/System/Library/Fonts/PingFang.ttc")
    windows = candidates("win")
    assert windows[0].name == "msyh.ttc" and windows[-1] == package


def test_windows_fonts_are_found_under_windir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDIR", os.path.join("D:", "Win"))
    assert candidates("win")[0] == Path("D:", "Win", "Fonts", "msyh.ttc")


def test_a_machine_without_a_system_cjk_font_falls_back_to_noto_sans_sc() -> None:
    if any(is_font(path) for path in candidates("android")[:-1]):
        pytest.skip("this machine has an Android system font")
    package = packaged_font()
    assert package is not None and package.name == "NotoSansSC-Regular.otf"
    assert cjk_font("android") == package
