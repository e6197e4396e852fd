from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin


class AccessLink(IdMixin, Base):
    """A link a customer opens without an account (``/t/``, ``/q/``, ``/s/``).

    The token in the URL is this row's id and a MAC over it and the kind
    (server/links/service.py); the row says what the link opens (``subject_id``: a work
    order, an asset, a survey invitation), until when, and whether staff revoked it."""

    __tablename__ = "access_links"
    __table_args__ = (Index("ix_access_links_org_subject", "org_id", "kind", "subject_id"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
