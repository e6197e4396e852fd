from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class Engineer(IdMixin, TimestampMixin, Base):
    """A field engineer's profile; the person logs in as the linked user."""

    __tablename__ = "engineers"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    # {"hvac": 3, "electrical": 2}: skill name -> level 1 (basic) .. 5 (expert)
    skills: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    # {"mon": [["08:00", "17:00"]], ...} in the organisation's time zone
    working_hours: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    territory: Mapped[str | None] = mapped_column(String(100))
    # The team the KPIs group the engineer under, and the labour cost rate (the
    # organisation's currency per hour; null: their labour costs nothing in the KPIs).
    team: Mapped[str | None] = mapped_column(String(100))
    hourly_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # Capacity per day (None: no limit besides the shift).
    max_jobs_per_day: Mapped[int | None] = mapped_column(Integer)
    max_minutes_per_day: Mapped[int | None] = mapped_column(Integer)
    # 0..5; every engineer starts at the default, survey results move it (issue 13).
    rating: Mapped[float] = mapped_column(Float, default=4.0, server_default=text("4.0"))
    # Where the day starts and ends: a service site, else home (docs/dispatch.md).
    start_site_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_sites.id", ondelete="SET NULL")
    )
    end_site_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_sites.id", ondelete="SET NULL")
    )
    # Another start or end on some weekdays: {"sat": {"start": "<site id>", "end": null}};
    # null is home, a day not named uses start_site_id / end_site_id (docs/dispatch.md).
    day_sites: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class TimeOff(IdMixin, TimestampMixin, Base):
    """An exception to the weekly working hours: ``leave``, ``sick`` and ``training`` take
    the time out of the engineer's shifts; ``extra`` adds a shift (an overtime Saturday)."""

    __tablename__ = "engineer_time_off"
    __table_args__ = (Index("ix_engineer_time_off_engineer_starts", "engineer_id", "starts_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    engineer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("engineers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(String(500))
