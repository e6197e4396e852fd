from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class Customer(IdMixin, TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_org_id_name", "org_id", "name"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Site(IdMixin, TimestampMixin, Base):
    __tablename__ = "sites"
    __table_args__ = (Index("ix_sites_org_id_customer_id", "org_id", "customer_id"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    access_notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Asset(IdMixin, TimestampMixin, Base):
    """A piece of installed equipment: the equipment archive."""

    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("org_id", "product_model", "serial_number"),
        Index("ix_assets_org_id_site_id", "org_id", "site_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))
    product_model: Mapped[str] = mapped_column(String(120))
    serial_number: Mapped[str] = mapped_column(String(120))
    name: Mapped[str | None] = mapped_column(String(200))
    install_date: Mapped[dt.date | None]
    warranty_end: Mapped[dt.date | None]
    version: Mapped[int] = mapped_column(Integer, default=1)


class ServiceSite(IdMixin, TimestampMixin, Base):
    """One of the organisation's own places: a depot, a regional service centre or a partner
    workshop. An engineer's day can start or end at one; a work order knows its nearest."""

    __tablename__ = "service_sites"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        UniqueConstraint("stock_location_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # depot, service_centre, partner_workshop
    address: Mapped[str] = mapped_column(String(500), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    territory: Mapped[str | None] = mapped_column(String(100))
    # use_alter: stock locations name engineers (vans), engineers name service sites.
    stock_location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stock_locations.id", use_alter=True)
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class PreferredEngineer(Base):
    """A customer's preferred engineer: the dispatcher's choice, a bonus in recommendations."""

    __tablename__ = "customer_preferred_engineers"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    engineer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engineers.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
