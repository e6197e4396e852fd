"""Time on the job: the running timer (travel or work), manual entries, and corrections
(a correction is a new entry replacing the old one; nothing is edited in place)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from mobile.core.numbers import parse_clock
from mobile.core.refusals import InputRefused
from mobile.i18n import _, format_duration
from mobile.ui.screens import FieldScreen, load_kv
from mobile.ui.widgets import Ask, PickRow
from shared.times import InstantError, parse_instant

load_kv("labour")
KINDS = ("travel", "work", "break")


def kind_label(kind: str) -> str:
    return {"travel": _("Travel"), "work": _("Work"), "break": _("Break")}.get(kind, kind)


class LabourScreen(FieldScreen):
    work_order_id = StringProperty("")
    visit_id = StringProperty("")
    timer_kind = StringProperty("")
    elapsed = StringProperty("")
    running = BooleanProperty(False)
    kind = StringProperty("work")
    editing = StringProperty("")  # the entry being corrected
    error = StringProperty("")

    def show(self, **kwargs: Any) -> None:
        self.work_order_id = kwargs.get("work_order_id", self.work_order_id)
        self.visit_id = kwargs.get("visit_id", self.visit_id)
        self.editing, self.error = "", ""
        self.editing_day: dt.date | None = None
        self.editing_kind = ""
        self.refresh()

    def refresh(self) -> None:
        if not self.work_order_id:
            return
        self.tick()
        entries = [
            e
            for e in self.app.store.children("labour_entry", self.work_order_id)
            if not e.get("voided_by") and not e.get("replaced_by")
        ]
        box = self.ids.entries
        box.clear_widgets()
        for entry in entries:
            start, end = self._local(entry.get("started_at")), self._local(entry.get("ended_at"))
            seconds = (end - start).total_seconds() if start and end else 0
            row = PickRow(
                key=str(entry["id"]),
                line1=f"{kind_label(str(entry.get('kind')))}  {format_duration(seconds)}",
                line2=f"{start:%H:%M}–{end:%H:%M}" if start and end else "",
                value=_("Correct"),
                size_hint_y=None,
                height=64,
            )
            row.on_pick = self.correct
            box.add_widget(row)

    def _local(self, value: Any) -> dt.datetime | None:
        try:
            return parse_instant(value).astimezone(self.app.tz)
        except InstantError:  # none, or one the server should not have sent
            return None

    def tick(self) -> None:
        timer = self.app.store.running_timer(self.work_order_id) if self.work_order_id else None
        self.running = timer is not None
        if timer is None:
            self.timer_kind, self.elapsed = "", ""
            return
        started = parse_instant(str(timer["started_at"]))
        self.timer_kind = kind_label(str(timer["kind"]))
        self.elapsed = format_duration((self.app.now() - started).total_seconds())

    def start(self, kind: str) -> None:
        self.app.act(
            lambda: self.app.work.start_timer(
                self.work_order_id, kind, visit_id=self.visit_id if kind == "work" else None
            )
        )

    def stop(self) -> None:
        self.app.act(lambda: self.app.work.stop_timer(self.work_order_id))

    def _span(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The typed times on the day of the entry being corrected (today for a new one)."""
        day = self.editing_day or self.app.now().astimezone(self.app.tz).date()
        try:
            start = parse_clock(self.ids.start.text)
            end = parse_clock(self.ids.end.text)
        except InputRefused as exc:
            self.error = exc.message
            return None
        begin = dt.datetime.combine(day, start, self.app.tz)
        finish = dt.datetime.combine(day, end, self.app.tz)
        if finish <= begin:
            self.error = _("The end must be after the start")
            return None
        return begin, finish

    def add(self) -> None:
        span = self._span()
        if span is None:
            return
        self.error = ""
        if self.editing:
            self._correct_as(self.editing, *span)
            return
        self.app.act(
            lambda: self.app.work.add_labour(
                self.work_order_id,
                kind=self.kind,
                started_at=span[0],
                ended_at=span[1],
                visit_id=self.visit_id or None,
            ),
            then=lambda _r: self._added(),
            refused=self._refused,
        )

    def _correct_as(self, entry: str, begin: dt.datetime, finish: dt.datetime) -> None:
        kind = self.kind if self.kind != self.editing_kind else None
        ask = Ask(title=_("Why is this entry corrected?"), hint=_("Reason"))
        ask.on_answer = lambda choice, text: self.app.act(
            lambda: self.app.work.correct_labour(
                entry, started_at=begin, ended_at=finish, reason=text, kind=kind
            ),
            then=lambda _r: self.show(),
            refused=ask.refuse,
        )
        ask.open()

    def _added(self) -> None:
        # Cleared, so a second tap does not record the same span twice.
        self.ids.start.text = self.ids.end.text = ""
        self.refresh()

    def _refused(self, message: str) -> None:
        self.error = message

    def correct(self, entry_id: str) -> None:
        entry = self.app.store.get("labour_entry", entry_id) or {}
        start, end = self._local(entry.get("started_at")), self._local(entry.get("ended_at"))
        self.editing = entry_id
        self.editing_day = start.date() if start else None
        self.kind = self.editing_kind = str(entry.get("kind") or "work")
        self.ids.start.text = f"{start:%H:%M}" if start else ""
        self.ids.end.text = f"{end:%H:%M}" if end else ""


SCREEN = LabourScreen
