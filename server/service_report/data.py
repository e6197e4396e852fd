"""What a service report shows: plain data, already filtered for the customer's eyes.

Everything here may be printed. Internal data never gets into this tree: costs (the
customer sees prices), GPS positions (only whether the engineer was at the site), clock
offsets, internal notes, labour approvals, audit actors, other customers' anything.
Times are aware datetimes (UTC); the renderer shows them in ``time_zone``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class CustomerInfo:
    name: str
    contact_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class SiteInfo:
    name: str
    address: str


@dataclass(frozen=True)
class AssetInfo:
    product_model: str
    serial_number: str
    name: str | None = None
    install_date: dt.date | None = None
    warranty_end: dt.date | None = None
    # Under warranty on the day the work order was reported (None: no warranty recorded).
    under_warranty: bool | None = None


@dataclass(frozen=True)
class Timeline:
    created_at: dt.datetime
    first_response_at: dt.datetime | None = None
    arrived_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


@dataclass(frozen=True)
class VisitLine:
    number: int
    engineer: str
    check_in: dt.datetime
    check_out: dt.datetime | None = None
    # Whether the check-in/out position was near the site: True at the site, False away
    # from it, None without a usable position. Never the position itself.
    in_at_site: bool | None = None
    out_at_site: bool | None = None


@dataclass(frozen=True)
class WorkDone:
    resolution_code: str | None = None
    fault_code: str | None = None
    root_cause: str | None = None
    summary: str | None = None
    notes: str | None = None  # the engineer's findings (the work order's resolution_notes)


@dataclass(frozen=True)
class ChecklistLine:
    label: str
    kind: str  # yes_no, number, text, photo, choice
    value: Any = None  # the current answer (None: not answered)
    unit: str | None = None
    required: bool = False


@dataclass(frozen=True)
class ChecklistSection:
    name: str
    lines: list[ChecklistLine] = field(default_factory=list)


@dataclass(frozen=True)
class PartLine:
    sku: str
    name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    total: Decimal
    serial_numbers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RemovedPart:
    """A unit taken out of the equipment (a defective return): listed, never charged."""

    sku: str
    name: str
    quantity: Decimal
    serial_numbers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LabourLine:
    kind: str  # travel, work, break
    engineer: str
    started_at: dt.datetime
    ended_at: dt.datetime

    @property
    def seconds(self) -> int:
        return int((self.ended_at - self.started_at).total_seconds())


@dataclass(frozen=True)
class Picture:
    """An image ready to print: re-encoded (no metadata) and reduced in size."""

    data: bytes  # JPEG or PNG
    width: int
    height: int


@dataclass(frozen=True)
class Photo:
    picture: Picture
    caption: str | None = None
    captured_at: dt.datetime | None = None


@dataclass(frozen=True)
class SignatureInfo:
    signer_name: str
    signed_status: str  # the work-order status the customer signed
    signed_at: dt.datetime | None  # the device's time of signing (else when it was received)
    picture: Picture | None = None  # the signature image, once its bytes are here
    # Without the image, the strokes are drawn: [[[x, y], [x, y, t], ...], ...].
    strokes: list[list[list[float]]] = field(default_factory=list)


@dataclass(frozen=True)
class ReportData:
    org_name: str
    time_zone: str
    number: str  # WO-000123
    status: str
    type: str
    priority: str
    customer: CustomerInfo
    problem_title: str
    timeline: Timeline
    generated_at: dt.datetime
    problem_description: str = ""
    site: SiteInfo | None = None
    asset: AssetInfo | None = None
    engineer: str | None = None
    visits: list[VisitLine] = field(default_factory=list)
    work: WorkDone = field(default_factory=WorkDone)
    checklist: list[ChecklistSection] = field(default_factory=list)
    parts: list[PartLine] = field(default_factory=list)
    removed_parts: list[RemovedPart] = field(default_factory=list)
    labour: list[LabourLine] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)
    photos_not_shown: int = 0  # beyond the report's limit, or not uploaded yet
    signatures: list[SignatureInfo] = field(default_factory=list)

    @property
    def parts_total(self) -> Decimal:
        return sum((line.total for line in self.parts), Decimal("0.00"))

    def labour_seconds(self) -> dict[str, int]:
        """Seconds per kind (travel, work, break)."""
        out = {"travel": 0, "work": 0, "break": 0}
        for line in self.labour:
            out[line.kind] = out.get(line.kind, 0) + line.seconds
        return out
