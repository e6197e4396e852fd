from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from server.field.models import ItemKind, LabourKind, PartAction
from server.parts import Qty
from server.schemas import (
    Accuracy,
    AsciiNumber,
    AuditLabel,
    Input,
    Instant,
    Latitude,
    Longitude,
    Output,
    Text200,
)
from server.tickets import TicketType

Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Serial = Annotated[str, Field(min_length=1, max_length=100)]
_ID = "01935a2e-0000-7000-8000-0000000000"  # example ids

if TYPE_CHECKING:
    from server.field.labour.service import Totals


class GpsIn(Input):
    lat: Latitude
    lon: Longitude
    accuracy_m: Accuracy


# --- visits --------------------------------------------------------------------------------


class CheckInCreate(Input):
    visit_id: uuid.UUID = Field(description="Your own UUIDv7 for the new visit")
    device_time: Instant = Field(description="When the engineer checked in (device clock)")
    gps: GpsIn | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "visit_id": f"{_ID}d1",
                    "device_time": "2026-11-24T09:02:00+08:00",
                    "gps": {"lat": 31.2304, "lon": 121.4737, "accuracy_m": 12},
                }
            ]
        }
    }


class CheckOutIn(Input):
    device_time: Instant
    gps: GpsIn | None = None


class CheckRead(Output):
    device_time: dt.datetime
    received_at: dt.datetime
    clock_offset_s: float = Field(description="Device clock minus server clock, seconds")
    clock_skew: bool
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    distance_m: float | None = Field(description="To the site; null without GPS or site position")
    far_from_site: bool
    recorded_by: AuditLabel


class VisitRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    engineer_id: uuid.UUID
    number: int = Field(description="1 for the first visit of the work order, 2, ...")
    check_in: CheckRead
    check_out: CheckRead | None
    created_by: AuditLabel
    received_at: dt.datetime


# --- labour ----------------------------------------------------------------------------------


class LabourCreate(Input):
    entry_id: uuid.UUID = Field(description="Your own UUIDv7 for the entry")
    kind: LabourKind
    started_at: Instant
    ended_at: Instant
    visit_id: uuid.UUID | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None
    engineer_id: uuid.UUID | None = Field(
        default=None,
        description="Back office only: whose time it is (default: the work order's engineer)",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "entry_id": f"{_ID}e1",
                    "kind": "work",
                    "started_at": "2026-11-24T09:05:00+08:00",
                    "ended_at": "2026-11-24T10:35:00+08:00",
                }
            ]
        }
    }


class LabourVoidCreate(Input):
    void_id: uuid.UUID = Field(description="Your own UUIDv7 for the voiding record")
    reason: Reason


class LabourAdjustCreate(Input):
    adjustment_id: uuid.UUID = Field(description="Your own UUIDv7 for the correcting entry")
    kind: LabourKind | None = Field(default=None, description="Default: the original's kind")
    started_at: Instant
    ended_at: Instant
    reason: Reason
    note: Annotated[str, Field(max_length=2000)] | None = None


LabourState = Literal["active", "voided", "replaced"]


class LabourEntryRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    engineer_id: uuid.UUID
    visit_id: uuid.UUID | None
    kind: LabourKind
    started_at: dt.datetime
    ended_at: dt.datetime
    seconds: int
    note: str | None
    replaces_id: uuid.UUID | None
    reason: str | None
    state: LabourState = Field(description="voided and replaced entries are not counted")
    voided_by_id: uuid.UUID | None
    replaced_by_id: uuid.UUID | None
    approved_at: dt.datetime | None
    approved_by: AuditLabel | None
    recorded_by: AuditLabel
    received_at: dt.datetime


class LabourVoidRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    entry_id: uuid.UUID
    reason: str
    recorded_by: AuditLabel
    received_at: dt.datetime


class LabourTotals(Output):
    by_kind: dict[LabourKind, int] = Field(description="Seconds per kind (active entries)")
    worked_seconds: int = Field(description="travel + work (breaks are not worked time)")
    entries: int
    unapproved: int


class LabourSheet(Output):
    entries: list[LabourEntryRead]
    voids: list[LabourVoidRead]
    totals: LabourTotals


