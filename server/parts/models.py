from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY  # .contains() is PostgreSQL's @>
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, VersionMixin

Quantity = Numeric(14, 3)  # metres of cable and litres of refrigerant, not only pieces
Money = Numeric(14, 2)


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    VAN = "van"
    REPAIR_CENTRE = "repair_centre"
    VENDOR = "vendor"
    CUSTOMER_SITE = "customer_site"
    # Defective parts back from the field, wherever they physically are, until their
    # return (RMA) ends: counted, valued, never available to use (one per organisation).
    QUARANTINE = "quarantine"


class MovementKind(StrEnum):
    RECEIVE = "receive"  # into a location from outside (a supplier delivery)
    TRANSFER = "transfer"  # between two locations
    RESERVE = "reserve"  # earmark on-hand stock for a work order
    RELEASE = "release"  # undo a reservation
    CONSUME = "consume"  # used on a work order: leaves the location for the customer site
    RETURN = "return"  # comes back from a customer site (good or defective)
    ADJUST = "adjust"  # stock count correction, signed, with a reason
    SCRAP = "scrap"  # leaves stock for good


class Part(IdMixin, TimestampMixin, Base):
    __tablename__ = "parts"
    __table_args__ = (
        UniqueConstraint("org_id", "sku"),
        Index("ix_parts_org_barcode", "org_id", "barcode"),
        Index("ix_parts_org_name", "org_id", "name"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(16), default="pcs")
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    price: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    barcode: Mapped[str | None] = mapped_column(String(64))
    serialised: Mapped[bool] = mapped_column(Boolean, default=False)
    compatible_models: Mapped[list[str]] = mapped_column(ARRAY(String(120)), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class StockLocation(IdMixin, TimestampMixin, Base):
    __tablename__ = "stock_locations"
    __table_args__ = (
        # One van per engineer, one stock location per customer site.
        UniqueConstraint("engineer_id"),
        UniqueConstraint("site_id"),
        Index("ix_stock_locations_org_kind", "org_id", "kind"),
        Index(
            "uq_stock_locations_org_quarantine",
            "org_id",
            unique=True,
            postgresql_where=text("kind = 'quarantine'"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    engineer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("engineers.id"))
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class StockBalance(Base):
    """On-hand and reserved quantity of a part at a location: always the sum of the ledger
    (kept in the same transaction as each movement; ``server.parts.ledger.service.check``
    proves it)."""

    __tablename__ = "stock_balances"
    __table_args__ = (CheckConstraint("reserved >= 0", name="reserved_not_negative"),)

    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stock_locations.id"), primary_key=True
    )
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    # Set when field consumption took the balance below zero: someone must count the van.
    needs_reconciliation: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class StockMovement(IdMixin, Base):
    """One append-only ledger line (a trigger refuses UPDATE and DELETE).

    ``quantity`` is positive; ``from_location_id`` loses it and ``to_location_id`` gains it
    (either may be null: receive has no source, scrap no destination). Adjustments carry a
    signed quantity on ``to_location_id``. Reserve and release move reserved quantity at
    ``from_location_id`` and leave on-hand alone."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_org_created", "org_id", "created_at", "id"),
        Index("ix_stock_movements_part_from", "part_id", "from_location_id"),
        Index("ix_stock_movements_part_to", "part_id", "to_location_id"),
        Index("ix_stock_movements_ticket", "ticket_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(12))
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    from_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"))
    to_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    # The field visit (issue 4) and the phone's own id for the record, for idempotent sync.
    visit_id: Mapped[uuid.UUID | None]
    condition: Mapped[str | None] = mapped_column(String(10))  # returns: good / defective
    # Serialised parts move one unit per line: the unit's serial (its history is these lines).
    serial_number: Mapped[str | None] = mapped_column(String(100), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    # A consumption's customer price per unit at that moment (the service report's price).
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    from_field: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


# --- tracking stock beyond balances: serial-numbered units, returns to vendors (RMA),
# replenishment levels --------------------------------------------------------------------


class UnitStatus(StrEnum):
    IN_STOCK = "in_stock"  # at a stock location (warehouse, van, repair centre, vendor)
    INSTALLED = "installed"  # in a customer's asset
    RETURNED = "returned"  # back from the field defective, waiting for its RMA
    SCRAPPED = "scrapped"  # gone for good


class ReturnStatus(StrEnum):
    AWAITING_RETURN = "awaiting_return"
    RECEIVED = "received"
    UNDER_REPAIR = "under_repair"
    REPAIRED = "repaired"
    SCRAPPED = "scrapped"
    CREDITED = "credited"


class StockUnit(IdMixin, TimestampMixin, Base):
    """One unit of a serialised part; its history is the ledger lines naming its serial."""

    __tablename__ = "stock_units"
    __table_args__ = (
        UniqueConstraint("org_id", "part_id", "serial_number"),
        Index("ix_stock_units_org_serial", "org_id", "serial_number"),
        Index("ix_stock_units_location", "location_id"),
        Index("ix_stock_units_asset", "asset_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    serial_number: Mapped[str] = mapped_column(String(100))
    # Where the unit is now: a stock location, or the customer site when installed;
    # null once scrapped.
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))
    status: Mapped[str] = mapped_column(String(12), default=UnitStatus.IN_STOCK.value)


class PartReturn(IdMixin, TimestampMixin, Base):
    """A return to the vendor or repair centre (RMA), numbered RMA-000123 per organisation."""

    __tablename__ = "part_returns"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        Index("ix_part_returns_org_status", "org_id", "status", "id"),
        Index("ix_part_returns_ticket", "ticket_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    serial_number: Mapped[str | None] = mapped_column(String(100))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))
    # The ledger line that brought the defective part back, when opened by one.
    movement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_movements.id"))
    status: Mapped[str] = mapped_column(String(16), default=ReturnStatus.AWAITING_RETURN.value)
    warranty: Mapped[bool] = mapped_column(Boolean, default=False)
    # The vendor or repair centre the part goes to (chosen when it is known).
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    @property
    def display_number(self) -> str:
        return f"RMA-{self.number:06d}"


class StockLevel(VersionMixin, Base):
    """Replenishment levels of a part at a location. ``below_minimum`` remembers that the
    crossing was announced, so the event fires once per fall, not on every movement."""

    __tablename__ = "stock_levels"
    __table_args__ = (CheckConstraint("minimum >= 0 AND target >= minimum", name="levels_ordered"),)

    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stock_locations.id"), primary_key=True
    )
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    minimum: Mapped[Decimal] = mapped_column(Quantity)
    target: Mapped[Decimal] = mapped_column(Quantity)
    below_minimum: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
