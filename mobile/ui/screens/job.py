"""One job: who, where, what, and the actions of the moment at the bottom, in thumb reach."""

from __future__ import annotations

from typing import Any

from kivy.metrics import sp
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from mobile.core import JobView, job_view
from mobile.core.card import job_card
from mobile.device import DeviceError
from mobile.i18n import _
from mobile.ui import theme
from mobile.ui.screens import FieldScreen, load_kv
from mobile.ui.widgets import Ask, BigButton, Body, Caption
from shared.lifecycle import Action

load_kv("job")
# The JobCard texts the screen shows in properties of the same names (kv binds them).
SECTION_TEXTS = (
    "header",
    "customer_name",
    "contact",
    "phone",
    "phone_problem",
    "address",
    "access_notes",
    "asset_line",
    "warranty_text",
    "in_warranty",
    "description",
    "fault_code",
)


def _status_label(status: str) -> str:
    return {
        "new": _("New"),
        "assigned": _("Assigned"),
        "accepted": _("Accepted"),
        "travelling": _("Travelling"),
        "on_site": _("On site"),
        "on_hold": _("On hold"),
        "resolved": _("Resolved"),
        "closed": _("Closed"),
        "cancelled": _("Cancelled"),
    }.get(status) or _("Unknown status ({status})").format(status=status or "—")


