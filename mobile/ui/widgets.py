"""The app's own widgets: big buttons, text in the theme, the sync bar, the signature pad,
and the question popup. Layout is in widgets.kv."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kivy.event import EventDispatcher
from kivy.graphics import Color, Line
from kivy.metrics import dp
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.recycleview.views import RecycleDataViewBehavior
from kivy.uix.widget import Widget

from mobile.i18n import _
from mobile.ui import theme


class BigButton(Button):
    """A primary action: full width, at least 56 dp tall, white on a strong colour."""

    tone = StringProperty("primary")  # primary, danger, ok, plain


class Heading(Label):
    pass


class Body(Label):
    pass


class Caption(Label):
    pass


class Field(BoxLayout):
    """A label above a text input."""

    label = StringProperty("")
    text = StringProperty("")
    hint = StringProperty("")
    password = BooleanProperty(False)
    multiline = BooleanProperty(False)
    input_filter = ObjectProperty(None, allownone=True)


class Section(BoxLayout):
    title = StringProperty("")


class SyncBarView(ButtonBehavior, BoxLayout):
    """Online/offline, pending changes, last sync, upload progress, what needs attention.
    Always on screen; a tap opens the sync status screen."""

    online = ObjectProperty(None, allownone=True)
    pending = NumericProperty(0)
    last_sync = StringProperty("")
    uploading = StringProperty("")
    attention = NumericProperty(0)
    auth_required = BooleanProperty(False)


class JobFacts(EventDispatcher):
    """What a job row or preview shows of a work order (Today, the pool, the claim preview):
    the properties their kv rules bind to, declared once."""

    number = StringProperty("")
    priority = StringProperty("")
    window = StringProperty("")
    sla = StringProperty("")
    sla_level = StringProperty("")
    customer = StringProperty("")
    site = StringProperty("")
    distance = StringProperty("")


class JobRow(RecycleDataViewBehavior, ButtonBehavior, JobFacts, BoxLayout):
    """A job in a recycled list (only the visible rows exist); a tap opens it."""

    id_ = StringProperty("")
    title = StringProperty("")
    on_open = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        if self.on_open is not None:
            self.on_open(self.id_)


class TodayRow(JobRow):
    """One job in the Today list."""

    status = StringProperty("")
    unsynced = BooleanProperty(False)
    eta = StringProperty("")


class PoolRow(JobRow):
    """One job of the claim pool; a tap opens its preview."""

    skills = StringProperty("")
    minutes = StringProperty("")
    description = StringProperty("")
    asking = BooleanProperty(False)


class PickRow(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):
    """A row of a pick list (parts search, attention list): two lines and a value."""

    key = StringProperty("")
    line1 = StringProperty("")
    line2 = StringProperty("")
    value = StringProperty("")
    on_pick = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        if self.on_pick is not None:
            self.on_pick(self.key)


class SignaturePad(Widget):
    """Draw with a finger; ``strokes`` is the vector form the server keeps (lists of
    [x, y] points in the pad's own coordinates, origin bottom left)."""

    strokes = ListProperty()
    ink_width = NumericProperty(2.2)

    def on_touch_down(self, touch: Any) -> bool:
        if not self.collide_point(*touch.pos):
            return False
        touch.grab(self)
        with self.canvas:
            Color(*theme.INK)
            touch.ud["line"] = Line(points=[*touch.pos], width=dp(self.ink_width))
        self.strokes.append([self._local(touch.pos)])
        return True

    def on_touch_move(self, touch: Any) -> bool:
        if touch.grab_current is not self or "line" not in touch.ud:
            return False
        x, y = self._clamp(touch.pos)
        touch.ud["line"].points += [x, y]
        self.strokes[-1].append(self._local((x, y)))
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is self:
            touch.ungrab(self)
            self.property("strokes").dispatch(self)
            return True
        return False

    def _clamp(self, pos: tuple[float, float]) -> tuple[float, float]:
        x = min(max(pos[0], self.x), self.right)
        y = min(max(pos[1], self.y), self.top)
        return x, y

    def _local(self, pos: tuple[float, float]) -> list[float]:
        return [round(pos[0] - self.x, 1), round(pos[1] - self.y, 1)]

    def clear(self) -> None:
        self.canvas.clear()
        self.strokes = []

    def is_empty(self) -> bool:
        return sum(len(s) for s in self.strokes) < 2

    def strokes_json(self) -> str:
        return json.dumps(self.strokes)


class Ask(ModalView):
    """A question with a text answer and, optionally, a choice (decline reason, hold,
    note). ``on_answer(choice, text)`` is called on OK."""

    title = StringProperty("")
    hint = StringProperty("")
    choices = ListProperty()  # [(value, label), ...]
    choice = StringProperty("")
    require_text = BooleanProperty(True)
    error = StringProperty("")
    on_answer: Callable[[str, str], Any] | None = None

    def ok(self, text: str) -> None:
        """Answer, and close once the answer is taken: when ``on_answer`` returns None
        (the action was refused, ``refuse`` says why) the dialog stays open with what
        was typed, so nothing is lost to a refusal."""
        if self.require_text and not text.strip():
            self.error = _("Please write a reason")
            return
        if self.choices and not self.choice:
            self.error = _("Please choose one")
            return
        taken = self.on_answer(self.choice, text) if self.on_answer is not None else True
        if taken is not None:
            self.dismiss()

    def refuse(self, message: str) -> None:
        self.error = message

    def build_choices(self, holder: Any) -> None:
        from kivy.uix.togglebutton import ToggleButton

        holder.clear_widgets()
        for value, label in self.choices:
            button = ToggleButton(
                text=label,
                group=f"ask-{id(self)}",
                size_hint=(None, None),
                height=dp(theme.TOUCH_DP),
                width=dp(150),
                font_size=dp(theme.BODY_SP),
                state="down" if value == self.choice else "normal",
            )
            button.bind(on_release=lambda b, v=value: setattr(self, "choice", v))
            holder.add_widget(button)