class ApprovalIn(Input):
    """Approve the named entries, or every active entry of one work order."""

    entry_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)] | None = None
    ticket_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one(self) -> ApprovalIn:
        if (self.entry_ids is None) == (self.ticket_id is None):
            raise ValueError("send either entry_ids or ticket_id")
        return self

    model_config = {"json_schema_extra": {"examples": [{"ticket_id": f"{_ID}c1"}]}}


class DayTotals(Output):
    engineer_id: uuid.UUID
    date: dt.date
    timezone: str
    by_kind: dict[LabourKind, int]
    worked_seconds: int
    entries: int


# --- checklists ------------------------------------------------------------------------------

Label = Annotated[str, Field(min_length=1, max_length=500)]
Option = Annotated[str, Field(min_length=1, max_length=200)]
Bound = Annotated[float, Field(ge=-1e12, le=1e12), AsciiNumber]


class ItemIn(Input):
    id: uuid.UUID | None = Field(
        default=None, description="Updates only: an existing item to keep (and its answers)"
    )
    kind: ItemKind
    label: Label
    required: bool = False
    min_value: Bound | None = None
    max_value: Bound | None = None
    unit: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    options: Annotated[list[Option], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _shape(self) -> ItemIn:
        if self.kind is not ItemKind.NUMBER and (
            self.min_value is not None or self.max_value is not None or self.unit is not None
        ):
            raise ValueError("min_value, max_value and unit are for number items")
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError("min_value is above max_value")
        if self.kind is ItemKind.CHOICE:
            if len(self.options) < 2 or len(set(self.options)) != len(self.options):
                raise ValueError("a choice item needs at least two different options")
        elif self.options:
            raise ValueError("options are for choice items")
        return self


class TemplateCreate(Input):
    name: Text200
    ticket_type: TicketType | None = Field(default=None, description="null: every type")
    product_model: Annotated[str, Field(min_length=1, max_length=120)] | None = Field(
        default=None, description="null: any equipment (and work orders without an asset)"
    )
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=200)]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Chiller CH-200 repair",
                    "ticket_type": "repair",
                    "product_model": "CH-200",
                    "items": [
                        {"kind": "yes_no", "label": "Power isolated?", "required": True},
                        {
                            "kind": "number",
                            "label": "Discharge pressure",
                            "unit": "bar",
                            "min_value": 0,
                            "max_value": 40,
                            "required": True,
                        },
                        {"kind": "photo", "label": "Nameplate", "required": True},
                        {"kind": "choice", "label": "Filter", "options": ["clean", "replaced"]},
                    ],
                }
            ]
        }
    }


class TemplateUpdate(Input):
    """Send only what changes. ``items`` replaces the item list: items sent with their
    ``id`` are kept (their kind cannot change), items without one are new, and current items
    left out are retired (their answers stay)."""

    name: Text200 | None = None
    ticket_type: TicketType | None = None
    product_model: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    active: bool | None = None
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=200)] | None = None


class ItemRead(Output):
    id: uuid.UUID
    kind: ItemKind
    label: str
    required: bool
    position: int
    min_value: float | None
    max_value: float | None
    unit: str | None
    options: list[str]


class TemplateRead(Output):
    id: uuid.UUID
    name: str
    ticket_type: TicketType | None
    product_model: str | None
    active: bool
    version: int
    items: list[ItemRead]
    created_at: dt.datetime
    updated_at: dt.datetime


class AnswerCreate(Input):
    answer_id: uuid.UUID = Field(description="Your own UUIDv7 for the answer")
    visit_id: uuid.UUID
    item_id: uuid.UUID
    value: Any = Field(
        description="yes_no: true/false; number: a number in range; text: a string; "
        "choice: one of the options; photo: an attachment id or a list of them"
    )
    device_time: Instant | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "answer_id": f"{_ID}f1",
                    "visit_id": f"{_ID}d1",
                    "item_id": f"{_ID}a9",
                    "value": True,
                }
            ]
        }
    }


class AnswerRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    visit_id: uuid.UUID
    item_id: uuid.UUID
    value: Any
    answered_by: AuditLabel
    device_time: dt.datetime | None
    received_at: dt.datetime


