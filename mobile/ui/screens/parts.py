"""Parts used on the job: search the van stock (and the catalogue) by name, SKU or barcode,
then the quantity, serial numbers and what came out of the equipment."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, DictProperty, StringProperty

from mobile.core.numbers import parse_quantity, quantity_text
from mobile.core.refusals import InputRefused
from mobile.core.text import line, one_line
from mobile.i18n import _, format_quantity
from mobile.ui.screens import FieldScreen, load_kv

load_kv("parts")
MAX_RESULTS = 60


def _serials(text: str) -> list[str]:
    return [s.strip() for s in text.replace(",", "\n").splitlines() if s.strip()]


class PartsScreen(FieldScreen):
    work_order_id = StringProperty("")
    visit_id = StringProperty("")
    query = StringProperty("")
    chosen = DictProperty()
    chosen_label = StringProperty("")
    serialised = BooleanProperty(False)
    error = StringProperty("")

    def show(self, **kwargs: Any) -> None:
        self.work_order_id = kwargs.get("work_order_id", self.work_order_id)
        self.visit_id = kwargs.get("visit_id", self.visit_id)
        self.chosen = {}
        self.error = ""
        self.search(self.query)

    def on_query(self, *args: Any) -> None:
        # Search as the engineer types, once the typing pauses (a scanner types fast).
        if getattr(self, "_pending", None) is not None:
            self._pending.cancel()
        self._pending = Clock.schedule_once(lambda dt: self.search(self.query), 0.15)

    def search(self, query: str) -> None:
        found = self.app.store.search_parts(query, limit=MAX_RESULTS)
        self._found = {str(p["id"]): p for p in found}
        self.ids.results.data = [
            {
                "key": str(p["id"]),
                "line1": line(p.get("name")),
                "line2": line(one_line(p.get("sku"), p.get("barcode"), sep="   ")),
                "value": (
                    _("van {qty}").format(qty=format_quantity(str(p["van_on_hand"])))
                    if p.get("van_on_hand") is not None
                    else _("not in van")
                ),
                "on_pick": self.pick,
            }
            for p in found
        ]

    def on_chosen(self, *args: Any) -> None:
        self.chosen_label = line(one_line(self.chosen.get("name"), self.chosen.get("sku")))
        self.serialised = self.chosen.get("serialised") is True

    def pick(self, part_id: str) -> None:
        self.chosen = dict(self._found.get(part_id) or {})
        self.error = ""
        self.ids.quantity.text = "1"
        self.ids.serials.text = ""
        self.ids.removed.text = ""
        self.ids.took_back.active = False

    def use(self) -> None:
        if not self.chosen:
            self.error = _("Choose a part first")
            return
        try:
            quantity = parse_quantity(self.ids.quantity.text)
        except InputRefused as exc:
            self.error = exc.message
            return
        serialised = self.chosen.get("serialised") is True
        serials = _serials(self.ids.serials.text) if serialised else []
        if serialised and len(serials) != quantity:
            self.error = _("This part is serialised: enter one serial number per unit")
            return
        removed = _serials(self.ids.removed.text) if serialised else []
        done = self.app.act(
            lambda: self.app.work.use_part(
                self.work_order_id,
                part_id=str(self.chosen["id"]),
                quantity=quantity_text(quantity),
                visit_id=self.visit_id or None,
                serials=serials,
                removed_serials=removed,
                removed_condition="defective" if removed else None,
                took_back_old=not serialised and self.ids.took_back.active,
            ),
            refused=self._refused,
        )
        if done is not None:
            self.app.toast(
                _("{qty} × {name} recorded").format(
                    qty=format_quantity(quantity), name=self.chosen_label
                ),
                "ok",
            )
            self.chosen = {}
            self.search(self.query)

    def _refused(self, message: str) -> None:
        self.error = message


SCREEN = PartsScreen
