"""The customer signs on the glass: the strokes (vectors) and a PNG of them, with the
signer's name, recorded against the job's current status."""

from __future__ import annotations

import io
from typing import Any

from kivy.properties import StringProperty

from mobile.core.text import line
from mobile.core.work import SIGNER_MAX, blank
from mobile.i18n import _
from mobile.ui.screens import FieldScreen, load_kv

load_kv("signature")


class SignatureScreen(FieldScreen):
    work_order_id = StringProperty("")
    visit_id = StringProperty("")
    error = StringProperty("")

    def show(self, **kwargs: Any) -> None:
        self.work_order_id = kwargs.get("work_order_id", self.work_order_id)
        self.visit_id = kwargs.get("visit_id", self.visit_id)
        self.error = ""
        self.ids.pad.clear()
        customer = self._customer_contact()
        self.ids.signer.text = customer

    def _customer_contact(self) -> str:
        wo = self.app.store.get("work_order", self.work_order_id) or {}
        customer = self.app.store.get("customer", str(wo.get("customer_id"))) or {}
        return line(customer.get("contact_name"), SIGNER_MAX)

    def png(self) -> bytes:
        image = self.ids.pad.export_as_image()
        out = io.BytesIO()
        image.save(out, fmt="png")
        return out.getvalue()

    def save(self) -> None:
        pad, name = self.ids.pad, self.ids.signer.text
        if pad.is_empty():
            self.error = _("Ask the customer to sign in the box first")
            return
        if blank(name):
            self.error = _("Enter the signer's name")
            return
        done = self.app.act(
            lambda: self.app.work.signature(
                self.work_order_id,
                png=self.png(),
                strokes=[list(map(list, s)) for s in pad.strokes],
                signer_name=name,
                visit_id=self.visit_id or None,
            ),
            refused=self._refused,
        )
        if done is not None:
            self.app.toast(_("Signature saved"), "ok")
            self.app.back()

    def _refused(self, message: str) -> None:
        self.error = message


SCREEN = SignatureScreen
