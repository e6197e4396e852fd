from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from server.parts.models import LocationKind, MovementKind
from server.schemas import AsciiNumber, AuditLabel, Input, Output, Text200

Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2), AsciiNumber]
# A billion units per line: far beyond any real movement, far below the column's limit.
Qty = Annotated[
    Decimal, Field(gt=0, le=1_000_000_000, max_digits=13, decimal_places=3), AsciiNumber
]
Model = Annotated[str, Field(min_length=1, max_length=120)]
Serial = Annotated[str, Field(min_length=1, max_length=100)]


class PartCreate(Input):
    sku: Sku
    name: Text200
    description: Annotated[str, Field(max_length=5000)] = ""
    unit: Annotated[str, Field(min_length=1, max_length=16)] = "pcs"
    cost: Money = Decimal(0)
    price: Money = Decimal(0)
    barcode: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    serialised: bool = False
    compatible_models: Annotated[list[Model], Field(max_length=100)] = []

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "sku": "CMP-200-A",
                    "name": "Compressor relay 24 V",
                    "unit": "pcs",
                    "cost": "18.40",
                    "price": "39.00",
                    "barcode": "6901234567892",
                    "compatible_models": ["CH-200", "CH-250"],
                }
            ]
        }
    }


class PartUpdate(Input):
    name: Text200 | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    unit: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    cost: Money | None = None
    price: Money | None = None
    barcode: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    serialised: bool | None = None
    compatible_models: Annotated[list[Model], Field(max_length=100)] | None = None
    active: bool | None = None


class PartRead(Output):
    id: uuid.UUID
    sku: str
    name: str
    description: str
    unit: str
    cost: Decimal
    price: Decimal
    barcode: str | None
    serialised: bool
    compatible_models: list[str]
    active: bool
    version: int
    created_at: dt.datetime


class LocationCreate(Input):
    kind: Literal["warehouse", "repair_centre", "vendor"] = Field(
        description="Vans are created with their engineer, customer-site locations on first use"
    )
    name: Text200


class LocationUpdate(Input):
    name: Text200 | None = None
    active: bool | None = None


class LocationRead(Output):
    id: uuid.UUID
    kind: LocationKind
    name: str
    engineer_id: uuid.UUID | None
    site_id: uuid.UUID | None
    active: bool
    version: int
    created_at: dt.datetime


class BalanceRead(Output):
    location_id: uuid.UUID
    part_id: uuid.UUID
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    needs_reconciliation: bool


class MovementCreate(Input):
    """One stock movement. Which fields each kind needs:

    - receive: to_location_id
    - transfer: from_location_id, to_location_id
    - consume: from_location_id, ticket_id (the part goes to the work order's site)
    - return: to_location_id, condition, ticket_id (it comes from the work order's site)
    - adjust: to_location_id, reason, direction (the count went up or down)
    - scrap: from_location_id, reason
    - reserve, release: from_location_id, ticket_id
    """

    kind: MovementKind
    part_id: uuid.UUID
    quantity: Qty
    from_location_id: uuid.UUID | None = None
    to_location_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    condition: Literal["good", "defective"] | None = None
    direction: Literal["increase", "decrease"] | None = Field(
        default=None, description="adjust only: whether the count went up or down"
    )
    reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    # Serialised parts (checked in server/parts/serials/service.py): one serial per unit moved.
    serial_numbers: Annotated[list[Serial], Field(min_length=1, max_length=500)] | None = Field(
        default=None,
        description="Serialised parts only, required for them: one serial per unit "
        "(quantity must equal their count). Reserve and release take none.",
    )
    removed_serial_numbers: Annotated[list[Serial], Field(min_length=1, max_length=500)] | None = (
        Field(
            default=None,
            description="consume of a serialised part: the units taken out of the work "
            "order's asset; they come back into the van as a return (an RMA when defective)",
        )
    )
    removed_condition: Literal["good", "defective"] = Field(
        default="defective", description="the condition of the removed units"
    )

    @model_validator(mode="after")
    def _shape(self) -> MovementCreate:
        need: dict[MovementKind, tuple[str, ...]] = {
            MovementKind.RECEIVE: ("to_location_id",),
            MovementKind.TRANSFER: ("from_location_id", "to_location_id"),
            MovementKind.CONSUME: ("from_location_id", "ticket_id"),
            MovementKind.RETURN: ("to_location_id", "condition", "ticket_id"),
            MovementKind.ADJUST: ("to_location_id", "reason", "direction"),
            MovementKind.SCRAP: ("from_location_id", "reason"),
            MovementKind.RESERVE: ("from_location_id", "ticket_id"),
            MovementKind.RELEASE: ("from_location_id", "ticket_id"),
        }
        missing = [name for name in need[self.kind] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.kind.value} needs {', '.join(missing)}")
        if self.from_location_id is not None and self.from_location_id == self.to_location_id:
            raise ValueError("from_location_id and to_location_id must differ")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "transfer",
                    "part_id": "01935a2e-0000-7000-8000-0000000000a1",
                    "quantity": "4",
                    "from_location_id": "01935a2e-0000-7000-8000-0000000000b1",
                    "to_location_id": "01935a2e-0000-7000-8000-0000000000b2",
                },
                {
                    "kind": "consume",
                    "part_id": "01935a2e-0000-7000-8000-0000000000a1",
                    "quantity": "1",
                    "from_location_id": "01935a2e-0000-7000-8000-0000000000b2",
                    "ticket_id": "01935a2e-0000-7000-8000-0000000000c1",
                },
            ]
        }
    }


class MovementRead(Output):
    id: uuid.UUID
    kind: MovementKind
    part_id: uuid.UUID
    quantity: Decimal
    from_location_id: uuid.UUID | None
    to_location_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    condition: str | None
    serial_number: str | None = None
    reason: str | None
    unit_cost: Decimal
    unit_price: Decimal | None = Field(
        default=None,
        description="consume: the part's customer price per unit at that moment (what the "
        "service report shows); null for other kinds",
    )
    from_field: bool
    actor: AuditLabel
    created_at: dt.datetime


class LedgerCheck(Output):
    ok: bool
    mismatches: list[dict[str, object]]
