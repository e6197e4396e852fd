from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, text
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
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, default=1)
