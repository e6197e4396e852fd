"""Dispatch (issue 12): availability, service sites, declines, auto-assign, day plans.

- ``engineers``: capacity per day (jobs, minutes), rating (default 4.0), the service site
  the day starts and ends at (else home); ``engineer_time_off``: leave, sick, training and
  extra shifts against the weekly working hours.
- ``service_sites``: depots, service centres, partner workshops, with a stock location;
  ``tickets.service_site_id`` is the nearest one.
- ``customer_preferred_engineers``; ``dispatch_declines`` (who declined which work order);
  ``dispatch_auto_assign`` (per organisation and priority).
- ``tickets``: open for claim, pinned, the applied plan's slot (planned start = ETA, end,
  position, travel before it).
- ``day_plans``: a solved plan per territory and date (docs/dispatch.md).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "day_plans",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("territory", sa.String(length=100), nullable=True),
        sa.Column("plan_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("base_plan_id", sa.UUID(), nullable=True),
        sa.Column("requested_by", sa.String(length=300), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_by", sa.String(length=300), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_plan_id"], ["day_plans.id"], name=op.f("fk_day_plans_base_plan_id_day_plans")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_day_plans_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_plans")),
    )
    op.create_index(
        "ix_day_plans_org_date", "day_plans", ["org_id", "plan_date", "created_at"], unique=False
    )
    op.create_table(
        "dispatch_auto_assign",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "fallback_to_pool", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_dispatch_auto_assign_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("org_id", "priority", name=op.f("pk_dispatch_auto_assign")),
    )
    op.create_table(
        "service_sites",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("territory", sa.String(length=100), nullable=True),
        sa.Column("stock_location_id", sa.UUID(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_service_sites_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_sites")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_service_sites_org_id_name")),
        sa.UniqueConstraint("stock_location_id", name=op.f("uq_service_sites_stock_location_id")),
    )
    op.create_foreign_key(
        op.f("fk_service_sites_stock_location_id_stock_locations"),
        "service_sites",
        "stock_locations",
        ["stock_location_id"],
        ["id"],
    )
    op.create_index(op.f("ix_service_sites_org_id"), "service_sites", ["org_id"], unique=False)
    op.create_table(
        "customer_preferred_engineers",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("engineer_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_preferred_engineers_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            name=op.f("fk_customer_preferred_engineers_engineer_id_engineers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_customer_preferred_engineers_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint(
            "customer_id", "engineer_id", name=op.f("pk_customer_preferred_engineers")
        ),
    )
    op.create_index(
        op.f("ix_customer_preferred_engineers_org_id"),
        "customer_preferred_engineers",
        ["org_id"],
        unique=False,
    )
    op.create_table(
        "engineer_time_off",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("engineer_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            name=op.f("fk_engineer_time_off_engineer_id_engineers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_engineer_time_off_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engineer_time_off")),
    )
    op.create_index(
        "ix_engineer_time_off_engineer_starts",
        "engineer_time_off",
        ["engineer_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_engineer_time_off_org_id"), "engineer_time_off", ["org_id"], unique=False
    )
    op.create_table(
        "dispatch_declines",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("engineer_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            name=op.f("fk_dispatch_declines_engineer_id_engineers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_dispatch_declines_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_dispatch_declines_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "engineer_id", name=op.f("pk_dispatch_declines")),
    )
    op.create_index(
        op.f("ix_dispatch_declines_org_id"), "dispatch_declines", ["org_id"], unique=False
    )
    op.add_column("engineers", sa.Column("max_jobs_per_day", sa.Integer(), nullable=True))
    op.add_column("engineers", sa.Column("max_minutes_per_day", sa.Integer(), nullable=True))
    op.add_column(
        "engineers", sa.Column("rating", sa.Float(), server_default=sa.text("4.0"), nullable=False)
    )
    op.add_column("engineers", sa.Column("start_site_id", sa.UUID(), nullable=True))
    op.add_column("engineers", sa.Column("end_site_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_engineers_end_site_id_service_sites"),
        "engineers",
        "service_sites",
        ["end_site_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_engineers_start_site_id_service_sites"),
        "engineers",
        "service_sites",
        ["start_site_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("tickets", sa.Column("service_site_id", sa.UUID(), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("open_for_claim", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "tickets",
        sa.Column("pinned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("tickets", sa.Column("planned_start", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("planned_end", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("plan_position", sa.Integer(), nullable=True))
    op.add_column("tickets", sa.Column("planned_travel_seconds", sa.Integer(), nullable=True))
    op.create_index(
        "ix_tickets_org_assignee_planned",
        "tickets",
        ["org_id", "assignee_id", "planned_start"],
        unique=False,
    )
    op.create_index(
        "ix_tickets_org_claimable",
        "tickets",
        ["org_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("open_for_claim AND status = 'new'"),
    )
    op.create_foreign_key(
        op.f("fk_tickets_service_site_id_service_sites"),
        "tickets",
        "service_sites",
        ["service_site_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_tickets_service_site_id_service_sites"), "tickets", type_="foreignkey"
    )
    op.drop_index(
        "ix_tickets_org_claimable",
        table_name="tickets",
        postgresql_where=sa.text("open_for_claim AND status = 'new'"),
    )
    op.drop_index("ix_tickets_org_assignee_planned", table_name="tickets")
    op.drop_column("tickets", "planned_travel_seconds")
    op.drop_column("tickets", "plan_position")
    op.drop_column("tickets", "planned_end")
    op.drop_column("tickets", "planned_start")
    op.drop_column("tickets", "pinned")
    op.drop_column("tickets", "open_for_claim")
    op.drop_column("tickets", "service_site_id")
    op.drop_constraint(
        op.f("fk_engineers_start_site_id_service_sites"), "engineers", type_="foreignkey"
    )
    op.drop_constraint(
        op.f("fk_engineers_end_site_id_service_sites"), "engineers", type_="foreignkey"
    )
    op.drop_column("engineers", "end_site_id")
    op.drop_column("engineers", "start_site_id")
    op.drop_column("engineers", "rating")
    op.drop_column("engineers", "max_minutes_per_day")
    op.drop_column("engineers", "max_jobs_per_day")
    op.drop_index(op.f("ix_dispatch_declines_org_id"), table_name="dispatch_declines")
    op.drop_table("dispatch_declines")
    op.drop_index(op.f("ix_engineer_time_off_org_id"), table_name="engineer_time_off")
    op.drop_index("ix_engineer_time_off_engineer_starts", table_name="engineer_time_off")
    op.drop_table("engineer_time_off")
    op.drop_index(
        op.f("ix_customer_preferred_engineers_org_id"), table_name="customer_preferred_engineers"
    )
    op.drop_table("customer_preferred_engineers")
    op.drop_index(op.f("ix_service_sites_org_id"), table_name="service_sites")
    op.drop_table("service_sites")
    op.drop_table("dispatch_auto_assign")
    op.drop_index("ix_day_plans_org_date", table_name="day_plans")
    op.drop_table("day_plans")
