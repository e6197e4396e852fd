"""A job of the pool before claiming it: what, where, when, how far, which skills; one big
Claim button under the thumb. The answer is the server's, now: yours (on to Today), taken
by another engineer (said plainly, never who), closed, or no connection (nothing queued)."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from mobile.core import ClaimAnswer, claim_job, pool_item
from mobile.core.pool import no_answer
from mobile.ui.screens import FieldScreen, load_kv
from mobile.ui.widgets import JobFacts

load_kv("claim")


class ClaimScreen(JobFacts, FieldScreen):
    work_order_id = StringProperty("")
    title_text = StringProperty("")
    skills = StringProperty("")
    minutes = StringProperty("")
    description = StringProperty("")
    claiming = BooleanProperty(False)
    gone = BooleanProperty(False)  # it left the pool while shown (a sync said so)
    answer = StringProperty("")

    def show(self, **kwargs: Any) -> None:
        if "work_order_id" in kwargs:
            self.work_order_id = str(kwargs["work_order_id"])
            self.answer, self.number, self.gone = "", "", False
        self.refresh()

    def refresh(self) -> None:
        if not self.app or not hasattr(self.app, "work") or not self.work_order_id:
            return
        item = pool_item(
            self.app.store,
            self.work_order_id,
            now=self.app.now(),
            tz=self.app.tz,
            here=self.app.work.last_fix,
        )
        if item is None:
            # It left the pool: what was shown stays, with the answer that says why.
            self.gone = bool(self.number)
            return
        self.gone = False
        if item.asking and not self.answer and not self.claiming:
            # Asked before without an answer: claiming again is the same request.
            self.answer = no_answer(item.number)
        self.number, self.title_text, self.priority = item.number, item.title, item.priority
        self.window, self.sla, self.sla_level = item.window, item.sla, item.sla_level
        self.customer, self.site, self.distance = item.customer, item.site, item.distance
        self.skills, self.minutes, self.description = item.skills, item.minutes, item.description

    def claim(self) -> None:
        """One claim at a time (a second tap while it is asked is not a second claim)."""
        if self.claiming:
            return
        self.claiming = True
        work_order_id = self.work_order_id
        task = self.app.spawn(
            claim_job(self.app.session, self.app.store, work_order_id),
            then=lambda answer: self._answered(work_order_id, answer),
            key=f"claim:{work_order_id}",
        )
        if task is None:
            self.claiming = False
        else:
            task.add_done_callback(lambda _t: setattr(self, "claiming", False))

    def _answered(self, work_order_id: str, answer: ClaimAnswer) -> None:
        self.app.toast(answer.message, answer.level)
        if answer.yours:
            if self.app.store.get("work_order", work_order_id) is not None:
                self.app.go("job", remember=False, work_order_id=work_order_id)
            else:  # the sync after the claim did not get through: it comes with the next
                self.app.go("today", remember=False)
            return
        self.answer = answer.message
        if self.app.store.get("claimable", work_order_id) is None:
            self.app.go("pool", remember=False)


SCREEN = ClaimScreen