class MissingItem(Output):
    item_id: uuid.UUID
    template_id: uuid.UUID
    template: str
    label: str
    reason: Literal["unanswered", "no_usable_photo"] = Field(
        description="`unanswered`, or `no_usable_photo`: every photo of the current answer "
        "was refused since (answer again with another photo)"
    )


class ChecklistItemView(ItemRead):
    answer: AnswerRead | None


class ChecklistTemplateView(Output):
    id: uuid.UUID
    name: str
    items: list[ChecklistItemView]


class ChecklistView(Output):
    templates: list[ChecklistTemplateView]
    missing: list[MissingItem] = Field(
        description="Required items without an answer, or whose photos were all refused"
    )
    complete: bool


# --- notes, parts used, resolution, summary --------------------------------------------------


class NoteCreate(Input):
    note_id: uuid.UUID = Field(description="Your own UUIDv7 for the note")
    text: Annotated[str, Field(min_length=1, max_length=10_000)]
    visit_id: uuid.UUID | None = None
    device_time: Instant | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"note_id": f"{_ID}n1", "text": "Customer asks for a call first."}]
        }
    }


class NoteRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    visit_id: uuid.UUID | None
    text: str
    author: AuditLabel
    device_time: dt.datetime | None
    received_at: dt.datetime


class PartLineCreate(Input):
    """A part used from the engineer's van (``use``) or taken back into it (``return``)."""

    line_id: uuid.UUID = Field(description="Your own UUIDv7 for the line")
    action: PartAction
    part_id: uuid.UUID
    quantity: Qty
    visit_id: uuid.UUID | None = None
    serial_numbers: Annotated[list[Serial], Field(min_length=1, max_length=500)] | None = None
    removed_serial_numbers: Annotated[list[Serial], Field(min_length=1, max_length=500)] | None = (
        Field(default=None, description="use only: units taken out of the asset")
    )
    removed_condition: Literal["good", "defective"] | None = Field(
        default=None, description="use only: condition of the removed units"
    )
    condition: Literal["good", "defective"] | None = Field(
        default=None, description="return only, required there"
    )

    @model_validator(mode="after")
    def _shape(self) -> PartLineCreate:
        if self.action is PartAction.RETURN:
            if self.condition is None:
                raise ValueError("return needs condition")
            if self.removed_serial_numbers or self.removed_condition:
                raise ValueError("removed_serial_numbers and removed_condition are for use")
        elif self.condition is not None:
            raise ValueError("condition is for return")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "line_id": f"{_ID}p1",
                    "action": "use",
                    "part_id": f"{_ID}a1",
                    "quantity": "1",
                }
            ]
        }
    }


class PartLineRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    visit_id: uuid.UUID | None
    action: PartAction
    part_id: uuid.UUID
    quantity: Decimal
    movement_id: uuid.UUID
    recorded_by: AuditLabel
    received_at: dt.datetime


class ResolutionIn(Input):
    resolution_code: Annotated[str, Field(min_length=1, max_length=40)]
    summary: Annotated[str, Field(min_length=1, max_length=5000)]
    fault_code: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    root_cause: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "resolution_code": "REPLACED_PART",
                    "fault_code": "E31",
                    "root_cause": "Condenser fan relay welded shut",
                    "summary": "Replaced the fan relay, tested 30 min at full load.",
                }
            ]
        }
    }


class FieldSummary(Output):
    ticket_id: uuid.UUID
    status: str
    visit_count: int
    open_visit_id: uuid.UUID | None
    first_time_fix: bool | None = Field(
        description="Resolved on the first visit: null until resolved, or without visits"
    )
    labour: LabourTotals
    checklist_missing: list[MissingItem]
    part_lines: int
    notes: int
    resolution_code: str | None
    fault_code: str | None
    root_cause: str | None
    resolution_summary: str | None


def totals_read(totals: Totals) -> LabourTotals:
    return LabourTotals(
        by_kind=totals.by_kind,
        worked_seconds=totals.worked_seconds,
        entries=totals.entries,
        unapproved=totals.unapproved,
    )
