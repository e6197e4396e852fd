"""Dispatch's own rows: declines, the auto-assign rules and the day plans."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, VersionMixin


class Decline(Base):
    """An engineer declined (rejected) a work order: they are not recommended for it again."""

    __tablename__ = "dispatch_declines"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    engineer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engineers.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class AutoAssignRule(VersionMixin, Base):
    """Auto-assign per organisation and priority: a new work order of this priority goes to
    the best candidate at once (docs/dispatch.md)."""

    __tablename__ = "dispatch_auto_assign"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    priority: Mapped[str] = mapped_column(String(2), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Also open the work order for claiming when nobody qualifies.
    fallback_to_pool: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class PlanStatus(StrEnum):
    QUEUED = "queued"
    SOLVING = "solving"
    READY = "ready"  # solved: preview and compare
    FAILED = "failed"
    APPLIED = "applied"  # published: assignments and schedules written
    SUPERSEDED = "superseded"  # another plan for the same territory and date was applied


class DayPlan(IdMixin, VersionMixin, Base):
    """A day plan for one territory (None: the whole organisation) and date: solved by the
    worker, previewed, compared with the current schedule, applied."""

    __tablename__ = "day_plans"
    __table_args__ = (Index("ix_day_plans_org_date", "org_id", "plan_date", "created_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    territory: Mapped[str | None] = mapped_column(String(100))
    plan_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=PlanStatus.QUEUED)
    seconds: Mapped[int] = mapped_column(Integer, default=10)  # the solver's time limit
    # A re-plan: the applied plan it starts from (minimal disruption).
    base_plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("day_plans.id"))
    requested_by: Mapped[str] = mapped_column(String(300))
    # Routes, unassigned work orders with reasons, objective components (docs/dispatch.md).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    solved_at: Mapped[dt.datetime | None]
    applied_at: Mapped[dt.datetime | None]
    applied_by: Mapped[str | None] = mapped_column(String(300))
