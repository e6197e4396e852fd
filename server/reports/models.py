"""The KPI facts (docs/kpis.md): one row per work order and one per engineer and day,
derived from the operational tables by ``server.reports.refresh`` and read by the KPI
queries. Nothing else writes them; a rebuild recomputes every row from the source."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# The columns the medians sort (server/reports/metrics.py), with the engineer, carried in
# the anchors' indexes.
CREATED_MEDIANS = ("engineer_id", "first_response_business_s", "schedule_s", "arrive_s")
RESOLVED_MEDIANS = ("engineer_id", "resolve_s", "waiting_s")


class WorkOrderFact(Base):
    """What the KPIs need to know about one work order, as of ``refreshed_at``.

    Durations are whole seconds of wall-clock time unless named ``_business_``; a duration
    whose end has not happened is null. See docs/kpis.md for every column's rule."""

    __tablename__ = "kpi_work_orders"
    __table_args__ = (
        # The views select by local date (the anchors' ``_day`` columns). The medians'
        # columns ride along (``CREATED_MEDIANS``, ``RESOLVED_MEDIANS``): a median pass
        # reads an index alone; per engineer over a range, in the order it groups by
        # (no sort of a million rows before the medians' own).
        Index("ix_kpi_wo_org_created", "org_id", "created_day", postgresql_include=CREATED_MEDIANS),
        Index(
            "ix_kpi_wo_org_resolved",
            "org_id",
            "resolved_day",
            postgresql_where=text("resolved_day IS NOT NULL"),
            postgresql_include=RESOLVED_MEDIANS,
        ),
        Index(
            "ix_kpi_wo_org_engineer_created",
            "org_id",
            "engineer_id",
            "created_day",
            postgresql_include=CREATED_MEDIANS[1:],
        ),
        Index(
            "ix_kpi_wo_org_ended",
            "org_id",
            "ended_day",
            postgresql_where=text("ended_day IS NOT NULL"),
        ),
        Index(
            "ix_kpi_wo_org_surveyed",
            "org_id",
            "surveyed_day",
            postgresql_where=text("surveyed_day IS NOT NULL"),
        ),
        Index(
            "ix_kpi_wo_org_engineer_resolved",
            "org_id",
            "engineer_id",
            "resolved_day",
            postgresql_include=RESOLVED_MEDIANS[1:],
        ),
        Index("ix_kpi_wo_org_asset_created", "org_id", "asset_id", "created_at"),
        Index(
            "ix_kpi_wo_org_open",
            "org_id",
            "created_at",
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    number: Mapped[int] = mapped_column(Integer)
    # What it is (the dimensions a KPI is filtered and grouped by).
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(10))
    type: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID] = mapped_column()
    site_id: Mapped[uuid.UUID | None] = mapped_column()
    asset_id: Mapped[uuid.UUID | None] = mapped_column()
    product_model: Mapped[str | None] = mapped_column(String(120))
    fault_code: Mapped[str | None] = mapped_column(String(40))
    # The engineer it is attributed to (who resolved it; while open, the assignee), with
    # their team; the territory is the service site's, else the engineer's.
    engineer_id: Mapped[uuid.UUID | None] = mapped_column()
    team: Mapped[str | None] = mapped_column(String(100))
    territory: Mapped[str | None] = mapped_column(String(100))
    # The instants (UTC).
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    first_assigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_arrival_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # When it left the backlog (resolved, closed or cancelled; null while open).
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The local dates (the organisation's time zone at the refresh) of the instants a view
    # puts a work order in a period by: a view groups and selects by a stored date instead
    # of converting a million instants on every request (docs/kpis.md).
    created_day: Mapped[dt.date] = mapped_column(Date)
    resolved_day: Mapped[dt.date | None] = mapped_column(Date)
    ended_day: Mapped[dt.date | None] = mapped_column(Date)
    # Durations (seconds).
    first_response_business_s: Mapped[int | None] = mapped_column(Integer)
    schedule_s: Mapped[int | None] = mapped_column(Integer)
    arrive_s: Mapped[int | None] = mapped_column(Integer)
    resolve_s: Mapped[int | None] = mapped_column(Integer)
    waiting_s: Mapped[int] = mapped_column(Integer, default=0)  # on hold for the customer
    # SLA: null when no target applies (or it is not decided yet).
    response_met: Mapped[bool | None] = mapped_column()
    resolution_met: Mapped[bool | None] = mapped_column()
    # Field work.
    visits: Mapped[int] = mapped_column(SmallInteger, default=0)
    reopened: Mapped[int] = mapped_column(SmallInteger, default=0)
    work_s: Mapped[int] = mapped_column(Integer, default=0)
    travel_s: Mapped[int] = mapped_column(Integer, default=0)
    labour_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    parts_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    # Repeats and follow-ups on the same asset.
    repeat_of_id: Mapped[uuid.UUID | None] = mapped_column()
    # Whether this work order's repair came back (charged to it, and to who resolved it):
    # the first later work order the desk marked a repeat of it; the first later one on
    # the same asset with the same fault code, created after this one was resolved; the
    # first later repair or complaint on the asset after the resolution (first-time fix).
    marked_repeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    same_fault_next_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    next_on_asset_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The survey answer (one per work order).
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    ces: Mapped[int | None] = mapped_column(SmallInteger)
    surveyed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    surveyed_day: Mapped[dt.date | None] = mapped_column(Date)
    refreshed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class EngineerDayFact(Base):
    """One engineer's day (a date in the organisation's time zone): the time the shifts
    scheduled and the labour they recorded on it (utilisation and travel share)."""

    __tablename__ = "kpi_engineer_days"
    __table_args__ = (Index("ix_kpi_engineer_days_org_day", "org_id", "day"),)

    engineer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engineers.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    team: Mapped[str | None] = mapped_column(String(100))
    territory: Mapped[str | None] = mapped_column(String(100))
    scheduled_s: Mapped[int] = mapped_column(Integer, default=0)
    work_s: Mapped[int] = mapped_column(Integer, default=0)
    travel_s: Mapped[int] = mapped_column(Integer, default=0)


class RefreshMark(Base):
    """How far the refresh has read the operational tables, per organisation."""

    __tablename__ = "kpi_refresh_marks"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    facts_through: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    days_through: Mapped[dt.date | None] = mapped_column(Date)
    # The organisation's time zone the local dates were computed in: when it changes, the
    # facts are built again (``refresh.refresh_org``).
    zone: Mapped[str | None] = mapped_column(String(64))
    # Which sums the roll-ups hold (``server.reports.rollup.LAYOUT``'s digest): when the
    # catalogue's sums change, the refresh builds the roll-ups again.
    rollup_layout: Mapped[str | None] = mapped_column(String(40))


class Rollup(Base):
    """The sums of the work order facts whose ``anchor`` instant falls on one local date,
    per engineer, team and territory (``server.reports.rollup``): ``measures`` holds the
    catalogue's additive aggregates in the layout's order. Derived from the facts only."""

    __tablename__ = "kpi_rollups"
    __table_args__ = (Index("ix_kpi_rollups_org_anchor_day", "org_id", "anchor", "day"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    anchor: Mapped[str] = mapped_column(String(16))
    day: Mapped[dt.date] = mapped_column(Date)
    engineer_id: Mapped[uuid.UUID | None] = mapped_column()
    team: Mapped[str | None] = mapped_column(String(100))
    territory: Mapped[str | None] = mapped_column(String(100))
    measures: Mapped[list[Decimal]] = mapped_column(ARRAY(Numeric()))
