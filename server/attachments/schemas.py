from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from server.schemas import (
    Accuracy,
    AsciiNumber,
    AuditLabel,
    Input,
    Instant,
    Latitude,
    Longitude,
    Output,
)
from shared.lifecycle import Status

Sha256 = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", min_length=64, max_length=64)
]
Point = Annotated[list[Annotated[float, AsciiNumber]], Field(min_length=2, max_length=3)]


class Gps(Input):
    lat: Latitude
    lon: Longitude
    accuracy_m: Accuracy | None = None


class AttachmentCreate(Input):
    """Register a photo or document; upload its bytes before or after (``/api/v1/uploads``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01936d6e-8f3a-7c41-9a2e-5b7c1d2e3f40",
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "size": 482113,
                    "mime": "image/jpeg",
                    "role": "photo",
                    "caption": "Condenser fan after cleaning",
                    "captured_at": "2026-11-24T10:42:00+08:00",
                    "gps": {"lat": 31.2304, "lon": 121.4737, "accuracy_m": 8},
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="Your id for the attachment (UUIDv7): retries are safe")
    sha256: Sha256
    size: Annotated[int, Field(ge=1, description="Bytes"), AsciiNumber]
    mime: str = Field(max_length=100, description="What you believe it is; the server sniffs")
    role: Literal["photo", "document"]
    visit_id: uuid.UUID | None = None
    caption: str | None = Field(default=None, max_length=2000)
    captured_at: Instant | None = Field(default=None, description="The device's clock")
    gps: Gps | None = None


class AttachmentRead(Output):
    id: uuid.UUID
    work_order_id: uuid.UUID
    visit_id: uuid.UUID | None
    role: str
    status: Literal["pending", "available", "rejected"]
    rejected_reason: str | None
    sha256: str
    size: int
    mime: str | None = Field(description="Sniffed from the bytes; null while pending")
    declared_mime: str
    caption: str | None
    captured_at: dt.datetime | None
    gps: dict[str, float] | None
    width: int | None
    height: int | None
    uploaded_by: AuditLabel
    created_at: dt.datetime
    available_at: dt.datetime | None
    thumbnail_ready: bool
    customer_copy_ready: bool


class SignatureCreate(Input):
    """The PNG is uploaded like a photo; this records it with the strokes and the signer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01936d70-1b2c-7d3e-8f40-5a6b7c8d9e0f",
                    "attachment_id": "01936d70-1b2c-7d3e-8f40-5a6b7c8d9e10",
                    "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                    "size": 18211,
                    "signer_name": "Li Na",
                    "strokes": [[[10, 12, 0], [14, 15, 16], [20, 19, 33]]],
                    "signed_status": "resolved",
                    "device_time": "2026-11-24T11:05:00+08:00",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="Your id for the signature (UUIDv7)")
    attachment_id: uuid.UUID = Field(description="Your id for the PNG's attachment")
    sha256: Sha256
    size: Annotated[int, Field(ge=1), AsciiNumber]
    signer_name: str = Field(min_length=1, max_length=200)
    strokes: list[list[Point]] = Field(
        min_length=1, description="Strokes of points [x, y] or [x, y, ms since the first]"
    )
    signed_status: Status = Field(description="The work-order status the customer signs")
    device_time: Instant | None = None
    visit_id: uuid.UUID | None = None


class SignatureRead(Output):
    id: uuid.UUID
    work_order_id: uuid.UUID
    attachment_id: uuid.UUID
    visit_id: uuid.UUID | None
    signer_name: str
    strokes: Any
    signed_status: str
    device_time: dt.datetime | None
    created_by: AuditLabel
    created_at: dt.datetime


class UploadRead(Output):
    id: uuid.UUID
    upload_length: int
    upload_offset: int
    sha256: str
    status: Literal["open", "complete", "failed", "expired"]
    error: dict[str, Any] | None = Field(description="Why a failed upload was refused")
    meta: dict[str, str]
    expires_at: dt.datetime
    created_at: dt.datetime
    completed_at: dt.datetime | None
