"""One job as the job screen shows it: the work order with its customer, site, asset and
history, what is reserved for it, its checklist with the current answers, and what has
been recorded on it so far (on the phone, synced or not)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mobile.core.text import shown
from mobile.store import Store
from shared.lifecycle import Action, Status, allowed_actions

Row = dict[str, Any]


@dataclass(frozen=True)
class ChecklistLine:
    """One item to answer: the template's item and the current answer (the last one)."""

    item: Row
    template: str
    answer: Any = None
    answered: bool = False


@dataclass
class JobView:
    work_order: Row
    customer: Row | None
    site: Row | None
    asset: Row | None
    history: list[Row]
    reserved: list[Row]
    checklist: list[ChecklistLine]
    visits: list[Row]
    labour: list[Row]
    parts: list[Row]
    notes: list[Row]
    photos: list[Row]
    signatures: list[Row]
    timer: Row | None
    actions: tuple[Action, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return str(self.work_order["id"])

    @property
    def status(self) -> str:
        return str(self.work_order.get("status") or "")

    @property
    def open_visit(self) -> Row | None:
        """The visit checked in and not yet out (one at a time)."""
        return next((v for v in self.visits if not v.get("check_out_device_at")), None)

    @property
    def warranty_end(self) -> dt.date | None:
        """The asset's last day of warranty; None when there is none or it is unreadable."""
        end = (self.asset or {}).get("warranty_end")
        if not isinstance(end, str):
            return None
        try:
            return dt.date.fromisoformat(end[:10])
        except ValueError:
            return None

    def warranty(self, today: dt.date) -> bool | None:
        """Whether the asset is under warranty today (None: unknown)."""
        end = self.warranty_end
        return None if end is None else end >= today

    @property
    def missing_required(self) -> list[ChecklistLine]:
        return [line for line in self.checklist if line.item.get("required") and not line.answered]

    def can(self, action: Action) -> bool:
        return action in self.actions


def applicable_items(
    templates: list[Row], work_order: Mapping[str, Any], asset: Mapping[str, Any] | None
) -> list[tuple[str, Row]]:
    """The items the work order's checklist asks, as the server decides it
    (server/field/checklists/guard.py): every active template whose ticket type is empty or
    the work order's, and whose product model is empty or the asset's."""
    model = (asset or {}).get("product_model")
    out: list[tuple[str, Row]] = []
    for template in sorted(templates, key=lambda t: (str(t.get("name")), str(t.get("id")))):
        if not template.get("active", True):
            continue
        if template.get("ticket_type") not in (None, "", work_order.get("type")):
            continue
        if template.get("product_model") not in (None, "", model):
            continue
        name = shown(template.get("name"))
        items = template.get("items")
        # An item the phone cannot name (no id) cannot be answered: it is left out.
        out += [
            (name, item)
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and item.get("id")
        ]
    return out


def _checklist(store: Store, wo: Row, asset: Row | None) -> list[ChecklistLine]:
    answers: dict[str, Any] = {}
    for answer in store.children("checklist_answer", str(wo["id"])):
        answers[str(answer.get("item_id"))] = answer.get(
            "value"
        )  # the last one wins (UUIDv7 order)
    lines = []
    for template, item in applicable_items(store.all("checklist_template"), wo, asset):
        key = str(item.get("id"))
        lines.append(ChecklistLine(item, template, answers.get(key), key in answers))
    return lines


def _ref(store: Store, entity: str, id: Any) -> Row | None:
    return store.get(entity, str(id)) if id else None


def job_view(store: Store, work_order_id: str) -> JobView | None:
    """Everything the job screen shows, or None when the job is no longer on the phone."""
    wo = store.get("work_order", work_order_id)
    if wo is None:
        return None
    asset = _ref(store, "asset", wo.get("asset_id"))
    children = {
        name: store.children(name, work_order_id)
        for name in ("visit", "labour_entry", "part_line", "note", "attachment", "signature")
    }
    try:
        actions = allowed_actions(Status(str(wo.get("status"))))
    except ValueError:
        actions = ()
    return JobView(
        work_order=wo,
        customer=_ref(store, "customer", wo.get("customer_id")),
        site=_ref(store, "site", wo.get("site_id")),
        asset=asset,
        history=store.asset_history(str(asset["id"]), exclude=work_order_id) if asset else [],
        reserved=store.reserved_parts(work_order_id),
        checklist=_checklist(store, wo, asset),
        visits=children["visit"],
        labour=[e for e in children["labour_entry"] if not e.get("voided_by")],
        parts=children["part_line"],
        notes=children["note"],
        photos=[a for a in children["attachment"] if a.get("role", "photo") == "photo"],
        signatures=children["signature"],
        timer=store.running_timer(work_order_id),
        actions=actions,
    )
