"""The KPI facts (server/reports/): ``kpi_work_orders`` (one row per work order),
``kpi_engineer_days`` (one per engineer and local date), ``kpi_refresh_marks`` (how far the
refresh has read, per organisation); and the engineers' ``team`` and ``hourly_cost`` (the
labour cost rate) the KPIs group and cost by; indexes on ``tickets.updated_at`` and
``labour_entries.received_at`` (per organisation) for the refresh's "what changed".

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("engineers", sa.Column("team", sa.String(length=100), nullable=True))
    op.add_column(
        "engineers", sa.Column("hourly_cost", sa.Numeric(precision=12, scale=2), nullable=True)
    )
    # What changed since the refresh last looked, found without reading every row.
    op.create_index("ix_tickets_org_updated", "tickets", ["org_id", "updated_at"])
    op.create_index("ix_labour_entries_org_received", "labour_entries", ["org_id", "received_at"])
    op.create_index(
        "ix_tickets_org_repeat_of",
        "tickets",
        ["org_id", "repeat_of_id"],
        postgresql_where=sa.text("repeat_of_id IS NOT NULL"),
    )
    _work_orders()
    _work_order_indexes()
    _engineer_days()
    op.create_table(
        "kpi_refresh_marks",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("facts_through", _TS, nullable=False),
        sa.Column("days_through", sa.Date(), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_kpi_refresh_marks_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_kpi_refresh_marks")),
    )


def _instants() -> list[sa.Column]:
    names = (
        "first_assigned_at",
        "first_response_at",
        "first_arrival_at",
        "resolved_at",
        "closed_at",
        "cancelled_at",
        "ended_at",
    )
    return [sa.Column(name, _TS, nullable=True) for name in names]


def _work_orders() -> None:
    op.create_table(
        "kpi_work_orders",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        sa.Column("product_model", sa.String(length=120), nullable=True),
        sa.Column("fault_code", sa.String(length=40), nullable=True),
        sa.Column("engineer_id", sa.Uuid(), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("territory", sa.String(length=100), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        *_instants(),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.Column("resolved_day", sa.Date(), nullable=True),
        sa.Column("first_response_business_s", sa.Integer(), nullable=True),
        sa.Column("schedule_s", sa.Integer(), nullable=True),
        sa.Column("arrive_s", sa.Integer(), nullable=True),
        sa.Column("resolve_s", sa.Integer(), nullable=True),
        sa.Column("waiting_s", sa.Integer(), nullable=False),
        sa.Column("response_met", sa.Boolean(), nullable=True),
        sa.Column("resolution_met", sa.Boolean(), nullable=True),
        sa.Column("visits", sa.SmallInteger(), nullable=False),
        sa.Column("reopened", sa.SmallInteger(), nullable=False),
        sa.Column("work_s", sa.Integer(), nullable=False),
        sa.Column("travel_s", sa.Integer(), nullable=False),
        sa.Column("labour_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("parts_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("repeat_of_id", sa.Uuid(), nullable=True),
        sa.Column("marked_repeat_at", _TS, nullable=True),
        sa.Column("same_fault_next_at", _TS, nullable=True),
        sa.Column("next_on_asset_at", _TS, nullable=True),
        sa.Column("csat", sa.SmallInteger(), nullable=True),
        sa.Column("nps", sa.SmallInteger(), nullable=True),
        sa.Column("ces", sa.SmallInteger(), nullable=True),
        sa.Column("surveyed_at", _TS, nullable=True),
        sa.Column("surveyed_day", sa.Date(), nullable=True),
        sa.Column("refreshed_at", _TS, server_default=_NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_kpi_work_orders_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            ondelete="CASCADE",
            name=op.f("fk_kpi_work_orders_ticket_id_tickets"),
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_kpi_work_orders")),
    )


def _work_order_indexes() -> None:
    table = "kpi_work_orders"
    op.create_index("ix_kpi_wo_org_created", table, ["org_id", "created_day"])
    op.create_index(
        "ix_kpi_wo_org_resolved",
        table,
        ["org_id", "resolved_day"],
        postgresql_where=sa.text("resolved_day IS NOT NULL"),
    )
    op.create_index(
        "ix_kpi_wo_org_surveyed",
        table,
        ["org_id", "surveyed_day"],
        postgresql_where=sa.text("surveyed_day IS NOT NULL"),
    )
    op.create_index(
        "ix_kpi_wo_org_engineer_resolved", table, ["org_id", "engineer_id", "resolved_day"]
    )
    op.create_index("ix_kpi_wo_org_asset_created", table, ["org_id", "asset_id", "created_at"])
    op.create_index(
        "ix_kpi_wo_org_open",
        table,
        ["org_id", "created_at"],
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def _engineer_days() -> None:
    op.create_table(
        "kpi_engineer_days",
        sa.Column("engineer_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("territory", sa.String(length=100), nullable=True),
        sa.Column("scheduled_s", sa.Integer(), nullable=False),
        sa.Column("work_s", sa.Integer(), nullable=False),
        sa.Column("travel_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            ondelete="CASCADE",
            name=op.f("fk_kpi_engineer_days_engineer_id_engineers"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_kpi_engineer_days_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("engineer_id", "day", name=op.f("pk_kpi_engineer_days")),
    )
    op.create_index("ix_kpi_engineer_days_org_day", "kpi_engineer_days", ["org_id", "day"])


def downgrade() -> None:
    op.drop_table("kpi_refresh_marks")
    op.drop_table("kpi_engineer_days")
    op.drop_table("kpi_work_orders")
    op.drop_index("ix_labour_entries_org_received", table_name="labour_entries")
    op.drop_index("ix_tickets_org_repeat_of", table_name="tickets")
    op.drop_index("ix_tickets_org_updated", table_name="tickets")
    op.drop_column("engineers", "hourly_cost")
    op.drop_column("engineers", "team")
