from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, VersionMixin


class Channel(StrEnum):
    PHONE = "phone"
    WEB = "web"
    EMAIL = "email"
    IM = "im"
    QR = "qr"
    IOT = "iot"
    API = "api"


class TicketType(StrEnum):
    REPAIR = "repair"
    INSTALLATION = "installation"
    MAINTENANCE = "maintenance"
    INSPECTION = "inspection"
    COMPLAINT = "complaint"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class SlaState(StrEnum):
    NONE = "none"  # no policy applies
    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"  # resolved within target


class BusinessCalendar(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "business_calendars"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["08:00", "18:00"]], "sat": [], ...}; missing days are closed.
    hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSONB)
    holidays: Mapped[list[dt.date]] = mapped_column(ARRAY(Date), default=list)


class SlaPolicy(IdMixin, TimestampMixin, VersionMixin, Base):
    """Targets for one priority; a row with customer_id overrides the org default."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("org_id", "priority", "customer_id", postgresql_nulls_not_distinct=True),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    calendar_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("business_calendars.id"))
    priority: Mapped[str] = mapped_column(String(2))
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class TicketCounter(Base):
    __tablename__ = "ticket_counters"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, default=0)


class Ticket(IdMixin, TimestampMixin, Base):
    """A work order."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        Index("ix_tickets_org_status_created", "org_id", "status", "created_at", "id"),
        Index("ix_tickets_org_created", "org_id", "created_at", "id"),
        # What changed since the KPI refresh last looked (server/reports/refresh.py).
        Index("ix_tickets_org_updated", "org_id", "updated_at"),
        # The work orders marked a repeat of one (its repeat repair, server/reports).
        Index(
            "ix_tickets_org_repeat_of",
            "org_id",
            "repeat_of_id",
            postgresql_where=text("repeat_of_id IS NOT NULL"),
        ),
        Index("ix_tickets_org_assignee_status", "org_id", "assignee_id", "status"),
        Index("ix_tickets_org_resolution_due", "org_id", "resolution_due_at"),
        # Open work, soonest deadline first (sort=resolution_due_at): the expression is the
        # one queries._sort_expr orders by. Without it every open work order is read and
        # sorted (200 ms at 1M rows; see docs/benchmarks.md).
        Index(
            "ix_tickets_org_open_due",
            "org_id",
            text("coalesce(resolution_due_at, '9999-01-01 00:00:00+00'::timestamptz)"),
            "id",
            postgresql_where=text(
                "status IN ('new', 'assigned', 'accepted', 'travelling', 'on_site', 'on_hold')"
            ),
        ),
        Index("ix_tickets_org_customer", "org_id", "customer_id"),
        Index("ix_tickets_org_site", "org_id", "site_id"),
        Index("ix_tickets_org_asset", "org_id", "asset_id"),
        Index(
            "ix_tickets_org_claimable",
            "org_id",
            "created_at",
            postgresql_where=text("open_for_claim AND status = 'new'"),
        ),
        Index("ix_tickets_org_assignee_planned", "org_id", "assignee_id", "planned_start"),
        Index(
            "ix_tickets_sla_next_check",
            "sla_next_check_at",
            postgresql_where=text("sla_next_check_at IS NOT NULL"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))
    channel: Mapped[str] = mapped_column(String(10))
    type: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(20), default="new")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Lower-cased title + description + number for substring search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    fault_code: Mapped[str | None] = mapped_column(String(40))
    # The engineer's findings and what was done (owned by the field side).
    resolution_notes: Mapped[str | None] = mapped_column(Text)
    # The resolution, recorded with it (server/field/service.py resolve): a code from the
    # organisation's list, the root cause found, and the summary the service report shows.
    resolution_code: Mapped[str | None] = mapped_column(String(40))
    root_cause: Mapped[str | None] = mapped_column(Text)
    resolution_summary: Mapped[str | None] = mapped_column(Text)
    required_skills: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    window_start: Mapped[dt.datetime | None]
    window_end: Mapped[dt.datetime | None]
    estimated_minutes: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("engineers.id"))
    repeat_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    # "user:<e-mail>" or "key:<name>": an e-mail can be 254 characters.
    created_by: Mapped[str] = mapped_column(String(300))

    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sla_policies.id"))
    response_due_at: Mapped[dt.datetime | None]
    resolution_due_at: Mapped[dt.datetime | None]
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    # Set while on hold waiting for the customer: the SLA clock is paused.
    on_hold_since: Mapped[dt.datetime | None]
    # Business time spent paused so far; deadlines are recomputed with it.
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    sla_state: Mapped[str] = mapped_column(String(10), default="none")
    # When the SLA sweep must look at this ticket next (null: nothing pending).
    sla_next_check_at: Mapped[dt.datetime | None]
    response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)

    # Dispatch (docs/dispatch.md): the nearest service site, set when the work order is
    # created; open for engineers to claim; pinned (claimed, or confirmed with the customer:
    # a re-plan never moves it); the applied day plan's slot: when the engineer is expected
    # to start (the ETA), finish, the position in their day and the travel before it.
    service_site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_sites.id"))
    open_for_claim: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    planned_start: Mapped[dt.datetime | None]
    planned_end: Mapped[dt.datetime | None]
    plan_position: Mapped[int | None] = mapped_column(Integer)
    planned_travel_seconds: Mapped[int | None] = mapped_column(Integer)

    version: Mapped[int] = mapped_column(Integer, default=1)


class TicketEvent(IdMixin, Base):
    """Append-only audit trail of a work order (a trigger refuses UPDATE/DELETE)."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_created", "ticket_id", "created_at", "id"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(30))
    action: Mapped[str | None] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    actor: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
