from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import EmailStr, Field, model_validator

from server.schemas import Date, Input, Latitude, Longitude, LongText, Output, Text200, Text500

Phone = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[0-9+() \-./]+$")]
Code = Annotated[str, Field(min_length=1, max_length=120)]


class CustomerCreate(Input):
    name: Text200
    contact_name: Text200 | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    notes: LongText | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"name": "上海华联超市", "phone": "+86 21 5555 0101", "contact_name": "王伟"}
            ]
        }
    }


class CustomerUpdate(Input):
    name: Text200 | None = None
    contact_name: Text200 | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    notes: LongText | None = None


class CustomerRead(Output):
    id: uuid.UUID
    name: str
    contact_name: str | None
    phone: str | None
    email: str | None
    notes: str | None
    version: int
    created_at: dt.datetime


class SiteCreate(Input):
    customer_id: uuid.UUID
    name: Text200
    address: Text500
    lat: Latitude | None = None
    lon: Longitude | None = None
    access_notes: LongText | None = None

    @model_validator(mode="after")
    def _both(self) -> SiteCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class SiteUpdate(Input):
    name: Text200 | None = None
    address: Text500 | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    access_notes: LongText | None = None


class SiteRead(Output):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    address: str
    lat: float | None
    lon: float | None
    access_notes: str | None
    version: int
    created_at: dt.datetime


class AssetCreate(Input):
    site_id: uuid.UUID
    product_model: Code
    serial_number: Code
    name: Text200 | None = None
    install_date: Date | None = None
    warranty_end: Date | None = None
    parent_id: uuid.UUID | None = None


class AssetUpdate(Input):
    site_id: uuid.UUID | None = None
    name: Text200 | None = None
    install_date: Date | None = None
    warranty_end: Date | None = None
    parent_id: uuid.UUID | None = None


class AssetRead(Output):
    id: uuid.UUID
    site_id: uuid.UUID
    customer_id: uuid.UUID
    parent_id: uuid.UUID | None
    product_model: str
    serial_number: str
    name: str | None
    install_date: dt.date | None
    warranty_end: dt.date | None
    under_warranty: bool = Field(
        description="True while today, in the organisation's time zone, is on or before "
        "warranty_end"
    )
    version: int
    created_at: dt.datetime


class PreferredEngineersUpdate(Input):
    engineer_ids: Annotated[list[uuid.UUID], Field(max_length=20)] = Field(
        description="The customer's preferred engineers (active engineers of the organisation; "
        "at most 20, no repeats); replaces the list, [] clears it"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{"engineer_ids": ["0193a8f0-7c1e-7b44-9d1a-5f0c2e4b6a10"]}]
        }
    }


class PreferredEngineersRead(Output):
    customer_id: uuid.UUID
    engineer_ids: list[uuid.UUID]
    version: int = Field(description="The customer's version (the list is part of it)")
