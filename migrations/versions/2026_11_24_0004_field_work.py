"""field work: visits, labour, checklists, notes, parts used, resolution

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Field facts are append-only (corrections are new rows): the database refuses UPDATE and
# DELETE on them, like the audit trail and the stock ledger (forbid_change: 0001).
APPEND_ONLY = (
    "visits",
    "visit_checks",
    "labour_entries",
    "labour_voids",
    "labour_approvals",
    "checklist_answers",
    "ticket_notes",
    "field_part_lines",
)


def upgrade() -> None:
    op.create_table(
        "checklist_templates",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ticket_type", sa.String(length=20), nullable=True),
        sa.Column("product_model", sa.String(length=120), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
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
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_checklist_templates_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_templates")),
    )
    op.create_index(
        "ix_checklist_templates_org_active",
        "checklist_templates",
        ["org_id", "active"],
        unique=False,
    )
    op.create_table(
        "checklist_items",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("template_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("options", sa.ARRAY(sa.String(length=200)), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('yes_no', 'number', 'text', 'photo', 'choice')",
            name=op.f("ck_checklist_items_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_checklist_items_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["checklist_templates.id"],
            name=op.f("fk_checklist_items_template_id_checklist_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_items")),
    )
    op.create_index(
        "ix_checklist_items_template", "checklist_items", ["template_id", "position"], unique=False
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("engineer_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["engineers.id"], name=op.f("fk_visits_engineer_id_engineers")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_visits_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_visits_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("ticket_id", "number", name=op.f("uq_visits_ticket_id_number")),
    )
    op.create_index("ix_visits_org_engineer", "visits", ["org_id", "engineer_id"], unique=False)
    op.create_table(
        "visit_checks",
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_offset_s", sa.Float(), nullable=False),
        sa.Column("clock_skew", sa.Boolean(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("far_from_site", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.CheckConstraint("kind IN ('in', 'out')", name=op.f("ck_visit_checks_kind")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_visit_checks_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_checks_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("visit_id", "kind", name=op.f("pk_visit_checks")),
    )
    op.create_index(
        "ix_visit_checks_org_received", "visit_checks", ["org_id", "received_at"], unique=False
    )
    op.create_table(
        "labour_entries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("engineer_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("replaces_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('travel', 'work', 'break')", name=op.f("ck_labour_entries_kind")
        ),
        sa.CheckConstraint(
            "ended_at > started_at", name=op.f("ck_labour_entries_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["engineers.id"], name=op.f("fk_labour_entries_engineer_id_engineers")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_labour_entries_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["labour_entries.id"],
            name=op.f("fk_labour_entries_replaces_id_labour_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_labour_entries_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_labour_entries_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labour_entries")),
        sa.UniqueConstraint("replaces_id", name=op.f("uq_labour_entries_replaces_id")),
    )
    op.create_index(
        "ix_labour_entries_org_engineer_started",
        "labour_entries",
        ["org_id", "engineer_id", "started_at"],
        unique=False,
    )
    op.create_index("ix_labour_entries_ticket", "labour_entries", ["ticket_id"], unique=False)
    op.create_table(
        "labour_voids",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("entry_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["labour_entries.id"],
            name=op.f("fk_labour_voids_entry_id_labour_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_labour_voids_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_labour_voids_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labour_voids")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_labour_voids_entry_id")),
    )
    op.create_index(op.f("ix_labour_voids_ticket_id"), "labour_voids", ["ticket_id"], unique=False)
    op.create_table(
        "labour_approvals",
        sa.Column("entry_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("approved_by", sa.String(length=300), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["labour_entries.id"],
            name=op.f("fk_labour_approvals_entry_id_labour_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_labour_approvals_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_labour_approvals_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_labour_approvals")),
    )
    op.create_index(
        op.f("ix_labour_approvals_ticket_id"), "labour_approvals", ["ticket_id"], unique=False
    )
    op.create_table(
        "checklist_answers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("answered_by", sa.String(length=300), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["checklist_items.id"],
            name=op.f("fk_checklist_answers_item_id_checklist_items"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_checklist_answers_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_checklist_answers_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_checklist_answers_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_answers")),
    )
    op.create_index(
        "ix_checklist_answers_ticket_item_seq",
        "checklist_answers",
        ["ticket_id", "item_id", "seq"],
        unique=False,
    )
    op.create_index("ix_checklist_answers_visit", "checklist_answers", ["visit_id"], unique=False)
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=300), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_ticket_notes_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_notes_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_ticket_notes_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notes")),
    )
    op.create_index(
        "ix_ticket_notes_ticket_received",
        "ticket_notes",
        ["ticket_id", "received_at"],
        unique=False,
    )
    op.create_table(
        "field_part_lines",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("part_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("movement_id", sa.UUID(), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('use', 'return')", name=op.f("ck_field_part_lines_action")),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["stock_movements.id"],
            name=op.f("fk_field_part_lines_movement_id_stock_movements"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_field_part_lines_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_field_part_lines_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_field_part_lines_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_field_part_lines_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_part_lines")),
    )
    op.create_index("ix_field_part_lines_ticket", "field_part_lines", ["ticket_id"], unique=False)
    op.add_column("tickets", sa.Column("resolution_code", sa.String(length=40), nullable=True))
    op.add_column("tickets", sa.Column("root_cause", sa.Text(), nullable=True))
    op.add_column("tickets", sa.Column("resolution_summary", sa.Text(), nullable=True))

    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
        )


def downgrade() -> None:
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.drop_column("tickets", "resolution_summary")
    op.drop_column("tickets", "root_cause")
    op.drop_column("tickets", "resolution_code")
    op.drop_table("field_part_lines")
    op.drop_table("ticket_notes")
    op.drop_table("checklist_answers")
    op.drop_table("labour_approvals")
    op.drop_table("labour_voids")
    op.drop_table("labour_entries")
    op.drop_table("visit_checks")
    op.drop_table("visits")
    op.drop_table("checklist_items")
    op.drop_table("checklist_templates")
