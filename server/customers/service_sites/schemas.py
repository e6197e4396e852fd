from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import Field, model_validator

from server.schemas import Input, Latitude, Longitude, Output, Territory, Text200

SiteKind = Literal["depot", "service_centre", "partner_workshop"]
Address = Annotated[str, Field(max_length=500)]


class ServiceSiteCreate(Input):
    name: Text200
    kind: SiteKind
    address: Address = ""
    lat: Latitude
    lon: Longitude
    territory: Territory | None = None
    stock: bool = Field(
        default=False,
        description="Also create a warehouse stock location for the site (its name: "
        "'Service site: <name>')",
    )
    stock_location_id: uuid.UUID | None = Field(
        default=None,
        description="Or use an existing warehouse stock location (not both)",
    )

    @model_validator(mode="after")
    def _one_stock(self) -> ServiceSiteCreate:
        if self.stock and self.stock_location_id is not None:
            raise ValueError("send stock: true (a new location) or stock_location_id, not both")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Minhang depot",
                    "kind": "depot",
                    "address": "88 Jianchuan Rd, Minhang, Shanghai",
                    "lat": 31.0215,
                    "lon": 121.4328,
                    "territory": "Shanghai-Minhang",
                    "stock": True,
                }
            ]
        }
    }


class ServiceSiteUpdate(Input):
    name: Text200 | None = None
    kind: SiteKind | None = None
    address: Address | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    territory: Territory | None = None
    stock_location_id: uuid.UUID | None = None
    active: bool | None = Field(
        default=None,
        description="false: no new work order takes it as its nearest, no engineer may start "
        "or end there (those already set keep it)",
    )


class ServiceSiteRead(Output):
    id: uuid.UUID
    name: str
    kind: str
    address: str
    lat: float
    lon: float
    territory: str | None
    stock_location_id: uuid.UUID | None
    active: bool
    version: int
    created_at: dt.datetime
