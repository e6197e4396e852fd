from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field

from server.schemas import Input, Output, Text200


class OrganisationRead(Output):
    id: uuid.UUID
    name: str
    slug: str
    timezone: str
    version: int
    created_at: dt.datetime


class OrganisationUpdate(Input):
    name: Text200 | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="An IANA zone both Python and PostgreSQL know, e.g. Asia/Shanghai",
    )
