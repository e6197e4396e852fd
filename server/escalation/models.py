"""Escalation's own rows: the policies, the steps a work order reached, follow-up tasks."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, VersionMixin


class EscalationPolicy(VersionMixin, Base):
    """The steps of one organisation's priority (docs/escalation.md); a priority without a
    row follows the default chain (server/escalation/policies.py ``DEFAULT_STEPS``)."""

    __tablename__ = "escalation_policies"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    priority: Mapped[str] = mapped_column(String(2), primary_key=True)
    # [{"trigger": "at_risk"|"breached"|<minutes>, "action": ..., "owner": ..., "due_minutes"}]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class TicketEscalation(IdMixin, Base):
    """One step a work order reached. The highest level is its current escalation; only
    that row carries ``next_check_at`` (when the sweep must look at it again)."""

    __tablename__ = "ticket_escalations"
    __table_args__ = (
        UniqueConstraint("ticket_id", "level"),
        Index("ix_ticket_escalations_org_owner", "org_id", "owner_user_id", "due_at"),
        Index(
            "ix_ticket_escalations_next_check",
            "next_check_at",
            postgresql_where=text("next_check_at IS NOT NULL"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(40))  # the step's owner as the policy names it
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(200))
    reached_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    next_check_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # Resolved, closed or cancelled: no further steps (set on the current row).
    ended_at: Mapped[dt.datetime | None]


class FollowupKind(StrEnum):
    COMPLAINT_CALLBACK = "complaint_callback"
    DETRACTOR = "detractor"


class FollowupStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class FollowupTask(IdMixin, VersionMixin, Base):
    """Something a person must do after a work order: call a complaining customer back to
    confirm the fix, or hear out a detractor."""

    __tablename__ = "followup_tasks"
    __table_args__ = (
        UniqueConstraint("org_id", "source_key"),
        Index("ix_followup_tasks_org_status_due", "org_id", "status", "due_at", "id"),
        Index("ix_followup_tasks_org_assignee", "org_id", "assignee_user_id", "status"),
        Index("ix_followup_tasks_ticket", "ticket_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    assignee_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(10), default="open")
    note: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(Text)
    # What made it, for idempotency ("detractor:<response id>"); null for a callback.
    source_key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    completed_at: Mapped[dt.datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(300))
