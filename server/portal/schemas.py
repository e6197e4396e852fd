from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field

from server.schemas import Input, Output


class StatusLinkRead(Output):
    id: uuid.UUID = Field(description="The link's id (to revoke it)")
    url: str = Field(description="The address to send the customer (`/t/{token}`)")
    expires_at: dt.datetime | None


class LinkRead(Output):
    id: uuid.UUID
    kind: str = Field(description="`status` or `qr`")
    subject_id: uuid.UUID = Field(description="The work order (status) or asset (qr)")
    url: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    live: bool = Field(description="Neither revoked nor expired")


class QrLinkRead(Output):
    id: uuid.UUID
    url: str = Field(description="The address the new label encodes (`/q/{token}`)")


class LabelSheetIn(Input):
    asset_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=200)] = Field(
        description="The assets to print, in order (at most 200; 21 labels per A4 page)"
    )
