"""Uploads in progress, the organisation's stored blobs, attachments and signatures.

The bytes live in the blob store (content-addressed by SHA-256, shared on disk); these
tables say which organisation holds which bytes, what they are, and where they are used.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin


class UploadStatus(StrEnum):
    OPEN = "open"  # bytes are arriving
    COMPLETE = "complete"  # every byte arrived and the hash matched: the blob is stored
    FAILED = "failed"  # refused at the end (hash, type, pixels): the bytes were discarded
    EXPIRED = "expired"  # abandoned: the partial bytes were discarded


class Role(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    SIGNATURE = "signature"


class AttachmentStatus(StrEnum):
    PENDING = "pending"  # registered; the verified bytes have not arrived yet
    AVAILABLE = "available"
    REJECTED = "rejected"  # the bytes arrived but do not fit the role (a PDF as a photo)


class Upload(IdMixin, Base):
    """A tus upload: its declared length and hash, and how many bytes are safely stored."""

    __tablename__ = "uploads"
    __table_args__ = (
        Index(
            "ix_uploads_open_expires",
            "expires_at",
            postgresql_where=text("status = 'open'"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    # Actor.principal: an upload is visible to the caller who created it, nobody else.
    owner: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(300))
    upload_length: Mapped[int] = mapped_column(BigInteger)
    upload_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=UploadStatus.OPEN.value)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    expires_at: Mapped[dt.datetime]
    completed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class Blob(Base):
    """Bytes an organisation holds: verified, sniffed, and their derived copies."""

    __tablename__ = "blobs"
    __table_args__ = (
        Index(
            "ix_blobs_underived",
            "created_at",
            postgresql_where=text("derived_at IS NULL"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64))
    # The customer-safe copy: re-encoded without EXIF (GPS), XMP or comments.
    customer_sha256: Mapped[str | None] = mapped_column(String(64))
    derived_at: Mapped[dt.datetime | None]
    derive_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class Attachment(Base):
    """A photo, document or signature image on a work order. The id is the phone's."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_org_work_order", "org_id", "work_order_id", "created_at", "id"),
        Index(
            "ix_attachments_org_pending_sha256",
            "org_id",
            "sha256",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    work_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    visit_id: Mapped[uuid.UUID | None]
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    rejected_reason: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    declared_mime: Mapped[str] = mapped_column(String(100))
    mime: Mapped[str | None] = mapped_column(String(100))  # sniffed, once the bytes are here
    caption: Mapped[str | None] = mapped_column(Text)
    captured_at: Mapped[dt.datetime | None]  # the device's clock: business data, not order
    gps: Mapped[dict[str, float] | None] = mapped_column(JSONB)
    uploaded_by: Mapped[str] = mapped_column(String(300))
    engineer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("engineers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    available_at: Mapped[dt.datetime | None]


class Signature(Base):
    """A customer's signature: the PNG (an attachment), the strokes, who signed what."""

    __tablename__ = "signatures"
    __table_args__ = (
        Index("ix_signatures_org_work_order", "org_id", "work_order_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    work_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    attachment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("attachments.id"), unique=True)
    visit_id: Mapped[uuid.UUID | None]
    signer_name: Mapped[str] = mapped_column(String(200))
    strokes: Mapped[Any] = mapped_column(JSONB)
    signed_status: Mapped[str] = mapped_column(String(20))
    device_time: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
