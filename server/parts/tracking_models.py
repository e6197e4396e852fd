"""Tables for tracking stock beyond balances: serial-numbered units, returns to vendors
(RMA) and replenishment levels (issue 3)."""

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
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, VersionMixin
from server.parts.models import Quantity


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
