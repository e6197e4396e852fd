from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import ARRAY, Boolean, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, VersionMixin


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    AGENT = "agent"
    ENGINEER = "engineer"
    VIEWER = "viewer"


class Duty(StrEnum):
    """What a user answers for beyond their role: who hears about what (notifications), who
    owns an escalation step, who gets a follow-up task. A role says what one may do; a duty
    says what one is told."""

    SERVICE_MANAGER = "service_manager"
    SECOND_LINE = "second_line"
    PARTS_MANAGER = "parts_manager"


class User(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "users"
    # An address is unique within an organisation only: a global key would tell one tenant
    # that another has an account with it (409 on create). The same person may hold
    # accounts in several organisations; log-in then asks which (server/auth/service.py).
    __table_args__ = (UniqueConstraint("org_id", "email"), Index("ix_users_email", "email"))

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    duties: Mapped[list[str]] = mapped_column(
        postgresql.ARRAY(String(30)), default=list, server_default=text("'{}'")
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class RefreshToken(IdMixin, Base):
    """One row per issued refresh token; tokens of one login share a family."""

    __tablename__ = "refresh_tokens"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    # Issued by a rotation whose answer was lost, and replaced when the client retried it
    # (server/auth/service.py refresh): presenting it is reuse.
    superseded_at: Mapped[dt.datetime | None]


class ApiKey(IdMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_org_id_created_at", "org_id", "created_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, shown in lists so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
