"""Field records: what an engineer does on a work order, kept as append-only facts.

Every table here but the checklist templates is insert-only (a trigger refuses UPDATE and
DELETE): a correction is a new row (a labour void or adjustment, a later checklist
answer), never an edit. Rows the phone creates carry the phone's own UUIDv7 as their id,
so creating twice is creating once (server/field/service.py). Each row keeps the device's
time (business data) beside the server's receipt time (``received_at``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class CheckKind(StrEnum):
    IN = "in"
    OUT = "out"


class LabourKind(StrEnum):
    TRAVEL = "travel"
    WORK = "work"
    BREAK = "break"


class ItemKind(StrEnum):
    YES_NO = "yes_no"
    NUMBER = "number"
    TEXT = "text"
    PHOTO = "photo"
    CHOICE = "choice"


class PartAction(StrEnum):
    USE = "use"  # consumed from the engineer's van onto the work order's site
    RETURN = "return"  # taken back from the site into the van (good or defective)


class Visit(Base):
    """One trip to the work order's site: the n-th visit, by the engineer assigned then.
    Its check-in and check-out are ``VisitCheck`` rows."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("ticket_id", "number"),
        Index("ix_visits_org_engineer", "org_id", "engineer_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the phone's visit id
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    engineer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("engineers.id"))
    number: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[dt.datetime]


class VisitCheck(Base):
    """A check-in or check-out: the device's time and position, what the server made of
    them (distance to the site, clock offset) and the flags a dispatcher reviews."""

    __tablename__ = "visit_checks"
    __table_args__ = (
        CheckConstraint("kind IN ('in', 'out')", name="kind"),
        Index("ix_visit_checks_org_received", "org_id", "received_at"),
    )

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(3), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    device_time: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime]
    # Device clock minus server clock, in seconds, as estimated at receipt.
    clock_offset_s: Mapped[float] = mapped_column(Float)
    clock_skew: Mapped[bool] = mapped_column(Boolean)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    far_from_site: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[str] = mapped_column(String(300))


class LabourEntry(Base):
    """Time spent travelling, working or on a break. An adjustment is a new entry that
    ``replaces`` an earlier one (which then no longer counts)."""

    __tablename__ = "labour_entries"
    __table_args__ = (
        CheckConstraint("ended_at > started_at", name="ends_after_start"),
        CheckConstraint("kind IN ('travel', 'work', 'break')", name="kind"),
        UniqueConstraint("replaces_id"),
        Index("ix_labour_entries_org_engineer_started", "org_id", "engineer_id", "started_at"),
        # What was recorded since the KPI refresh last looked (server/reports/refresh.py).
        Index("ix_labour_entries_org_received", "org_id", "received_at"),
        Index("ix_labour_entries_ticket", "ticket_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the phone's entry id
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    engineer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("engineers.id"))
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visits.id"))
    kind: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[dt.datetime]  # device times
    ended_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("labour_entries.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # why an adjustment was made
    recorded_by: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[dt.datetime]


class LabourVoid(Base):
    """Takes a labour entry out of the totals (the entry itself stays)."""

    __tablename__ = "labour_voids"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the phone's void id
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("labour_entries.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[dt.datetime]


class LabourApproval(Base):
    """A dispatcher's or admin's approval of one labour entry (for payroll)."""

    __tablename__ = "labour_approvals"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("labour_entries.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    approved_by: Mapped[str] = mapped_column(String(300))
    approved_at: Mapped[dt.datetime]


class ChecklistTemplate(IdMixin, TimestampMixin, Base):
    """An SOP checklist. It applies to a work order when its ``ticket_type`` and
    ``product_model`` (each optional) match the work order's type and its asset's model."""

    __tablename__ = "checklist_templates"
    __table_args__ = (Index("ix_checklist_templates_org_active", "org_id", "active"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    ticket_type: Mapped[str | None] = mapped_column(String(20))
    product_model: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ChecklistItem(IdMixin, Base):
    """One question of a template. Items are never deleted: one left out of a template's
    new item list is retired (answers keep pointing at it; it is no longer asked)."""

    __tablename__ = "checklist_items"
    __table_args__ = (
        CheckConstraint("kind IN ('yes_no', 'number', 'text', 'photo', 'choice')", name="kind"),
        Index("ix_checklist_items_template", "template_id", "position"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklist_templates.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(500))
    required: Mapped[bool] = mapped_column(Boolean)
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(20))
    options: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    retired_at: Mapped[dt.datetime | None]


class ChecklistAnswer(Base):
    """An answer to one item during one visit. The item's current answer on the work order
    is the last one received (``seq``: server receipt order, never the device's clock)."""

    __tablename__ = "checklist_answers"
    __table_args__ = (
        Index("ix_checklist_answers_ticket_item_seq", "ticket_id", "item_id", "seq"),
        Index("ix_checklist_answers_visit", "visit_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the phone's answer id
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id"))
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklist_items.id"))
    value: Mapped[Any] = mapped_column(JSONB)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    answered_by: Mapped[str] = mapped_column(String(300))
    device_time: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]

    __mapper_args__ = {"eager_defaults": True}


class TicketNote(Base):
    """A note on a work order (optionally from a visit): internal, append-only."""

    __tablename__ = "ticket_notes"
    __table_args__ = (Index("ix_ticket_notes_ticket_received", "ticket_id", "received_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the phone's note id
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visits.id"))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(300))
    device_time: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]


class FieldPartLine(Base):
    """A part used on (or taken back from) a work order, as the phone reported it: its
    line id maps to the ledger movement it produced, so a retried report moves no stock
    twice. ``request`` is what was asked (compared when the same line id comes again)."""

    __tablename__ = "field_part_lines"
    __table_args__ = (
        CheckConstraint("action IN ('use', 'return')", name="action"),
        Index("ix_field_part_lines_ticket", "ticket_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the phone's line id
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visits.id"))
    action: Mapped[str] = mapped_column(String(10))
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    # The first ledger line it wrote (serialised parts write one line per unit).
    movement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_movements.id"))
    request: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_by: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[dt.datetime]
