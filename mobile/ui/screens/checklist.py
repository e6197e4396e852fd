"""The job's checklist (SOP): every item of the templates that apply, with its current
answer; answers are saved together and each is one outbox action."""

from __future__ import annotations

from typing import Any

from kivy.metrics import dp, sp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.spinner import Spinner
from kivy.uix.textinput import TextInput
from kivy.uix.togglebutton import ToggleButton

from mobile.core import ChecklistLine, job_view
from mobile.core.numbers import number_keys, parse_reading
from mobile.core.refusals import InputRefused
from mobile.core.text import clip, shown
from mobile.i18n import _
from mobile.ui import theme
from mobile.ui.screens import FieldScreen, load_kv
from mobile.ui.widgets import BigButton, Body, Caption

load_kv("checklist")
# The item kinds this app can answer (server/field/checklists/service.py).
KINDS = ("yes_no", "number", "text", "choice", "photo")


class ChecklistScreen(FieldScreen):
    work_order_id = StringProperty("")
    visit_id = StringProperty("")
    summary = StringProperty("")

    def show(self, **kwargs: Any) -> None:
        self.work_order_id = kwargs.get("work_order_id", self.work_order_id)
        self.visit_id = kwargs.get("visit_id", self.visit_id)
        self.inputs: dict[str, tuple[ChecklistLine, Any]] = {}
        self.build_items()

    def build_items(self) -> None:
        box = self.ids.item_box
        box.clear_widgets()
        self.inputs = {}
        job = job_view(self.app.store, self.work_order_id)
        if job is None:
            return
        missing = len(job.missing_required)
        self.summary = (
            _("{n} required items still to answer").format(n=missing)
            if missing
            else _("All required items are answered")
        )
        template = None
        for line in job.checklist:
            if line.template != template:
                template = line.template
                box.add_widget(Caption(text=clip(template.upper()), bold=True, color=theme.PRIMARY))
            label = clip(line.item.get("label")) + (" *" if line.item.get("required") else "")
            box.add_widget(Body(text=label))
            widget = self._input(line)
            if not isinstance(widget, Caption):  # a Caption says why there is no input
                self.inputs[str(line.item["id"])] = (line, widget)
            box.add_widget(widget)
        if not job.checklist:
            box.add_widget(Body(text=_("No checklist applies to this job")))

    def _input(self, line: ChecklistLine) -> Any:
        kind, answer = line.item.get("kind"), line.answer
        if kind not in KINDS:
            # A kind added on the server after this app was built: an answer of ours
            # would be refused there, so none is offered.
            return Caption(text=_("This item cannot be answered in this version of the app"))
        if kind == "yes_no":
            row = BoxLayout(size_hint_y=None, height=dp(theme.TOUCH_DP), spacing=dp(8))
            group = f"yn-{line.item['id']}"
            for value, text in ((True, _("Yes")), (False, _("No"))):
                button = ToggleButton(text=text, group=group, font_size=sp(theme.BODY_SP))
                button.value = value
                button.state = "down" if line.answered and answer is value else "normal"
                row.add_widget(button)
            return row
        if kind == "choice":
            options = line.item.get("options")
            values = [clip(o, chars=200) for o in options] if isinstance(options, list) else []
            if not values:
                return Caption(text=_("No options to choose from"))
            return Spinner(
                text=shown(answer) if line.answered else _("Choose…"),
                values=values,
                size_hint_y=None,
                height=dp(theme.TOUCH_DP),
                font_size=sp(theme.BODY_SP),
            )
        if kind == "photo":
            button = BigButton(text=_("Take photo") + (" ✓" if line.answered else ""), tone="plain")
            button.bind(on_release=lambda *_a, item=str(line.item["id"]): self.photo(item))
            return button
        unit = shown(line.item.get("unit"))
        return TextInput(
            text=clip(answer),
            hint_text=unit if kind == "number" else "",
            input_filter=number_keys if kind == "number" else None,
            multiline=kind == "text",
            size_hint_y=None,
            height=dp(96 if kind == "text" else theme.TOUCH_DP),
            font_size=sp(theme.BODY_SP),
        )

    def _value(self, line: ChecklistLine, widget: Any) -> tuple[bool, Any]:
        """(changed, value) of one input; InputRefused when it cannot be an answer."""
        kind = line.item.get("kind")
        if kind == "yes_no":
            down = [b for b in widget.children if b.state == "down"]
            value = down[0].value if down else None
        elif kind == "choice":
            value = widget.text if widget.text in widget.values else None
        elif kind == "photo":
            return False, None
        elif kind == "number":
            text = widget.text.strip()
            value = parse_reading(text, line.item) if text else None
        else:
            value = widget.text.strip() or None
        return value is not None and (not line.answered or value != line.answer), value

    def save(self) -> None:
        changed = []
        for item_id, (line, widget) in self.inputs.items():
            try:
                change, value = self._value(line, widget)
            except InputRefused as exc:
                self.app.toast(exc.message)
                return  # nothing saved: the engineer corrects it and saves again
            if change:
                changed.append((item_id, value))
        saved = 0
        for item_id, value in changed:
            result = self.app.act(
                lambda i=item_id, v=value: self.app.work.answer(
                    self.work_order_id, self.visit_id, i, v
                )
            )
            saved += result is not None
        self.app.toast(_("{n} answers saved").format(n=saved), "ok")
        self.build_items()

    def photo(self, item_id: str) -> None:
        # The job and visit of this tap: the screen may show another one when the camera
        # comes back.
        wid, vid = self.work_order_id, self.visit_id

        async def take() -> None:
            attachment = await self.app.work.photo(wid, visit_id=vid)
            if attachment is not None:
                self.app.work.answer(wid, vid, item_id, attachment)

        self.app.spawn(take(), then=lambda _r: self.build_items(), key="camera")


SCREEN = ChecklistScreen
