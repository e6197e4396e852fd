"""Resolve the job: the resolution code, the fault found and a summary for the customer's
service report. Required checklist items must be answered first (the server's rule)."""

from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty, StringProperty

from mobile.core import job_view
from mobile.core.text import clip, shown
from mobile.core.work import blank
from mobile.i18n import _
from mobile.ui.screens import FieldScreen, load_kv

load_kv("resolve")
# Codes an organisation starts with; the server keeps whatever code is sent (40 characters).
RESOLUTION_CODES = ("FIXED", "REPLACED_PART", "ADJUSTED", "NO_FAULT_FOUND", "WORKAROUND")


def code_labels() -> list[tuple[str, str]]:
    return [
        ("FIXED", _("Fixed")),
        ("REPLACED_PART", _("Part replaced")),
        ("ADJUSTED", _("Adjusted / calibrated")),
        ("NO_FAULT_FOUND", _("No fault found")),
        ("WORKAROUND", _("Temporary workaround")),
    ]


class ResolveScreen(FieldScreen):
    work_order_id = StringProperty("")
    code = StringProperty("")
    codes = ListProperty()
    error = StringProperty("")
    missing = StringProperty("")

    def show(self, **kwargs: Any) -> None:
        self.work_order_id = kwargs.get("work_order_id", self.work_order_id)
        self.codes = code_labels()
        self.error = ""
        job = job_view(self.app.store, self.work_order_id)
        wo = job.work_order if job else {}
        self.code = shown(wo.get("resolution_code"))
        self.ids.fault_code.text = shown(wo.get("fault_code"))
        self.ids.fault_found.text = shown(wo.get("root_cause"))
        self.ids.summary.text = shown(wo.get("resolution_summary"))
        gaps = job.missing_required if job else []
        self.missing = (
            _("Answer these checklist items first: {items}").format(
                items=clip(", ".join(shown(line.item.get("label")) or "—" for line in gaps))
            )
            if gaps
            else ""
        )

    def resolve(self) -> None:
        if self.missing:
            self.error = self.missing
            return
        if not self.code:
            self.error = _("Choose a resolution code")
            return
        if blank(self.ids.summary.text):
            self.error = _("Write a short summary of what was done")
            return
        done = self.app.act(
            lambda: self.app.work.resolve(
                self.work_order_id,
                resolution_code=self.code,
                summary=self.ids.summary.text,
                fault_found=self.ids.fault_found.text,
                fault_code=self.ids.fault_code.text,
            ),
            refused=self._refused,
        )
        if done is not None:
            self.app.toast(_("Job resolved. Check out when you leave."), "ok")
            self.app.back()

    def _refused(self, message: str) -> None:
        self.error = message


SCREEN = ResolveScreen
