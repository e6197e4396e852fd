"""The desktop's camera: a file picker popup for a photo (``mobile.device.DesktopCamera``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kivy.metrics import dp, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.filechooser import FileChooserListView
from kivy.uix.modalview import ModalView

from mobile.i18n import _
from mobile.ui import theme
from mobile.ui.widgets import BigButton, Heading

PHOTO_PATTERNS = ["*.jpg", "*.jpeg", "*.png", "*.webp", "*.heic", "*.JPG", "*.JPEG", "*.PNG"]


async def pick_photo(start: Path | None = None) -> Path | None:
    """Ask for a photo file; None when the engineer cancels."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[Path | None] = loop.create_future()
    view = ModalView(size_hint=(0.96, 0.9), auto_dismiss=False)
    box = BoxLayout(orientation="vertical", padding=dp(10), spacing=dp(8))
    box.add_widget(Heading(text=_("Choose a photo")))
    chooser = FileChooserListView(
        path=str(start or Path.home()), filters=PHOTO_PATTERNS, font_size=sp(theme.BODY_SP)
    )
    box.add_widget(chooser)
    buttons = BoxLayout(size_hint_y=None, height=dp(theme.TOUCH_DP), spacing=dp(8))

    def done(path: Path | None) -> None:
        view.dismiss()
        if not answer.done():
            answer.set_result(path)

    cancel = BigButton(text=_("Cancel"), tone="plain")
    cancel.bind(on_release=lambda *_a: done(None))
    use = BigButton(text=_("Use photo"))
    use.bind(on_release=lambda *_a: done(Path(chooser.selection[0]) if chooser.selection else None))
    buttons.add_widget(cancel)
    buttons.add_widget(use)
    box.add_widget(buttons)
    view.add_widget(box)
    view.open()
    return await answer
