"""Survey templates, invitations and responses (docs/surveys.md).

One invitation per work order (``uq_survey_invitations_org_id_ticket_id``): the outbox
handler inserts it with ON CONFLICT DO NOTHING, so a redelivered event or a reopen and a
second resolve invite nobody twice. One response per invitation
(``survey_responses.invitation_id`` unique): of two concurrent submissions the constraint
keeps the first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, VersionMixin


class SurveyTemplate(IdMixin, TimestampMixin, VersionMixin, Base):
    """Which questions a survey asks, in which words, when it goes and how long it lasts."""

    __tablename__ = "survey_templates"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        # At most one default per organisation.
        Index(
            "uq_survey_templates_org_default",
            "org_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    # Of "csat", "nps", "ces", "comment", in the order the page asks them.
    questions: Mapped[list[str]] = mapped_column(ARRAY(String(10)))
    # {"en": {"csat": "..."}, "zh_CN": {...}}: wording that replaces the default.
    wording: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    delay_minutes: Mapped[int] = mapped_column(Integer, default=60)
    expiry_days: Mapped[int] = mapped_column(Integer, default=14)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Empty: every work-order type (priority).
    ticket_types: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    priorities: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    # The page's language when the browser's is not one we speak; null: the browser's.
    language: Mapped[str | None] = mapped_column(String(10))


class SurveyInvitation(IdMixin, Base):
    """The survey of one resolved work order: who, when it goes out, until when it counts."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        UniqueConstraint("org_id", "ticket_id"),
        Index(
            "ix_survey_invitations_due",
            "send_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_templates.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    engineer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("engineers.id"))
    # The asset's model when the work order was resolved (scores per product model).
    product_model: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str | None] = mapped_column(String(10))
    # pending (not sent yet), sent, answered, skipped (cancelled work, expired unsent).
    status: Mapped[str] = mapped_column(String(10), default="pending")
    resolved_at: Mapped[dt.datetime]
    send_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    link_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("access_links.id"))
    # The outbox event that made it (the handler's dedupe is the unique work order).
    event_id: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class SurveyResponse(IdMixin, Base):
    """What the customer answered (once per invitation; never changed)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("invitation_id"),
        CheckConstraint("csat BETWEEN 1 AND 5", name="csat_range"),
        CheckConstraint("nps BETWEEN 0 AND 10", name="nps_range"),
        CheckConstraint("ces BETWEEN 1 AND 7", name="ces_range"),
        Index("ix_survey_responses_org_submitted", "org_id", "submitted_at"),
        Index("ix_survey_responses_org_engineer", "org_id", "engineer_id", "submitted_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    invitation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_invitations.id"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    engineer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("engineers.id"))
    product_model: Mapped[str | None] = mapped_column(String(120))
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    ces: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10))
    detractor: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
