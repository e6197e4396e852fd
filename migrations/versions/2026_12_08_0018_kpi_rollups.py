"""KPI roll-ups (server/reports/rollup.py): ``kpi_rollups``, the sums of the work order
facts per organisation, anchor, local date, engineer, team and territory, which the views
read instead of a million facts when their filters and groups allow; the facts'
``ended_day`` (the local date a work order left the backlog), filled in here from the
organisation's refresh zone; and the marks' ``rollup_layout`` (which sums the roll-ups
hold: the refresh builds them again when the catalogue's sums change).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("kpi_work_orders", sa.Column("ended_day", sa.Date(), nullable=True))
    # In the organisation's time zone, like the other local dates (facts of another zone
    # are built again by the refresh anyway), whether or not its first build has finished.
    op.execute(
        "UPDATE kpi_work_orders f SET ended_day = CAST(f.ended_at AT TIME ZONE o.timezone AS date) "
        "FROM organisations o WHERE o.id = f.org_id AND f.ended_at IS NOT NULL"
    )
    op.create_index(
        "ix_kpi_wo_org_ended",
        "kpi_work_orders",
        ["org_id", "ended_day"],
        postgresql_where=sa.text("ended_day IS NOT NULL"),
    )
    op.add_column("kpi_refresh_marks", sa.Column("rollup_layout", sa.String(40), nullable=True))
    _median_indexes()
    op.create_table(
        "kpi_rollups",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("anchor", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("engineer_id", sa.Uuid(), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("territory", sa.String(length=100), nullable=True),
        sa.Column("measures", postgresql.ARRAY(sa.Numeric()), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_kpi_rollups_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_rollups")),
    )
    op.create_index("ix_kpi_rollups_org_anchor_day", "kpi_rollups", ["org_id", "anchor", "day"])


CREATED_MEDIANS = ["engineer_id", "first_response_business_s", "schedule_s", "arrive_s"]
RESOLVED_MEDIANS = ["engineer_id", "resolve_s", "waiting_s"]


def _median_indexes() -> None:
    """The anchors' indexes carry the columns the medians sort, so a median pass reads the
    index alone (grouped by engineer: in its order, without sorting a million rows)."""
    op.drop_index("ix_kpi_wo_org_created", table_name="kpi_work_orders")
    op.create_index(
        "ix_kpi_wo_org_created",
        "kpi_work_orders",
        ["org_id", "created_day"],
        postgresql_include=CREATED_MEDIANS,
    )
    op.drop_index("ix_kpi_wo_org_resolved", table_name="kpi_work_orders")
    op.create_index(
        "ix_kpi_wo_org_resolved",
        "kpi_work_orders",
        ["org_id", "resolved_day"],
        postgresql_where=sa.text("resolved_day IS NOT NULL"),
        postgresql_include=RESOLVED_MEDIANS,
    )
    op.drop_index("ix_kpi_wo_org_engineer_resolved", table_name="kpi_work_orders")
    op.create_index(
        "ix_kpi_wo_org_engineer_resolved",
        "kpi_work_orders",
        ["org_id", "engineer_id", "resolved_day"],
        postgresql_include=RESOLVED_MEDIANS[1:],
    )
    op.create_index(
        "ix_kpi_wo_org_engineer_created",
        "kpi_work_orders",
        ["org_id", "engineer_id", "created_day"],
        postgresql_include=CREATED_MEDIANS[1:],
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_rollups_org_anchor_day", table_name="kpi_rollups")
    op.drop_table("kpi_rollups")
    op.drop_column("kpi_refresh_marks", "rollup_layout")
    op.drop_index("ix_kpi_wo_org_engineer_created", table_name="kpi_work_orders")
    for name, columns, where in (
        ("ix_kpi_wo_org_created", ["org_id", "created_day"], None),
        ("ix_kpi_wo_org_resolved", ["org_id", "resolved_day"], "resolved_day IS NOT NULL"),
        ("ix_kpi_wo_org_engineer_resolved", ["org_id", "engineer_id", "resolved_day"], None),
    ):
        op.drop_index(name, table_name="kpi_work_orders")
        where_clause = sa.text(where) if where else None
        op.create_index(name, "kpi_work_orders", columns, postgresql_where=where_clause)
    op.drop_index("ix_kpi_wo_org_ended", table_name="kpi_work_orders")
    op.drop_column("kpi_work_orders", "ended_day")