class JobScreen(FieldScreen):
    work_order_id = StringProperty("")
    job = ObjectProperty(None, allownone=True)
    header = StringProperty("")
    status_text = StringProperty("")
    gps_state = StringProperty("")
    gps_missing = BooleanProperty(False)
    # What the sections show (kv binds these; no logic in kv).
    customer_name = StringProperty("")
    contact = StringProperty("")
    phone = StringProperty("")
    address = StringProperty("")
    access_notes = StringProperty("")
    asset_line = StringProperty("")
    warranty_text = StringProperty("")
    in_warranty = BooleanProperty(False)
    description = StringProperty("")
    fault_code = StringProperty("")
    phone_problem = StringProperty("")
    can_navigate = BooleanProperty(False)

    def show(self, **kwargs: Any) -> None:
        self.work_order_id = kwargs.get("work_order_id", self.work_order_id)
        self.refresh()

    def refresh(self) -> None:
        if not self.work_order_id or not hasattr(self.app, "store"):
            return
        job = job_view(self.app.store, self.work_order_id)
        self.job = job
        self._gps_state()
        if job is None:
            self.header, self.status_text = _("This job is no longer on your phone"), ""
            self._fill(None)
            return
        self.status_text = _status_label(job.status)
        self.card = job_card(job, self.app.now().astimezone(self.app.tz).date())
        for name in SECTION_TEXTS:
            setattr(self, name, getattr(self.card, name))
        self.can_navigate = self.card.destination is not None
        self._fill(job)

    # --- the content --------------------------------------------------------------------

    def _fill(self, job: JobView | None) -> None:
        for box in ("history", "reserved", "records", "actions", "more"):
            self.ids[box].clear_widgets()
        if job is None:
            return
        card = self.card
        for line in card.history or [_("No earlier work on this asset")]:
            self.ids.history.add_widget(Caption(text=line))
        for line in card.reserved:
            self.ids.reserved.add_widget(Body(text=line))
        if not card.reserved:
            self.ids.reserved.add_widget(Caption(text=_("No parts reserved")))
        for line in card.records:
            self.ids.records.add_widget(Body(text=line))
        self._actions(job)

    # --- the actions --------------------------------------------------------------------

    def _button(self, box: str, text: str, handler: Any, tone: str = "primary") -> None:
        button = BigButton(text=text, tone=tone)
        if box == "more":  # three to a row: the job's details stay in view above them
            button.font_size, button.bold = sp(theme.SMALL_SP + 1), False
        button.bind(on_release=lambda *_a: handler())
        self.ids[box].add_widget(button)

    def _actions(self, job: JobView) -> None:
        visit = job.open_visit
        if job.can(Action.ACCEPT):
            self._button("actions", _("Accept"), self.accept, "ok")
        if job.can(Action.REJECT):
            self._button("actions", _("Decline"), self.decline, "danger")
        if job.can(Action.START_TRAVEL):
            self._button("actions", _("Start travel"), self.start_travel)
        if visit is None and job.status in ("accepted", "travelling", "on_hold", "on_site"):
            self._button("actions", _("Check in"), self.check_in, "ok")
        if visit is not None:
            self._on_site(job, visit)

    def _on_site(self, job: JobView, visit: dict[str, Any]) -> None:
        go = self.app.go
        wid, vid = job.id, str(visit["id"])
        self._button(
            "more",
            _("Checklist"),
            lambda: go("checklist", work_order_id=wid, visit_id=vid),
            "plain",
        )
        self._button("more", _("Take photo"), lambda: self.photo(vid), "plain")
        self._button(
            "more", _("Parts"), lambda: go("parts", work_order_id=wid, visit_id=vid), "plain"
        )
        self._button(
            "more", _("Labour"), lambda: go("labour", work_order_id=wid, visit_id=vid), "plain"
        )
        self._button("more", _("Add note"), lambda: self.note(vid), "plain")
        if job.can(Action.HOLD):
            self._button("more", _("Hold"), self.hold, "plain")
        self._button(
            "more",
            _("Customer signature"),
            lambda: go("signature", work_order_id=wid, visit_id=vid),
            "plain",
        )
        if job.can(Action.RESOLVE):
            self._button("actions", _("Resolve"), lambda: go("resolve", work_order_id=wid), "ok")
        self._button("actions", _("Check out"), lambda: self.check_out(vid))

    def accept(self) -> None:
        self.app.act(lambda: self.app.work.accept(self.work_order_id))

    def decline(self) -> None:
        ask = Ask(title=_("Why do you decline this job?"), hint=_("Reason"))
        ask.on_answer = lambda choice, text: self.app.act(
            lambda: self.app.work.decline(self.work_order_id, text),
            then=lambda _r: self.app.go("today", remember=False),
            refused=ask.refuse,
        )
        ask.open()

    def start_travel(self) -> None:
        self.app.act(lambda: self.app.work.start_travel(self.work_order_id))

    def check_in(self) -> None:
        wid = self.work_order_id
        started = self.app.spawn(
            self.app.work.check_in(wid),
            then=lambda result: self._checked_in(wid, result[1]),
            key=f"visit:{wid}",
        )
        if started is not None:
            self.gps = (wid, "looking", None)
            self._gps_state()

    def _checked_in(self, wid: str, fix: Any) -> None:
        # Kept with its job: shown only while that job is on the screen (the engineer may
        # have gone on to another one meanwhile), and said again in a new language.
        self.gps = (wid, self.app.work.no_fix if fix is None else "fix", fix)
        self._gps_state()

    def _gps_state(self) -> None:
        wid, outcome, fix = getattr(self, "gps", ("", "", None))
        if wid != self.work_order_id or not outcome:
            self.gps_state, self.gps_missing = "", False
            return
        self.gps_missing = outcome not in ("fix", "looking")
        self.gps_state = {
            "looking": _("Getting your position…"),
            "fix": _("Checked in at ±{m} m").format(m=round(fix.accuracy_m) if fix else 0),
            "denied": _("Location permission refused: checked in without a position"),
            "unavailable": _("The GPS is off or unavailable: checked in without a position"),
        }.get(outcome) or _("No GPS fix: checked in without a position")

    def check_out(self, visit_id: str) -> None:
        wid = self.work_order_id
        self.app.spawn(self.app.work.check_out(wid, visit_id), key=f"visit:{wid}")

    def photo(self, visit_id: str) -> None:
        self.app.spawn(self.app.work.photo(self.work_order_id, visit_id=visit_id), key="camera")

    def note(self, visit_id: str) -> None:
        ask = Ask(title=_("Add a note"), hint=_("What did you find or do?"))
        ask.on_answer = lambda choice, text: self.app.act(
            lambda: self.app.work.add_note(self.work_order_id, text, visit_id=visit_id),
            refused=ask.refuse,
        )
        ask.open()

    def hold(self) -> None:
        ask = Ask(
            title=_("Put the job on hold"),
            hint=_("Reason"),
            choices=[("parts", _("Waiting for parts")), ("customer", _("Waiting for customer"))],
        )
        ask.on_answer = lambda choice, text: self.app.act(
            lambda: self.app.work.hold(self.work_order_id, waiting_for=choice, reason=text),
            refused=ask.refuse,
        )
        ask.open()

    def call(self) -> None:
        if not self.phone or self.phone_problem:
            return
        try:
            self.app.device.dialer.call(self.phone)
        except (ValueError, DeviceError):
            self.app.toast(_("The phone could not open the dialler"))

    def navigate(self) -> None:
        to = self.card.destination if self.job else None
        if to is None:
            return
        try:
            self.app.device.maps.navigate(lat=to.lat, lon=to.lon, address=to.address)
        except (ValueError, DeviceError):
            self.app.toast(_("The phone could not open the maps app"))


SCREEN = JobScreen
