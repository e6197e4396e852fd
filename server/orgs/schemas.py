from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field, field_validator

from server.schemas import Input, Output, Text200


def _zone(value: str | None) -> str | None:
    if value is None:
        return value
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like Asia/Shanghai"
        ) from exc
    return value


class OrganisationRead(Output):
    id: uuid.UUID
    name: str
    slug: str
    timezone: str
    version: int
    created_at: dt.datetime


class OrganisationUpdate(Input):
    name: Text200 | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    _tz = field_validator("timezone")(_zone)
